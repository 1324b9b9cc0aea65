'use strict';
// SOSL through jsforce: `conn.search(sosl)` GETs `{base}/search?q=<encoded SOSL>`
// and returns the body as is: `{searchRecords: [...]}` from API 36.0 on, a bare
// array of records up to 35.0. jsforce has no helper for /parameterizedSearch,
// so that one goes through `conn.request` / `conn.requestPost` as users write it.
// Errors (HTTP 400, a REST error array) become jsforce errors whose `errorCode`
// (and `name`) is the array's first errorCode.
//
// The records searched for are made first (through jsforce) with words no other
// record of this file's server carries; SOSL splits text on spaces, punctuation
// and letter/digit boundaries, so the words are letters only.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');

let srv;
let conn;
const ids = {}; // label -> id

before(async () => {
  srv = await startServer('search');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);

  const accounts = await conn.sobject('Account').create([
    { Name: 'Quasar Dynamics', Phone: '(415) 555-0101', Website: 'www.quasardyn.example.com' },
    { Name: 'Quasar Foods', Industry: 'Food & Beverage' },
    { Name: 'Nebula Partners', Description: 'works with quasar people' },
    { Name: 'Pulsar Gone' },
  ]);
  assert.ok(accounts.every((r) => r.success), JSON.stringify(accounts));
  [ids.dynamics, ids.foods, ids.nebula, ids.gone] = accounts.map((r) => r.id);

  const contacts = await conn.sobject('Contact').create([
    { FirstName: 'Ada', LastName: 'Quasarian', Email: 'ada.quasarian@orbitmail.example.com', AccountId: ids.dynamics },
    { FirstName: 'Grace', LastName: 'Orbitson', Email: 'grace@stellarco.example.com', Phone: '(212) 555-0199' },
    { FirstName: 'Stellarco', LastName: 'Smith', Email: 'smith@plainmail.example.net' },
  ]);
  assert.ok(contacts.every((r) => r.success), JSON.stringify(contacts));
  [ids.ada, ids.grace, ids.smith] = contacts.map((r) => r.id);

  // deleted records are not found
  const del = await conn.sobject('Account').destroy(ids.gone);
  assert.equal(del.success, true);
});
after(async () => {
  await srv?.stop();
});

/** `[type, Id]` of each hit, in the order the server gave them. */
const hits = (res) => res.searchRecords.map((r) => [r.attributes.type, r.Id]);

/** Search with jsforce, expecting it to fail; returns the error. */
async function searchError(sosl) {
  const err = await conn.search(sosl).then(
    (res) => assert.fail(`search succeeded: ${JSON.stringify(res)}`),
    (e) => e,
  );
  return err;
}

describe('conn.search()', () => {
  it('FIND {Quasar} RETURNING Account(Id, Name), Contact(Name): matching Accounts with the fields asked for', async () => {
    const res = await conn.search('FIND {Quasar} RETURNING Account(Id, Name), Contact(Name)');
    assert.deepEqual(Object.keys(res), ['searchRecords'], JSON.stringify(res));
    const accounts = res.searchRecords.filter((r) => r.attributes.type === 'Account');
    assert.deepEqual(
      accounts.map((r) => r.Id).sort(),
      [ids.dynamics, ids.foods, ids.nebula].sort(),
      'Names and the Description are searched; "Quasarian" is another word',
    );
    for (const r of accounts) {
      assert.deepEqual(Object.keys(r), ['attributes', 'Id', 'Name'], JSON.stringify(r));
      assert.deepEqual(r.attributes, { type: 'Account', url: `/services/data/v${API_VERSION}/sobjects/Account/${r.Id}` });
    }
    assert.equal(accounts.find((r) => r.Id === ids.foods).Name, 'Quasar Foods');
    assert.deepEqual(
      res.searchRecords.filter((r) => r.attributes.type === 'Contact'),
      [],
      'no Contact carries the word "Quasar"',
    );
  });

  it('a trailing * matches words that start with the term; results come grouped in RETURNING order', async () => {
    const res = await conn.search('FIND {Quasar*} RETURNING Contact(Name, Email), Account(Name)');
    const types = res.searchRecords.map((r) => r.attributes.type);
    assert.deepEqual(types, ['Contact', 'Account', 'Account', 'Account'], JSON.stringify(res));
    const [ada] = res.searchRecords;
    assert.deepEqual(ada, {
      attributes: { type: 'Contact', url: `/services/data/v${API_VERSION}/sobjects/Contact/${ids.ada}` },
      Name: 'Ada Quasarian',
      Email: 'ada.quasarian@orbitmail.example.com',
    }, 'a field list without Id returns no Id');
  });

  it('? stands for one character; the term is case-insensitive', async () => {
    const res = await conn.search('FIND {nEBUL?} RETURNING Account(Id)');
    assert.deepEqual(hits(res), [['Account', ids.nebula]]);
    const none = await conn.search('FIND {Nebu?} RETURNING Account(Id)');
    assert.deepEqual(hits(none), [], '? is exactly one character');
  });

  it('without RETURNING, every searchable object answers with Id only', async () => {
    const res = await conn.search('FIND {Orbitson}');
    assert.deepEqual(res.searchRecords, [
      { attributes: { type: 'Contact', url: `/services/data/v${API_VERSION}/sobjects/Contact/${ids.grace}` }, Id: ids.grace },
    ]);
  });

  it('IN EMAIL FIELDS finds an address and ignores the same word in a name', async () => {
    const byAddress = await conn.search(
      'FIND {grace@stellarco.example.com} IN EMAIL FIELDS RETURNING Contact(Id, Name, Email)',
    );
    assert.deepEqual(byAddress.searchRecords.map((r) => [r.Id, r.Email]), [[ids.grace, 'grace@stellarco.example.com']]);

    const inEmail = await conn.search('FIND {Stellarco} IN EMAIL FIELDS RETURNING Contact(Id)');
    const inAll = await conn.search('FIND {Stellarco} IN ALL FIELDS RETURNING Contact(Id)');
    assert.ok(!inEmail.searchRecords.some((r) => r.Id === ids.smith), `a FirstName is no email field: ${JSON.stringify(inEmail)}`);
    assert.ok(inAll.searchRecords.some((r) => r.Id === ids.smith), JSON.stringify(inAll));
  });

  it('IN NAME FIELDS leaves out a Description; IN PHONE FIELDS finds a phone number', async () => {
    const names = await conn.search('FIND {Quasar} IN NAME FIELDS RETURNING Account(Id)');
    assert.deepEqual(hits(names).map((h) => h[1]).sort(), [ids.dynamics, ids.foods].sort());
    const phones = await conn.search('FIND {555-0199} IN PHONE FIELDS RETURNING Account(Id), Contact(Id, Phone)');
    assert.deepEqual(phones.searchRecords.map((r) => [r.attributes.type, r.Id, r.Phone]), [['Contact', ids.grace, '(212) 555-0199']]);
  });

  it('OR, AND NOT and a quoted phrase', async () => {
    const or = await conn.search('FIND {Nebula OR Orbitson} RETURNING Account(Id), Contact(Id)');
    assert.deepEqual(hits(or), [['Account', ids.nebula], ['Contact', ids.grace]]);
    const andNot = await conn.search('FIND {Quasar AND NOT Foods} RETURNING Account(Id)');
    assert.deepEqual(hits(andNot).map((h) => h[1]).sort(), [ids.dynamics, ids.nebula].sort());
    const phrase = await conn.search('FIND {"Quasar Foods"} RETURNING Account(Name)');
    assert.deepEqual(phrase.searchRecords.map((r) => r.Name), ['Quasar Foods']);
  });

  it('WHERE, ORDER BY and LIMIT inside RETURNING, and an overall LIMIT', async () => {
    const res = await conn.search('FIND {Quasar} RETURNING Account(Name WHERE Name LIKE \'Quasar%\' ORDER BY Name DESC)');
    assert.deepEqual(res.searchRecords.map((r) => r.Name), ['Quasar Foods', 'Quasar Dynamics']);
    const one = await conn.search('FIND {Quasar} RETURNING Account(Name ORDER BY Name LIMIT 1)');
    assert.deepEqual(one.searchRecords.map((r) => r.Name), ['Nebula Partners']);
    const overall = await conn.search('FIND {Quasar*} RETURNING Account(Name ORDER BY Name), Contact(Name) LIMIT 2');
    assert.equal(overall.searchRecords.length, 2, JSON.stringify(overall));
  });

  it("WITH METADATA='LABELS' adds the field labels", async () => {
    const res = await conn.search("FIND {Nebula} RETURNING Account(Name, Phone) WITH METADATA='LABELS'");
    assert.deepEqual(res.searchRecords.map((r) => [r.attributes.type, r.Name, r.Phone]), [['Account', 'Nebula Partners', null]]);
    assert.deepEqual(res.metadata, {
      entityMetadata: [{
        entityName: 'Account',
        fieldMetadata: [{ name: 'Name', label: 'Account Name' }, { name: 'Phone', label: 'Account Phone' }],
      }],
    });
  });

  it('no hit: an empty searchRecords; a deleted record is not found', async () => {
    assert.deepEqual(await conn.search('FIND {Zyxwvut} RETURNING Account(Id)'), { searchRecords: [] });
    assert.deepEqual(await conn.search('FIND {Pulsar} RETURNING Account(Id)'), { searchRecords: [] });
  });

  it('up to API 35.0 the answer is a bare array of records', async () => {
    const old = new jsforce.Connection({ instanceUrl: conn.instanceUrl, accessToken: conn.accessToken, version: '35.0' });
    const res = await old.search('FIND {Orbitson} RETURNING Contact(Id, LastName)');
    assert.ok(Array.isArray(res), JSON.stringify(res));
    assert.deepEqual(res, [{
      attributes: { type: 'Contact', url: `/services/data/v35.0/sobjects/Contact/${ids.grace}` },
      Id: ids.grace,
      LastName: 'Orbitson',
    }]);
  });

  it('a Connection whose instance URL ends in "/" searches through //services/data/...', async () => {
    const slashed = new jsforce.Connection({ instanceUrl: `${srv.baseUrl}/`, accessToken: conn.accessToken, version: API_VERSION });
    const res = await slashed.search('FIND {Orbitson} RETURNING Contact(Id)');
    assert.deepEqual(hits(res), [['Contact', ids.grace]]);
  });
});

describe('conn.search() errors', () => {
  it('no braces → MALFORMED_SEARCH', async () => {
    const err = await searchError('FIND Quasar RETURNING Account(Id)');
    assert.equal(err.errorCode, 'MALFORMED_SEARCH', String(err));
    assert.equal(err.name, 'MALFORMED_SEARCH');
    assert.match(err.message, /braces/);
  });

  it('a one-character term → INVALID_SEARCH; a leading wildcard → INVALID_SEARCH', async () => {
    const short = await searchError('FIND {q} RETURNING Account(Id)');
    assert.equal(short.errorCode, 'INVALID_SEARCH', String(short));
    const wild = await searchError('FIND {*asar} RETURNING Account(Id)');
    assert.equal(wild.errorCode, 'INVALID_SEARCH', String(wild));
  });

  it('an unknown object → INVALID_TYPE, an unknown field → INVALID_FIELD, a broken WHERE → MALFORMED_QUERY', async () => {
    assert.equal((await searchError('FIND {Quasar} RETURNING Nope__c(Id)')).errorCode, 'INVALID_TYPE');
    assert.equal((await searchError('FIND {Quasar} RETURNING Account(Bogus__c)')).errorCode, 'INVALID_FIELD');
    assert.equal((await searchError('FIND {Quasar} RETURNING Account(Id WHERE Name = )')).errorCode, 'MALFORMED_QUERY');
  });
});

describe('/parameterizedSearch (no jsforce helper: conn.request / conn.requestPost)', () => {
  it('GET with q, sobject, Account.fields, Account.where, Account.limit', async () => {
    const qs = new URLSearchParams({
      q: 'Quasar',
      sobject: 'Account',
      'Account.fields': 'Id,Name,Phone',
      'Account.where': "Phone != null",
      'Account.limit': '5',
    });
    const res = await conn.request(`/parameterizedSearch?${qs}`);
    assert.deepEqual(res.searchRecords.map((r) => [r.attributes.type, r.Id, r.Name, r.Phone]), [
      ['Account', ids.dynamics, 'Quasar Dynamics', '(415) 555-0101'],
    ]);
  });

  it('POST the JSON form: sobjects with fields and limit, overallLimit', async () => {
    const res = await conn.requestPost('/parameterizedSearch', {
      q: 'Quasar*',
      fields: ['Id'],
      sobjects: [{ name: 'Contact', fields: ['Id', 'Email'] }, { name: 'Account', fields: ['Name'], limit: 1, orderBy: 'Name' }],
      overallLimit: 10,
    });
    assert.deepEqual(
      res.searchRecords.map((r) => [r.attributes.type, r.Id ?? r.Name]),
      [['Contact', ids.ada], ['Account', 'Nebula Partners']],
      JSON.stringify(res),
    );
  });

  it('without q → a jsforce error', async () => {
    const err = await conn.request('/parameterizedSearch?sobject=Account').then(
      (res) => assert.fail(`succeeded: ${JSON.stringify(res)}`),
      (e) => e,
    );
    assert.equal(err.errorCode, 'MISSING_ARGUMENT', String(err));
  });
});

'use strict';
// The composite family through jsforce. jsforce 3 has no helper for /composite,
// /composite/batch, /composite/tree or /composite/graph (it only uses
// /composite/sobjects for multi-record CRUD), so these go through
// `conn.requestPost(url, body)` / `conn.request({method, url, body, headers})`,
// as jsforce users write them: a path under `/services/data/vXX.X/`, or one
// relative to it (`/composite/...`), which jsforce prefixes with its version's
// base. jsforce throws on any status >= 400; /composite and /composite/batch
// answer 200 with each subrequest's own status inside.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, uniq, API_VERSION } = require('./server');

const BASE = `/services/data/v${API_VERSION}`;
const EXT = 'External_Id__c';

let srv;
let conn;

before(async () => {
  srv = await startServer('composite');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

/** A SOQL query as a composite subrequest url: spaces as '+', `@{...}` references left as they are. */
const queryUrl = (soql) => `${BASE}/query?q=${soql.replace(/ /g, '+')}`;

const errorCodes = (body) => body.map((e) => e.errorCode);

describe('GET /composite', () => {
  it('lists tree, batch, sobjects and graph', async () => {
    const res = await conn.request('/composite');
    assert.deepEqual(res, {
      tree: `${BASE}/composite/tree`,
      batch: `${BASE}/composite/batch`,
      sobjects: `${BASE}/composite/sobjects`,
      graph: `${BASE}/composite/graph`,
    });
  });
});

describe('POST /composite', () => {
  it('references: an Account, a Contact on @{refAccount.id}, a query on the id, a read on @{refQuery.records[0].Id}', async () => {
    const name = uniq('composite');
    const res = await conn.requestPost(`${BASE}/composite`, {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${BASE}/sobjects/Account`, referenceId: 'refAccount', body: { Name: name } },
        {
          method: 'POST',
          url: `${BASE}/sobjects/Contact`,
          referenceId: 'refContact',
          body: { LastName: 'Lovelace', FirstName: 'Ada', AccountId: '@{refAccount.id}' },
        },
        {
          method: 'GET',
          url: queryUrl("SELECT Id, LastName, AccountId FROM Contact WHERE AccountId = '@{refAccount.id}'"),
          referenceId: 'refQuery',
        },
        {
          method: 'GET',
          url: `${BASE}/sobjects/Contact/@{refQuery.records[0].Id}?fields=FirstName,AccountId`,
          referenceId: 'refRead',
        },
        {
          method: 'PATCH',
          url: `${BASE}/sobjects/Account/@{refAccount.id}`,
          referenceId: 'refUpdate',
          body: { Description: 'first contact: @{refQuery.records[0].LastName}' },
        },
      ],
    });
    const r = res.compositeResponse;
    assert.ok(Array.isArray(r), JSON.stringify(res));
    assert.deepEqual(
      r.map((e) => [e.referenceId, e.httpStatusCode]),
      [
        ['refAccount', 201],
        ['refContact', 201],
        ['refQuery', 200],
        ['refRead', 200],
        ['refUpdate', 204],
      ],
      JSON.stringify(r),
    );
    const accountId = r[0].body.id;
    const contactId = r[1].body.id;
    assert.match(accountId, /^001\w{15}$/);
    assert.match(contactId, /^003\w{15}$/);
    assert.equal(r[0].body.success, true);
    assert.deepEqual(r[0].httpHeaders, { Location: `${BASE}/sobjects/Account/${accountId}` });
    assert.deepEqual(r[1].httpHeaders, { Location: `${BASE}/sobjects/Contact/${contactId}` });

    assert.equal(r[2].body.totalSize, 1, 'the query sees the Contact made in the same call');
    assert.equal(r[2].body.records[0].Id, contactId);
    assert.equal(r[2].body.records[0].AccountId, accountId);
    assert.equal(r[3].body.FirstName, 'Ada');
    assert.equal(r[3].body.AccountId, accountId);
    assert.equal(r[4].body, null);
    assert.deepEqual(r[4].httpHeaders, {});

    // and it was all committed
    const contact = await conn.sobject('Contact').retrieve(contactId);
    assert.equal(contact.AccountId, accountId);
    const acc = await conn.query(`SELECT Name, Description FROM Account WHERE Id = '${accountId}'`);
    assert.deepEqual([acc.records[0].Name, acc.records[0].Description], [name, 'first contact: Lovelace']);
  });

  it('a path relative to the version base: an external-id upsert, a collection on @{up.id}, @{coll[0].id}, queryAll', async () => {
    const ext = uniq('ext');
    const res = await conn.requestPost('/composite', {
      allOrNone: true,
      compositeRequest: [
        {
          method: 'PATCH',
          url: `${BASE}/sobjects/Account/${EXT}/${encodeURIComponent(ext)}`,
          referenceId: 'up',
          body: { Name: 'Upserted in composite' },
        },
        {
          method: 'POST',
          url: `${BASE}/composite/sobjects`,
          referenceId: 'coll',
          body: {
            allOrNone: true,
            records: [
              { attributes: { type: 'Contact' }, LastName: 'One', AccountId: '@{up.id}' },
              { attributes: { type: 'Contact' }, LastName: 'Two', AccountId: '@{up.id}' },
            ],
          },
        },
        {
          method: 'GET',
          url: `${BASE}/sobjects/Account/${EXT}/${encodeURIComponent(ext)}?fields=Id,Name`,
          referenceId: 'byExt',
        },
        {
          method: 'GET',
          url: queryUrl("SELECT Id FROM Contact WHERE Id = '@{coll[1].id}'"),
          referenceId: 'q',
        },
        { method: 'DELETE', url: `${BASE}/sobjects/Contact/@{coll[0].id}`, referenceId: 'del' },
        {
          method: 'GET',
          url: `${BASE}/queryAll?q=${"SELECT Id, LastName, IsDeleted FROM Contact WHERE AccountId = '@{up.id}' ORDER BY LastName".replace(/ /g, '+')}`,
          referenceId: 'all',
        },
      ],
    });
    const r = res.compositeResponse;
    assert.deepEqual(r.map((e) => e.httpStatusCode), [201, 200, 200, 200, 204, 200], JSON.stringify(r));
    assert.equal(r[0].body.created, true);
    assert.equal(r[1].body.length, 2);
    assert.ok(r[1].body.every((x) => x.success === true), JSON.stringify(r[1].body));
    assert.equal(r[2].body.Id, r[0].body.id);
    assert.equal(r[2].body.Name, 'Upserted in composite');
    assert.equal(r[3].body.records[0].Id, r[1].body[1].id);
    assert.deepEqual(
      r[5].body.records.map((c) => [c.Id, c.LastName, c.IsDeleted]),
      [
        [r[1].body[0].id, 'One', true],
        [r[1].body[1].id, 'Two', false],
      ],
      'queryAll sees the Contact deleted just before',
    );

    const contacts = await conn.sobject('Contact').find({ AccountId: r[0].body.id }, ['LastName']).sort('LastName');
    assert.deepEqual(contacts.map((c) => c.LastName), ['Two']);
  });

  it('the other sObject resources in subrequests: Describe Global, describe, deleted, updated', async () => {
    // "Composite is supported for ... All sObject resources (/services/data/vXX.X/sobjects/),
    // including sObject Rows by External ID and excluding sObject Blob Get" (REST API guide)
    const { id: gone } = await conn.sobject('Account').create({ Name: uniq('gone') });
    await conn.sobject('Account').destroy(gone);
    const { id: changed } = await conn.sobject('Account').create({ Name: uniq('changed') });
    const window = `start=${encodeURIComponent(new Date(Date.now() - 3600e3).toISOString())}&end=${encodeURIComponent(
      new Date(Date.now() + 3600e3).toISOString(),
    )}`;
    // the same resources answer standalone
    assert.ok((await conn.request(`${BASE}/sobjects`)).sobjects.some((o) => o.name === 'Account'));
    const res = await conn.requestPost(`${BASE}/composite`, {
      compositeRequest: [
        { method: 'GET', url: `${BASE}/sobjects`, referenceId: 'global' },
        { method: 'GET', url: `${BASE}/sobjects/Account/describe`, referenceId: 'describe' },
        { method: 'GET', url: `${BASE}/sobjects/Account/deleted?${window}`, referenceId: 'deleted' },
        { method: 'GET', url: `${BASE}/sobjects/Account/updated?${window}`, referenceId: 'updated' },
      ],
    });
    const r = res.compositeResponse;
    assert.deepEqual(
      r.map((e) => [e.referenceId, e.httpStatusCode]),
      [
        ['global', 200],
        ['describe', 200],
        ['deleted', 200],
        ['updated', 200],
      ],
      JSON.stringify(r.map((e) => [e.referenceId, e.httpStatusCode, JSON.stringify(e.body).slice(0, 120)])),
    );
    assert.ok(r[0].body.sobjects.some((o) => o.name === 'Account'));
    assert.equal(r[1].body.name, 'Account');
    assert.ok(r[2].body.deletedRecords.some((d) => d.id === gone), JSON.stringify(r[2].body));
    assert.ok(r[3].body.ids.includes(changed), JSON.stringify(r[3].body));
  });

  it('allOrNone: true with a failing subrequest writes nothing', async () => {
    const name = uniq('aon');
    const res = await conn.requestPost(`${BASE}/composite`, {
      allOrNone: true,
      compositeRequest: [
        { method: 'POST', url: `${BASE}/sobjects/Account`, referenceId: 'refAccount', body: { Name: name } },
        {
          method: 'POST',
          url: `${BASE}/sobjects/Contact`,
          referenceId: 'refContact',
          body: { FirstName: 'No last name', AccountId: '@{refAccount.id}' },
        },
        { method: 'POST', url: `${BASE}/sobjects/Account`, referenceId: 'refOther', body: { Name: `${name}-other` } },
      ],
    });
    const r = res.compositeResponse;
    assert.deepEqual(r.map((e) => e.httpStatusCode), [400, 400, 400], JSON.stringify(r));
    assert.deepEqual(r.map((e) => e.referenceId), ['refAccount', 'refContact', 'refOther']);
    assert.deepEqual(errorCodes(r[1].body), ['REQUIRED_FIELD_MISSING']);
    assert.deepEqual(r[1].body[0].fields, ['LastName']);
    for (const i of [0, 2]) {
      assert.deepEqual(r[i].body, [
        {
          errorCode: 'PROCESSING_HALTED',
          message: 'The transaction was rolled back since another operation in the same transaction failed.',
        },
      ]);
    }

    const accounts = await conn.query(`SELECT Id FROM Account WHERE Name LIKE '${name}%'`);
    assert.equal(accounts.totalSize, 0, 'no Account was written');
    const contacts = await conn.query("SELECT Id FROM Contact WHERE FirstName = 'No last name'");
    assert.equal(contacts.totalSize, 0);
  });

  it('allOrNone: false commits the independent subrequests and halts the dependants of a failure', async () => {
    const name = uniq('partial');
    const res = await conn.requestPost(`${BASE}/composite`, {
      allOrNone: false,
      compositeRequest: [
        { method: 'POST', url: `${BASE}/sobjects/Account`, referenceId: 'bad', body: { Phone: '555' } },
        {
          method: 'POST',
          url: `${BASE}/sobjects/Contact`,
          referenceId: 'child',
          body: { LastName: 'Orphan', AccountId: '@{bad.id}' },
        },
        { method: 'POST', url: `${BASE}/sobjects/Account`, referenceId: 'good', body: { Name: name } },
      ],
    });
    const r = res.compositeResponse;
    assert.deepEqual(r.map((e) => e.httpStatusCode), [400, 400, 201], JSON.stringify(r));
    assert.deepEqual(errorCodes(r[0].body), ['REQUIRED_FIELD_MISSING']);
    assert.deepEqual(errorCodes(r[1].body), ['PROCESSING_HALTED']);
    assert.match(r[1].body[0].message, /Invalid reference specified/);

    const saved = await conn.query(`SELECT Id FROM Account WHERE Name = '${name}'`);
    assert.deepEqual(saved.records.map((x) => x.Id), [r[2].body.id]);
    const orphans = await conn.query("SELECT Id FROM Contact WHERE LastName = 'Orphan'");
    assert.equal(orphans.totalSize, 0);
  });

  it('a malformed request (illegal referenceId) is refused whole: jsforce throws', async () => {
    const name = uniq('malformed');
    await assert.rejects(
      conn.requestPost(`${BASE}/composite`, {
        compositeRequest: [
          { method: 'POST', url: `${BASE}/sobjects/Account`, referenceId: 'ok', body: { Name: name } },
          { method: 'GET', url: `${BASE}/sobjects/Account`, referenceId: 'refNewAccount[1]' },
        ],
      }),
      (err) => {
        assert.equal(err.errorCode, 'JSON_PARSER_ERROR', String(err));
        assert.equal(
          err.message,
          "Provided referenceId ('refNewAccount[1]') must start with a letter or a number, and it can contain only letters, numbers and underscores ('_').",
        );
        return true;
      },
    );
    const none = await conn.query(`SELECT Id FROM Account WHERE Name = '${name}'`);
    assert.equal(none.totalSize, 0);
  });
});

describe('POST /composite/batch', () => {
  const v = `v${API_VERSION}`;
  const batch = (accountId, haltOnError) => ({
    haltOnError,
    batchRequests: [
      { method: 'PATCH', url: `${v}/sobjects/Account/${accountId}`, richInput: { Phone: '555-0142' } },
      { method: 'GET', url: `${v}/sobjects/Account/${accountId}?fields=Name,Phone` },
      { method: 'GET', url: `${v}/sobjects/Account/001000000000000AAA` },
      { method: 'GET', url: `${v}/query?q=${encodeURIComponent(`SELECT Id, Phone FROM Account WHERE Id = '${accountId}'`)}` },
    ],
  });

  it('runs each subrequest on its own and reports each status', async () => {
    const name = uniq('batch');
    const { id } = await conn.sobject('Account').create({ Name: name });
    const res = await conn.requestPost('/composite/batch', batch(id, false));
    assert.equal(res.hasErrors, true);
    assert.deepEqual(res.results.map((x) => x.statusCode), [204, 200, 404, 200], JSON.stringify(res));
    assert.equal(res.results[0].result, null);
    assert.equal(res.results[1].result.Name, name);
    assert.equal(res.results[1].result.Phone, '555-0142', 'the PATCH before it was committed');
    assert.deepEqual(errorCodes(res.results[2].result), ['NOT_FOUND']);
    assert.equal(res.results[3].result.totalSize, 1);
    assert.equal(res.results[3].result.records[0].Phone, '555-0142');
    assert.equal((await conn.sobject('Account').retrieve(id)).Phone, '555-0142');
  });

  it('haltOnError: true answers 412 BATCH_PROCESSING_HALTED after the first failure', async () => {
    const { id } = await conn.sobject('Account').create({ Name: uniq('halt') });
    const res = await conn.requestPost(`${BASE}/composite/batch`, batch(id, true));
    assert.equal(res.hasErrors, true);
    assert.deepEqual(res.results.map((x) => x.statusCode), [204, 200, 404, 412], JSON.stringify(res));
    assert.deepEqual(errorCodes(res.results[3].result), ['BATCH_PROCESSING_HALTED']);
    assert.equal((await conn.sobject('Account').retrieve(id)).Phone, '555-0142', 'earlier commits stay');
  });

  it('all good: hasErrors false', async () => {
    const res = await conn.requestPost('/composite/batch', {
      batchRequests: [
        { method: 'GET', url: `${v}/limits` },
        { method: 'POST', url: `${v}/sobjects/Account`, richInput: { Name: uniq('batch-create') } },
      ],
    });
    assert.equal(res.hasErrors, false, JSON.stringify(res));
    assert.deepEqual(res.results.map((x) => x.statusCode), [200, 201]);
    assert.equal(typeof res.results[0].result.DailyApiRequests.Max, 'number');
    assert.match(res.results[1].result.id, /^001\w{15}$/);
  });
});

describe('POST /composite/tree/Account', () => {
  it('inserts Accounts with nested Contacts: 201 with an id per referenceId', async () => {
    const prefix = uniq('tree');
    const res = await conn.request({
      method: 'POST',
      url: `${BASE}/composite/tree/Account`,
      body: JSON.stringify({
        records: [
          {
            attributes: { type: 'Account', referenceId: 'ref1' },
            Name: `${prefix}-1`,
            Industry: 'Banking',
            Contacts: {
              records: [
                { attributes: { type: 'Contact', referenceId: 'ref2' }, LastName: 'Smith', Email: 'smith@example.com' },
                { attributes: { type: 'Contact', referenceId: 'ref3' }, LastName: 'Jones' },
              ],
            },
          },
          { attributes: { type: 'Account', referenceId: 'ref4' }, Name: `${prefix}-2` },
        ],
      }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(res.hasErrors, false, JSON.stringify(res));
    assert.deepEqual(res.results.map((x) => x.referenceId), ['ref1', 'ref4', 'ref2', 'ref3'], 'roots first, then children');
    const id = Object.fromEntries(res.results.map((x) => [x.referenceId, x.id]));
    assert.match(id.ref1, /^001\w{15}$/);
    assert.match(id.ref2, /^003\w{15}$/);

    const q = await conn.query(
      `SELECT Id, Name, Industry, (SELECT Id, LastName, Email FROM Contacts ORDER BY LastName) FROM Account WHERE Name LIKE '${prefix}-%' ORDER BY Name`,
    );
    assert.equal(q.totalSize, 2);
    const [a, b] = q.records;
    assert.deepEqual([a.Id, a.Industry], [id.ref1, 'Banking']);
    assert.deepEqual(
      a.Contacts.records.map((c) => [c.Id, c.LastName, c.Email]),
      [
        [id.ref3, 'Jones', null],
        [id.ref2, 'Smith', 'smith@example.com'],
      ],
    );
    assert.equal(b.Id, id.ref4);
    assert.equal(b.Contacts, null, 'no children: the subquery is null');
  });

  it('a failing record: 400 (jsforce ERROR_HTTP_400 carrying the body) and nothing written', async () => {
    const name = uniq('tree-bad');
    let caught;
    await assert.rejects(
      conn.requestPost('/composite/tree/Account', {
        records: [
          {
            attributes: { type: 'Account', referenceId: 'acc1' },
            Name: name,
            Contacts: {
              records: [
                { attributes: { type: 'Contact', referenceId: 'ok1' }, LastName: 'Fine' },
                { attributes: { type: 'Contact', referenceId: 'bad1' }, FirstName: 'Missing' },
              ],
            },
          },
        ],
      }),
      (err) => {
        caught = err;
        return true;
      },
    );
    // the body has no `message`, so jsforce reports the status and keeps the raw body
    assert.equal(caught.errorCode, 'ERROR_HTTP_400', String(caught));
    const body = JSON.parse(caught.data.message);
    assert.equal(body.hasErrors, true);
    assert.equal(body.results.length, 1, JSON.stringify(body));
    assert.equal(body.results[0].referenceId, 'bad1');
    assert.deepEqual(body.results[0].errors.map((e) => [e.statusCode, e.fields]), [['REQUIRED_FIELD_MISSING', ['LastName']]]);
    assert.equal(typeof body.results[0].errors[0].message, 'string');

    const acc = await conn.query(`SELECT Id FROM Account WHERE Name = '${name}'`);
    assert.equal(acc.totalSize, 0, 'the tree was rolled back');
    const fine = await conn.query("SELECT Id FROM Contact WHERE LastName = 'Fine'");
    assert.equal(fine.totalSize, 0);
  });
  it('duplicate referenceIds: one failure entry for each instance, nothing written', async () => {
    // "In the case of duplicate reference IDs, results contains one item for each
    // instance of the duplicate ID." (REST API guide, sObject Tree Response Body)
    const name = uniq('tree-dup');
    let caught;
    await assert.rejects(
      conn.requestPost('/composite/tree/Account', {
        records: [
          { attributes: { type: 'Account', referenceId: 'dup' }, Name: `${name}-1` },
          { attributes: { type: 'Account', referenceId: 'ok' }, Name: `${name}-2` },
          { attributes: { type: 'Account', referenceId: 'dup' }, Name: `${name}-3` },
        ],
      }),
      (err) => {
        caught = err;
        return true;
      },
    );
    assert.equal(caught.errorCode, 'ERROR_HTTP_400', `${caught.errorCode}: ${caught.message}`);
    const body = JSON.parse(caught.data.message);
    assert.equal(body.hasErrors, true);
    assert.deepEqual(body.results.map((x) => x.referenceId), ['dup', 'dup'], JSON.stringify(body));
    for (const x of body.results) assert.ok(x.errors.length >= 1, JSON.stringify(x));
    const none = await conn.query(`SELECT Id FROM Account WHERE Name LIKE '${name}-%'`);
    assert.equal(none.totalSize, 0);
  });
});

describe('POST /composite/graph', () => {
  it('each graph commits or rolls back on its own', async () => {
    const prefix = uniq('graph');
    const res = await conn.requestPost(`${BASE}/composite/graph`, {
      graphs: [
        {
          graphId: 'g1',
          compositeRequest: [
            { method: 'POST', url: `${BASE}/sobjects/Account`, referenceId: 'acc', body: { Name: `${prefix}-kept` } },
            {
              method: 'POST',
              url: `${BASE}/sobjects/Contact`,
              referenceId: 'con',
              body: { LastName: 'Graph', AccountId: '@{acc.id}' },
            },
            {
              method: 'PATCH',
              url: `${BASE}/sobjects/Account/@{acc.id}`,
              referenceId: 'upd',
              body: { Phone: '555-0100' },
            },
            { method: 'GET', url: `${BASE}/sobjects/Contact/@{con.id}`, referenceId: 'read' },
          ],
        },
        {
          graphId: 'g2',
          compositeRequest: [
            { method: 'POST', url: `${BASE}/sobjects/Account`, referenceId: 'acc2', body: { Name: `${prefix}-rolled` } },
            {
              method: 'POST',
              url: `${BASE}/sobjects/Contact`,
              referenceId: 'con2',
              body: { FirstName: 'NoLast', AccountId: '@{acc2.id}' },
            },
          ],
        },
      ],
    });
    assert.equal(res.graphs.length, 2, JSON.stringify(res));
    const [g1, g2] = res.graphs;
    assert.deepEqual([g1.graphId, g1.isSuccessful, g2.graphId, g2.isSuccessful], ['g1', true, 'g2', false]);
    const r1 = g1.graphResponse.compositeResponse;
    assert.deepEqual(r1.map((e) => [e.referenceId, e.httpStatusCode]), [
      ['acc', 201],
      ['con', 201],
      ['upd', 204],
      ['read', 200],
    ]);
    assert.equal(r1[3].body.AccountId, r1[0].body.id);
    const r2 = g2.graphResponse.compositeResponse;
    assert.deepEqual(r2.map((e) => [e.referenceId, e.httpStatusCode]), [
      ['acc2', 400],
      ['con2', 400],
    ]);
    assert.deepEqual(errorCodes(r2[0].body), ['PROCESSING_HALTED']);
    assert.deepEqual(errorCodes(r2[1].body), ['REQUIRED_FIELD_MISSING']);

    const accounts = await conn.query(
      `SELECT Name, Phone, (SELECT LastName FROM Contacts) FROM Account WHERE Name LIKE '${prefix}-%'`,
    );
    assert.equal(accounts.totalSize, 1, 'only the first graph was kept');
    assert.equal(accounts.records[0].Name, `${prefix}-kept`);
    assert.equal(accounts.records[0].Phone, '555-0100');
    assert.deepEqual(accounts.records[0].Contacts.records.map((c) => c.LastName), ['Graph']);
  });
});

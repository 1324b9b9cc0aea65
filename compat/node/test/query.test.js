'use strict';
// SOQL through jsforce: conn.query (first page, autoFetch, locators, scanAll),
// the SOQL jsforce builds from find()/count()/include(), columns=true, errors.
//
// The server is empty at start; before() seeds 3,500 Accounts Q-00001..Q-03500
// (jsforce splits them into /composite/sobjects calls of 200) with
// NumberOfEmployees = i - 1 and Industry alternating Energy (even i) / Technology.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, rawRequest, API_VERSION } = require('./server');

const N = 3500;
const PAGE = 2000;
const SOQL = "SELECT Id, Name FROM Account WHERE Name LIKE 'Q-%'";
const qname = (i) => `Q-${String(i).padStart(5, '0')}`;

let srv;
let conn;
const Account = () => conn.sobject('Account');
const ids = new Map(); // name -> id

before(async () => {
  srv = await startServer('query');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
  const records = [];
  for (let i = 1; i <= N; i += 1) {
    records.push({ Name: qname(i), NumberOfEmployees: i - 1, Industry: i % 2 === 0 ? 'Energy' : 'Technology' });
  }
  const results = await Account().create(records, { allOrNone: true, allowRecursive: true });
  assert.equal(results.length, N);
  results.forEach((r, k) => {
    assert.equal(r.success, true, JSON.stringify(r));
    ids.set(records[k].Name, r.id);
  });
});
after(async () => {
  await srv?.stop();
});

function expectErrorCode(code) {
  return (err) => {
    assert.equal(err.errorCode, code, `expected ${code}, got ${err.errorCode}: ${err.message}`);
    return true;
  };
}

describe('conn.query', () => {
  it('returns the first page with a locator', async () => {
    const res = await conn.query(SOQL);
    assert.equal(res.totalSize, N, 'totalSize is the full count');
    assert.equal(res.done, false);
    assert.equal(res.records.length, PAGE);
    // jsforce rebuilds nextRecordsUrl as {base}/query/{last segment of the server's}
    assert.match(res.nextRecordsUrl, new RegExp(`/services/data/v${API_VERSION}/query/[^/]+$`));
    const rec = res.records[0];
    assert.deepEqual(Object.keys(rec), ['attributes', 'Id', 'Name']);
    assert.equal(rec.attributes.type, 'Account');
    assert.equal(rec.attributes.url, `/services/data/v${API_VERSION}/sobjects/Account/${rec.Id}`);
    assert.equal(ids.get(rec.Name), rec.Id);
  });

  it('raw first page: nextRecordsUrl is a path whose locator has no slash', async () => {
    const res = await conn.request(`/query?q=${encodeURIComponent(SOQL)}`);
    assert.equal(res.done, false);
    assert.match(res.nextRecordsUrl, new RegExp(`^/services/data/v${API_VERSION}/query/[^/?#]+$`));
  });

  it('run({autoFetch, maxFetch}) follows every page', async () => {
    const res = await conn.query(SOQL).run({ autoFetch: true, maxFetch: 10000 });
    assert.equal(res.totalSize, N);
    assert.equal(res.done, true);
    assert.equal(res.records.length, N);
    const names = new Set(res.records.map((r) => r.Name));
    assert.equal(names.size, N, 'no record twice');
    assert.deepEqual([...names].sort(), [...ids.keys()].sort());
  });

  it('maxFetch stops part-way through the second page', async () => {
    const res = await conn.query(SOQL).run({ autoFetch: true, maxFetch: 2500 });
    assert.equal(res.totalSize, N);
    assert.equal(res.records.length, 2500);
    assert.equal(new Set(res.records.map((r) => r.Id)).size, 2500);
  });

  it('queryMore with the locator of a first page', async () => {
    const first = await conn.query(SOQL);
    const second = await conn.queryMore(first.nextRecordsUrl);
    assert.equal(second.records.length, N - PAGE);
    assert.equal(second.done, true);
    const overlap = second.records.filter((r) => first.records.some((f) => f.Id === r.Id));
    assert.deepEqual(overlap, []);
  });

  it('record events stream every row once', async () => {
    const seen = new Set();
    let ended = false;
    await conn
      .query(SOQL)
      .on('record', (r) => seen.add(r.Id))
      .on('end', () => {
        ended = true;
      })
      .run({ autoFetch: true, maxFetch: 10000 });
    assert.equal(seen.size, N);
    assert.ok(ended);
  });

  it('Sforce-Query-Options batchSize is honoured', async () => {
    const headers = { 'Sforce-Query-Options': 'batchSize=500' };
    const first = await conn.query(SOQL, { headers });
    assert.equal(first.records.length, 500);
    assert.equal(first.totalSize, N);
    let fetches = 0;
    const all = await conn
      .query(SOQL, { headers })
      .on('fetch', () => {
        fetches += 1;
      })
      .run({ autoFetch: true, maxFetch: 10000 });
    assert.equal(all.records.length, N);
    assert.ok(fetches >= N / 500, `expected >= ${N / 500} pages, saw ${fetches}`);
  });

  it('filters: NumberOfEmployees < 100', async () => {
    const res = await conn.query(
      "SELECT Name, NumberOfEmployees FROM Account WHERE Name LIKE 'Q-%' AND NumberOfEmployees < 100",
    );
    assert.equal(res.totalSize, 100);
    assert.equal(res.done, true);
    assert.deepEqual(
      res.records.map((r) => r.NumberOfEmployees).sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, k) => k),
    );
  });

  it('aggregate with GROUP BY and an alias', async () => {
    const res = await conn.query(
      "SELECT Industry, COUNT(Id) n FROM Account WHERE Name LIKE 'Q-%' GROUP BY Industry ORDER BY Industry",
    );
    assert.deepEqual(
      res.records.map((r) => [r.attributes.type, r.Industry, r.n]),
      [
        ['AggregateResult', 'Energy', N / 2],
        ['AggregateResult', 'Technology', N / 2],
      ],
    );
  });

  it('SELECT COUNT() answers with totalSize and no rows', async () => {
    const res = await conn.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Q-%'");
    assert.equal(res.totalSize, N);
    assert.deepEqual(res.records, []);
  });
});

describe('scanAll (queryAll)', () => {
  let deleted;
  let kept;
  before(async () => {
    const made = await Account().create(
      Array.from({ length: 6 }, (_, k) => ({ Name: `Del-${k}` })),
      { allOrNone: true },
    );
    const madeIds = made.map((r) => r.id);
    deleted = madeIds.slice(0, 3);
    kept = madeIds.slice(3);
    const res = await Account().destroy(deleted);
    assert.ok(res.every((r) => r.success), JSON.stringify(res));
  });

  it('query leaves deleted rows out, scanAll includes them with IsDeleted', async () => {
    const soql = "SELECT Id, Name, IsDeleted FROM Account WHERE Name LIKE 'Del-%'";
    const live = await conn.query(soql);
    assert.deepEqual(live.records.map((r) => r.Id).sort(), [...kept].sort());
    const all = await conn.query(soql, { scanAll: true });
    assert.equal(all.totalSize, 6);
    for (const r of all.records) {
      assert.equal(r.IsDeleted, deleted.includes(r.Id), JSON.stringify(r));
    }
  });

  it('a queryAll cursor is fetched under /query/ (jsforce always does that)', async () => {
    const res = await conn.query(SOQL).scanAll(true).run({ autoFetch: true, maxFetch: 10000 });
    assert.equal(res.records.length, N);
    assert.equal(new Set(res.records.map((r) => r.Id)).size, N);
  });
});

describe('SOQL built by jsforce', () => {
  it("find({Name: {$like}}, fields) → first page of records", async () => {
    const recs = await Account().find({ Name: { $like: 'Q-%' } }, ['Id', 'Name']);
    assert.equal(recs.length, PAGE, 'find() without autoFetch returns the first page');
    assert.ok(recs.every((r) => r.Name.startsWith('Q-') && ids.get(r.Name) === r.Id));
  });

  it('find().limit(5).sort("-Name")', async () => {
    const recs = await Account().find({ Name: { $like: 'Q-%' } }, ['Id', 'Name']).limit(5).sort('-Name');
    assert.deepEqual(
      recs.map((r) => r.Name),
      [N, N - 1, N - 2, N - 3, N - 4].map(qname),
    );
  });

  it('find with $in, $and of $gte/$lt, $or and offset', async () => {
    const a = await Account().find({ Name: { $in: [qname(1), qname(2), 'nope'] } }, ['Name']).sort('Name');
    assert.deepEqual(a.map((r) => r.Name), [qname(1), qname(2)]);
    const b = await Account()
      // (jsforce keeps only the first operator of one field object, hence $and)
      .find({ $and: [{ NumberOfEmployees: { $gte: 10 } }, { NumberOfEmployees: { $lt: 20 } }], Name: { $like: 'Q-%' } }, ['Name'])
      .sort({ NumberOfEmployees: 1 })
      .offset(5);
    assert.deepEqual(b.map((r) => r.Name), [16, 17, 18, 19, 20].map(qname));
    const c = await Account()
      .find({ $or: [{ Name: qname(3) }, { Name: qname(4) }], Industry: 'Energy' }, ['Name']);
    assert.deepEqual(c.map((r) => r.Name), [qname(4)]);
  });

  it('findOne', async () => {
    const rec = await Account().findOne({ Name: qname(42) }, ['Id', 'Name', 'NumberOfEmployees', 'Industry']);
    assert.equal(rec.Id, ids.get(qname(42)));
    assert.equal(rec.NumberOfEmployees, 41);
    assert.equal(rec.Industry, 'Energy');
  });

  it("find(..., '*') selects every described field", async () => {
    const [rec] = await Account().find({ Name: qname(5) }, '*');
    assert.equal(rec.Id, ids.get(qname(5)));
    assert.equal(rec.Name, qname(5));
    assert.equal(rec.NumberOfEmployees, 4);
    const described = (await Account().describe()).fields.map((f) => f.name);
    for (const f of described) {
      assert.ok(f in rec, `field ${f} missing from the row`);
    }
  });

  it('count() and count(conditions)', async () => {
    assert.equal(await Account().count({ Name: { $like: 'Q-%' } }), N);
    assert.equal(await Account().count({ Name: { $like: 'Q-%' }, Industry: 'Energy' }), N / 2);
  });

  it('parent path and include() child subquery', async () => {
    const accId = ids.get(qname(7));
    const c1 = await conn.sobject('Contact').create({ LastName: 'Curie', AccountId: accId });
    await conn.sobject('Contact').create({ LastName: 'Meitner', AccountId: accId });

    const [con] = await conn.sobject('Contact').find({ Id: c1.id }, ['Id', 'LastName', 'Account.Name']);
    assert.equal(con.LastName, 'Curie');
    assert.equal(con.Account.Name, qname(7));
    assert.equal(con.Account.attributes.type, 'Account');

    const [acc] = await Account()
      .find({ Id: accId }, ['Name'])
      .include('Contacts')
      .select(['LastName'])
      .sort('LastName')
      .end();
    assert.equal(acc.Name, qname(7));
    assert.equal(acc.Contacts.totalSize, 2);
    assert.equal(acc.Contacts.done, true);
    assert.deepEqual(acc.Contacts.records.map((r) => r.LastName), ['Curie', 'Meitner']);
  });
});

describe('columns=true and errors', () => {
  it('columns=true answers columnMetadata', async () => {
    const soql = 'SELECT Id, Name, Owner.Name, (SELECT LastName FROM Contacts) FROM Account LIMIT 1';
    const res = await conn.request(`/query?q=${encodeURIComponent(soql)}&columns=true`);
    assert.equal(res.records, undefined, 'metadata, not rows');
    assert.equal(res.entityName, 'Account');
    assert.equal(res.idSelected, true);
    assert.equal(res.keyPrefix, '001');
    const cols = res.columnMetadata;
    assert.deepEqual(cols.map((c) => c.columnName), ['Id', 'Name', 'Owner', 'Contacts']);
    for (const c of cols) {
      for (const k of ['aggregate', 'apexType', 'columnName', 'custom', 'displayName', 'joinColumns']) {
        assert.ok(k in c, `column ${c.columnName} lacks ${k}`);
      }
    }
    assert.equal(cols[0].aggregate, false);
    assert.deepEqual(cols[2].joinColumns.map((c) => c.columnName), ['Name']);
    assert.equal(cols[3].aggregate, true, 'a child subquery is an aggregate column');
    assert.deepEqual(cols[3].joinColumns.map((c) => c.columnName), ['LastName']);

    const agg = await conn.request(
      `/query?q=${encodeURIComponent('SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry')}&columns=true`,
    );
    assert.deepEqual(agg.columnMetadata.map((c) => [c.columnName, c.aggregate]), [
      ['Industry', false],
      ['expr0', true],
    ]);
  });

  it('/query/ with a trailing slash, and a raw 400 body', async () => {
    const ok = await rawRequest(srv, 'GET', `/services/data/v${API_VERSION}/query/?q=${encodeURIComponent(SOQL)}`, {
      headers: { Authorization: `Bearer ${conn.accessToken}` },
    });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.totalSize, N);
    assert.match(ok.headers.get('content-type'), /^application\/json/);
    const bad = await rawRequest(srv, 'GET', `/services/data/v${API_VERSION}/query?q=${encodeURIComponent('SELECT')}`, {
      headers: { Authorization: `Bearer ${conn.accessToken}` },
    });
    assert.equal(bad.status, 400, bad.text);
    assert.ok(Array.isArray(bad.json), 'error body is an array');
    assert.equal(bad.json[0].errorCode, 'MALFORMED_QUERY');
  });

  it('malformed SOQL → MALFORMED_QUERY', async () => {
    await assert.rejects(conn.query('SELECT Id FROM Account WHERE'), expectErrorCode('MALFORMED_QUERY'));
  });

  it('unknown field → INVALID_FIELD, unknown object → INVALID_TYPE', async () => {
    await assert.rejects(conn.query('SELECT Id, Bogus__c FROM Account'), expectErrorCode('INVALID_FIELD'));
    await assert.rejects(conn.query('SELECT Id FROM NoSuchThing__c'), expectErrorCode('INVALID_TYPE'));
    await assert.rejects(Account().find({ Bogus__c: 1 }, ['Id']), expectErrorCode('INVALID_FIELD'));
  });

  it('unknown locator → INVALID_QUERY_LOCATOR', async () => {
    await assert.rejects(conn.queryMore('01gNOSUCHCURSOR-2000'), expectErrorCode('INVALID_QUERY_LOCATOR'));
  });

  it('tooling query', async () => {
    const res = await conn.tooling.query('SELECT Id, Username FROM User');
    assert.ok(res.records.some((r) => r.Username === srv.info.username && r.Id === srv.info.user_id));
  });
});

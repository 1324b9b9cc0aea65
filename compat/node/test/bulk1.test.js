'use strict';
// Bulk API 1.0 through jsforce's `conn.bulk` (src/api/bulk.ts): jobs opened
// with an XML JobInfo (`contentType` CSV) on `/services/async/{v}/job`, the
// session in `X-SFDC-SESSION`, records serialised to CSV (nulls as `#N/A`) and
// posted as one batch per `load()`, the batch polled every `pollInterval` ms,
// the results read as CSV (`Id`, `Success`, `Created`, `Error`, one row per
// input row, in order), the job closed afterwards. `conn.bulk.query()` runs a
// `query` job and streams each result file through jsforce's CSV parser.
// `Query#update` / `Query#destroy` over more than 200 records (jsforce's
// DEFAULT_BULK_THRESHOLD, bulkApiVersion 1 by default) go through
// `sobject(type).updateBulk()` / `deleteBulk()`, i.e. the same `bulk.load`.
// jsforce treats a 400 whose body holds
// `<exceptionCode>InvalidSessionId</exceptionCode>` as an expired session and
// re-authenticates through the Connection's refresh function. Errors become
// jsforce errors named after `exceptionCode`. Most checks mirror jsforce's own
// live-org suite (test/bulk.test.ts).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Readable, Writable } = require('node:stream');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { startServer, revokeToken, uniq, API_VERSION } = require('./server');
const { TEST_TIMEOUT_MS, waitUntil, withTimeout } = require('./helpers/streaming');

const EXT = 'External_Id__c';
const REQUIRED_NAME = 'REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --';

let srv;
let conn;

before(async () => {
  srv = await startServer('bulk1');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
  // jsforce polls every 1 s by default; a user may poll faster.
  conn.bulk.pollInterval = 200;
  conn.bulk.pollTimeout = 60 * 1000;
});
after(async () => {
  await srv?.stop();
});

/** `n` Account records named `${prefix} #1..n`. */
const accounts = (prefix, n, extra = () => ({})) =>
  Array.from({ length: n }, (_, i) => ({ Name: `${prefix} #${i + 1}`, ...extra(i) }));

/** Every Account whose Name starts with `prefix`, ordered by Name, through REST (autoFetch). */
async function accountsNamed(prefix, fields = 'Id, Name') {
  const res = await conn.query(`SELECT ${fields} FROM Account WHERE Name LIKE '${prefix}%' ORDER BY Name`, {
    autoFetch: true,
    maxFetch: 100000,
  });
  return res.records;
}

/** Asserts a successful ingest result with an Account id. */
function assertOk(ret, created) {
  assert.match(ret.id, /^001\w{15}$/, JSON.stringify(ret));
  assert.equal(ret.success, true, JSON.stringify(ret));
  assert.deepEqual(ret.errors, [], JSON.stringify(ret));
  if (created !== undefined) assert.equal(ret.created, created, JSON.stringify(ret));
}

/** A Promise for a jsforce Batch (a thenable without `catch`, which assert.rejects wants). */
const settle = (batch) => new Promise((resolve, reject) => batch.then(resolve, reject));

/** Collects a jsforce record stream (Parsable) into an array. */
const collect = (recordStream) =>
  new Promise((resolve, reject) => {
    const recs = [];
    recordStream.on('record', (r) => recs.push(r));
    recordStream.on('error', reject);
    recordStream.on('end', () => resolve(recs));
  });

/** Wraps `conn.bulk.load` to record each call's operation and the job's JobInfo when it closes. */
function spyOnBulkLoad(c) {
  const calls = [];
  const orig = c.bulk.load.bind(c.bulk);
  c.bulk.load = (...args) => {
    const batch = orig(...args);
    const call = { type: args[0], operation: args[1] };
    call.closed = new Promise((resolve) => batch.job.once('close', resolve));
    calls.push(call);
    return batch;
  };
  return { calls, restore: () => delete c.bulk.load };
}

describe('bulk.load insert', () => {
  it('inserts 200 records and fails the 201st (no Name) with its error, results in input order', async () => {
    const prefix = uniq('bulk-ins');
    const records = [...accounts(prefix, 200, (i) => ({ NumberOfEmployees: 300 * (i + 1) })), { BillingState: 'CA' }];
    let jobInfo;
    const batch = conn.bulk.load('Account', 'insert', records);
    batch.job.on('open', (info) => (jobInfo = info));
    const closed = new Promise((resolve) => batch.job.once('close', resolve));
    const rets = await batch;

    assert.ok(Array.isArray(rets));
    assert.equal(rets.length, 201);
    for (const ret of rets.slice(0, 200)) assertOk(ret, true);
    assert.deepEqual(rets[200], { id: null, success: false, created: false, errors: [REQUIRED_NAME] });
    assert.equal(new Set(rets.slice(0, 200).map((r) => r.id)).size, 200);

    // the JobInfo jsforce parsed (xml2js: every value a string)
    assert.match(jobInfo.id, /^750\w{15}$/);
    assert.equal(jobInfo.operation, 'insert');
    assert.equal(jobInfo.object, 'Account');
    assert.equal(jobInfo.state, 'Open');
    assert.equal(jobInfo.contentType, 'CSV');
    assert.equal(jobInfo.apiVersion, API_VERSION);
    assert.match(batch.id, /^751\w{15}$/);

    // jsforce closes the job once it has the results
    const closedInfo = await closed;
    assert.equal(closedInfo.state, 'Closed');
    assert.equal(closedInfo.id, jobInfo.id);

    // ids in input order: row i is `${prefix} #${i+1}` with its NumberOfEmployees
    const byId = new Map((await accountsNamed(prefix, 'Id, Name, NumberOfEmployees')).map((r) => [r.Id, r]));
    assert.equal(byId.size, 200);
    rets.slice(0, 200).forEach((ret, i) => {
      const rec = byId.get(ret.id);
      assert.equal(rec.Name, `${prefix} #${i + 1}`);
      assert.equal(rec.NumberOfEmployees, 300 * (i + 1));
    });
  });

  it('takes a CSV string: quoted commas, quotes and line breaks, a failing row in the middle', async () => {
    const prefix = uniq('bulk-csv');
    const csv = [
      'Name,Description,NumberOfEmployees',
      `"${prefix} a, with comma","line one\nline two",10`,
      `,"no name",20`,
      `"${prefix} b ""quoted""","",30`,
    ].join('\n');
    const rets = await conn.bulk.load('Account', 'insert', csv);
    assert.equal(rets.length, 3);
    assertOk(rets[0], true);
    assert.deepEqual(rets[1], { id: null, success: false, created: false, errors: [REQUIRED_NAME] });
    assertOk(rets[2], true);

    const a = await conn.sobject('Account').retrieve(rets[0].id);
    assert.equal(a.Name, `${prefix} a, with comma`);
    assert.equal(a.Description, 'line one\nline two');
    assert.equal(a.NumberOfEmployees, 10);
    const b = await conn.sobject('Account').retrieve(rets[2].id);
    assert.equal(b.Name, `${prefix} b "quoted"`);
    assert.equal(b.Description, null);
  });

  it('takes a CSV string with CRLF line endings (a file saved on Windows)', async () => {
    const prefix = uniq('bulk-crlf');
    const csv = `Name,NumberOfEmployees\r\n${prefix} #1,1\r\n${prefix} #2,2\r\n`;
    const rets = await conn.bulk.load('Account', 'insert', csv);
    assert.equal(rets.length, 2);
    for (const ret of rets) assertOk(ret, true);
    assert.deepEqual(
      (await accountsNamed(prefix, 'Name, NumberOfEmployees')).map((r) => [r.Name, r.NumberOfEmployees]),
      [
        [`${prefix} #1`, 1],
        [`${prefix} #2`, 2],
      ],
    );
  });

  it('booleans (jsforce sends them as "true"/"false") and dates on Contacts', async () => {
    const prefix = uniq('bulk-bool');
    const rets = await conn.bulk.load('Contact', 'insert', [
      { LastName: `${prefix} a`, DoNotCall: true, HasOptedOutOfEmail: false, Birthdate: '1990-05-17' },
      { LastName: `${prefix} b`, DoNotCall: false, HasOptedOutOfEmail: true, Birthdate: null },
    ]);
    assert.equal(rets.length, 2);
    for (const ret of rets) assert.equal(ret.success, true, JSON.stringify(ret));
    const a = await conn.sobject('Contact').retrieve(rets[0].id);
    assert.deepEqual([a.DoNotCall, a.HasOptedOutOfEmail, a.Birthdate], [true, false, '1990-05-17']);
    const b = await conn.sobject('Contact').retrieve(rets[1].id);
    assert.deepEqual([b.DoNotCall, b.HasOptedOutOfEmail, b.Birthdate], [false, true, null]);
  });

  it('a batch of more than 10,000 records (jsforce sends one batch per load) is refused; nothing is written', async () => {
    const prefix = uniq('bulk-10001');
    const records = accounts(prefix, 10001);
    await assert.rejects(settle(conn.bulk.load('Account', 'insert', records)), (err) => {
      assert.ok(err.message, `${err.name}: ${err.message}`);
      return true;
    });
    assert.equal((await accountsNamed(prefix)).length, 0);
  });

  it('takes a CSV stream piped into batch.stream() (the response event carries the results)', async () => {
    const prefix = uniq('bulk-stream');
    const lines = ['Name', ...Array.from({ length: 30 }, (_, i) => `${prefix} #${i + 1}`)];
    const batch = conn.bulk.load('Account', 'insert');
    const rets = await new Promise((resolve, reject) => {
      batch.on('response', resolve);
      batch.on('error', reject);
      Readable.from([lines.join('\n') + '\n']).pipe(batch.stream());
    });
    assert.equal(rets.length, 30);
    for (const ret of rets) assertOk(ret, true);
    assert.equal((await accountsNamed(prefix)).length, 30);
  });

  it('Contacts by their parent external id (Account.External_Id__c column); a missing parent fails its row', async () => {
    const ext = uniq('bulk-parent');
    const acc = await conn.sobject('Account').create({ Name: ext, [EXT]: ext });
    assert.ok(acc.success);
    const csv = `LastName,Account.${EXT}\nChild One,${ext}\nChild Two,${ext}-missing\n`;
    const rets = await conn.bulk.load('Contact', 'insert', csv);
    assert.equal(rets.length, 2);
    assert.match(rets[0].id, /^003\w{15}$/);
    assert.equal(rets[0].success, true);
    assert.equal(rets[1].success, false);
    assert.equal(rets[1].id, null);
    assert.match(rets[1].errors[0], /^[A-Z_]+:.*--$/, rets[1].errors[0]);
    const c = await conn.sobject('Contact').retrieve(rets[0].id);
    assert.equal(c.AccountId, acc.id);
  });

  it('sends concurrencyMode Serial when asked and reports it in the JobInfo', async () => {
    const prefix = uniq('bulk-serial');
    let jobInfo;
    const batch = conn.bulk.load('Account', 'insert', { concurrencyMode: 'Serial' }, accounts(prefix, 3));
    batch.job.on('open', (info) => (jobInfo = info));
    const rets = await batch;
    assert.equal(rets.length, 3);
    for (const ret of rets) assertOk(ret, true);
    assert.equal(jobInfo.concurrencyMode, 'Serial');
  });
});

describe('bulk.load update, upsert, delete, hardDelete', () => {
  it('update: new values, a null (sent as #N/A) clears a field, a deleted record fails alone', async () => {
    const prefix = uniq('bulk-upd');
    const ins = await conn.bulk.load('Account', 'insert', accounts(prefix, 20, () => ({ Description: 'before', BillingState: 'CA' })));
    for (const ret of ins) assertOk(ret, true);
    const gone = await conn.sobject('Account').create({ Name: `${prefix} gone` });
    await conn.sobject('Account').destroy(gone.id);

    const records = await conn
      .sobject('Account')
      .find({ Name: { $like: `${prefix} #%` } }, ['Id', 'Name'])
      .execute();
    assert.equal(records.length, 20);
    const updates = [
      ...records.map((rec) => ({ ...rec, Name: `${rec.Name} (Updated)`, BillingState: null })),
      { Id: gone.id, Name: 'never' },
    ];
    const rets = await conn.bulk.load('Account', 'update', updates);
    assert.equal(rets.length, 21);
    rets.slice(0, 20).forEach((ret, i) => {
      assertOk(ret, false);
      assert.equal(ret.id, records[i].Id);
    });
    assert.equal(rets[20].success, false);
    assert.equal(rets[20].created, false);
    assert.match(rets[20].errors[0], /^ENTITY_IS_DELETED:.*--$/, rets[20].errors[0]);

    const after = await accountsNamed(prefix, 'Id, Name, Description, BillingState');
    assert.equal(after.length, 20);
    for (const rec of after) {
      assert.match(rec.Name, /\(Updated\)$/);
      assert.equal(rec.Description, 'before', 'a column left out stays as it was');
      assert.equal(rec.BillingState, null, '#N/A sets null');
    }
  });

  it('update with an empty input raises ClientInputError', async () => {
    await assert.rejects(settle(conn.bulk.load('Account', 'update', [])), (err) => {
      assert.equal(err.name, 'ClientInputError', `${err.name}: ${err.message}`);
      return true;
    });
  });

  it('upsert by External_Id__c: existing rows updated (created false), new rows inserted (created true)', async () => {
    const prefix = uniq('bulk-ups');
    const existing = await conn.bulk.load(
      'Account',
      'insert',
      accounts(prefix, 3, (i) => ({ [EXT]: `${prefix}-e${i + 1}` })),
    );
    for (const ret of existing) assertOk(ret, true);

    const records = [
      { [EXT]: `${prefix}-e1`, Name: `${prefix} #1 upserted` },
      { [EXT]: `${prefix}-n1`, Name: `${prefix} #4 new` },
      { [EXT]: `${prefix}-e3`, Name: `${prefix} #3 upserted` },
      { [EXT]: `${prefix}-n2`, Name: `${prefix} #5 new` },
    ];
    let jobInfo;
    const batch = conn.bulk.load('Account', 'upsert', { extIdField: EXT }, records);
    batch.job.on('open', (info) => (jobInfo = info));
    const rets = await batch;
    assert.equal(jobInfo.externalIdFieldName, EXT);
    assert.equal(rets.length, 4);
    assertOk(rets[0], false);
    assert.equal(rets[0].id, existing[0].id);
    assertOk(rets[1], true);
    assertOk(rets[2], false);
    assert.equal(rets[2].id, existing[2].id);
    assertOk(rets[3], true);

    const after = await accountsNamed(prefix, `Id, Name, ${EXT}`);
    assert.deepEqual(
      after.map((r) => [r.Name, r[EXT]]),
      [
        [`${prefix} #1 upserted`, `${prefix}-e1`],
        [`${prefix} #2`, `${prefix}-e2`],
        [`${prefix} #3 upserted`, `${prefix}-e3`],
        [`${prefix} #4 new`, `${prefix}-n1`],
        [`${prefix} #5 new`, `${prefix}-n2`],
      ],
    );
  });

  it('upsert without an external id field: InvalidJob "External ID was blank ..."', async () => {
    await assert.rejects(settle(conn.bulk.load('Account', 'upsert', [{ Name: 'x' }])), (err) => {
      assert.equal(err.name, 'InvalidJob', `${err.name}: ${err.message}`);
      assert.equal(err.message, 'External ID was blank for Account. An External ID must be specified for upsert.');
      return true;
    });
  });

  it('delete: records go to the Recycle Bin (queryAll still sees them); a second delete fails per record', async () => {
    const prefix = uniq('bulk-del');
    const ins = await conn.bulk.load('Account', 'insert', accounts(prefix, 25));
    const records = await conn.sobject('Account').find({ Name: { $like: `${prefix}%` } });
    assert.equal(records.length, 25);
    // jsforce sends only the Id column for deletes, whatever else the records hold
    const rets = await conn.bulk.load('Account', 'delete', records);
    assert.equal(rets.length, 25);
    rets.forEach((ret, i) => {
      assertOk(ret, false);
      assert.equal(ret.id, records[i].Id);
    });
    assert.equal((await accountsNamed(prefix)).length, 0);
    const all = await conn.query(`SELECT Id, IsDeleted FROM Account WHERE Name LIKE '${prefix}%'`).scanAll(true);
    assert.equal(all.totalSize, 25);
    assert.ok(all.records.every((r) => r.IsDeleted === true));

    const again = await conn.bulk.load('Account', 'delete', ins.slice(0, 2).map((r) => ({ Id: r.id })));
    assert.equal(again.length, 2);
    for (const ret of again) {
      assert.equal(ret.success, false, JSON.stringify(ret));
      assert.match(ret.errors[0], /^ENTITY_IS_DELETED:.*--$/, ret.errors[0]);
    }
  });

  it('delete with an empty input raises ClientInputError', async () => {
    await assert.rejects(settle(conn.bulk.load('Account', 'delete', [])), (err) => {
      assert.equal(err.name, 'ClientInputError', `${err.name}: ${err.message}`);
      return true;
    });
  });

  it('delete from a CSV string of Ids', async () => {
    const prefix = uniq('bulk-delcsv');
    const ins = await conn.bulk.load('Account', 'insert', accounts(prefix, 5));
    const csv = `Id\n${ins.map((r) => r.id).join('\n')}\n`;
    const rets = await conn.bulk.load('Account', 'delete', csv);
    assert.deepEqual(
      rets.map((r) => [r.id, r.success]),
      ins.map((r) => [r.id, true]),
    );
    assert.equal((await accountsNamed(prefix)).length, 0);
  });

  it('hardDelete: records skip the Recycle Bin (queryAll no longer sees them)', async () => {
    const prefix = uniq('bulk-hard');
    const ins = await conn.bulk.load('Account', 'insert', accounts(prefix, 12));
    for (const ret of ins) assertOk(ret, true);
    const rets = await conn.sobject('Account').deleteHardBulk(ins.map((r) => ({ Id: r.id })));
    assert.equal(rets.length, 12);
    rets.forEach((ret, i) => {
      assertOk(ret, false);
      assert.equal(ret.id, ins[i].id);
    });
    const all = await conn.query(`SELECT Id FROM Account WHERE Name LIKE '${prefix}%'`).scanAll(true);
    assert.equal(all.totalSize, 0);
  });
});

describe('bulk.query', () => {
  let prefix;
  let ids;
  before(async () => {
    prefix = uniq('bulk-q');
    const ins = await conn.bulk.load(
      'Account',
      'insert',
      accounts(prefix, 450, (i) => ({ NumberOfEmployees: i + 1, Description: i % 2 ? `odd, "${i}"` : null })),
    );
    ids = ins.map((r) => r.id);
    assert.equal(ids.length, 450);
  });

  it('streams the records of SELECT ... (CSV parsed by jsforce: strings, "" for null, Owner.Name as a column)', async () => {
    const stream = await conn.bulk.query(
      `SELECT Id, Name, NumberOfEmployees, Description, Owner.Name FROM Account WHERE Name LIKE '${prefix}%'`,
    );
    const recs = await collect(stream);
    assert.equal(recs.length, 450);
    const byId = new Map(recs.map((r) => [r.Id, r]));
    assert.deepEqual([...byId.keys()].sort(), [...ids].sort());
    ids.forEach((id, i) => {
      const r = byId.get(id);
      assert.deepEqual(Object.keys(r), ['Id', 'Name', 'NumberOfEmployees', 'Description', 'Owner.Name']);
      assert.equal(r.Name, `${prefix} #${i + 1}`);
      assert.equal(r.NumberOfEmployees, String(i + 1));
      assert.equal(r.Description, i % 2 ? `odd, "${i}"` : '');
      assert.equal(r['Owner.Name'], 'Admin User');
    });
  });

  it('.stream() gives the CSV text: a header and one line per record', async () => {
    const stream = await conn.bulk.query(`SELECT Id, Name FROM Account WHERE Name LIKE '${prefix}%' ORDER BY Name LIMIT 5`);
    const chunks = [];
    const recs = [];
    stream.on('record', (r) => recs.push(r));
    await new Promise((resolve, reject) => {
      stream.on('error', reject);
      stream
        .stream()
        .pipe(
          new Writable({
            write(chunk, _enc, cb) {
              chunks.push(chunk);
              cb();
            },
          }),
        )
        .on('finish', resolve);
    });
    const lines = Buffer.concat(chunks).toString('utf8').replace(/[\r\n]+$/, '').split(/\r?\n/);
    assert.equal(lines.length, 6, lines.join('\n'));
    assert.match(lines[0], /^"?Id"?,"?Name"?$/);
    assert.equal(recs.length, 5);
    assert.deepEqual(
      recs.map((r) => r.Name),
      [1, 10, 100, 101, 102].map((n) => `${prefix} #${n}`),
    );
  });

  it('a query matching nothing gives no records', async () => {
    const recs = await collect(await conn.bulk.query(`SELECT Id FROM Account WHERE Name = '${prefix}-none'`));
    assert.deepEqual(recs, []);
  });

  it('queryAll (bulk.load with "queryAll", then batch.result(id)) includes deleted rows; query does not', async () => {
    await conn.sobject('Account').destroy(ids.slice(0, 3));
    const soql = `SELECT Id, IsDeleted FROM Account WHERE Name LIKE '${prefix}%'`;
    const read = async (operation) => {
      const results = await conn.bulk.load('Account', operation, soql);
      assert.ok(results.length >= 1);
      for (const r of results) assert.match(r.id, /^752\w{15}$/);
      const recs = [];
      for (const r of results) recs.push(...(await collect(conn.bulk.job(r.jobId).batch(r.batchId).result(r.id))));
      return recs;
    };
    const all = await read('queryAll');
    assert.equal(all.length, 450);
    assert.deepEqual(
      all.filter((r) => r.IsDeleted === 'true').map((r) => r.Id).sort(),
      ids.slice(0, 3).sort(),
    );
    const live = await read('query');
    assert.equal(live.length, 447);
    assert.ok(live.every((r) => r.IsDeleted === 'false'));
  });

  it('a SOQL error fails the batch: jsforce raises its stateMessage', async () => {
    await assert.rejects(conn.bulk.query('SELECT Id, NoSuchField__c FROM Account'), (err) => {
      assert.match(err.message, /NoSuchField__c/);
      return true;
    });
  });

  for (const [what, soql] of [
    ['COUNT()', (p) => `SELECT COUNT() FROM Account WHERE Name LIKE '${p}%'`],
    ['an aggregate with GROUP BY', (p) => `SELECT Name, COUNT(Id) FROM Account WHERE Name LIKE '${p}%' GROUP BY Name`],
    ['OFFSET', (p) => `SELECT Id FROM Account WHERE Name LIKE '${p}%' ORDER BY Name LIMIT 5 OFFSET 2`],
  ]) {
    it(`${what} is not supported by Bulk API query: the batch fails and jsforce raises`, async () => {
      await assert.rejects(conn.bulk.query(soql(prefix)), (err) => {
        assert.ok(err.message, 'an error carrying the batch stateMessage');
        return true;
      });
    });
  }

  it('datetimes in the CSV result are ISO 8601 UTC with milliseconds (2024-05-02T08:55:27.000Z)', async () => {
    const recs = await collect(
      await conn.bulk.query(`SELECT Id, CreatedDate FROM Account WHERE Id = '${ids[ids.length - 1]}'`),
    );
    assert.equal(recs.length, 1);
    assert.match(recs[0].CreatedDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe('Query#update and Query#destroy over Bulk API 1.0', () => {
  it('Query#update of 250 records goes through bulk.load (update) and updates them all', async () => {
    const prefix = uniq('bulk-qupd');
    const ins = await conn.bulk.load('Account', 'insert', accounts(prefix, 250));
    assert.equal(ins.length, 250);

    const spy = spyOnBulkLoad(conn);
    let rets;
    try {
      rets = await conn
        .sobject('Account')
        .find({ Name: { $like: `${prefix}%` } }, ['Id', 'Name'])
        .update({ Name: '${Name} (Updated)' }); // eslint-disable-line no-template-curly-in-string
    } finally {
      spy.restore();
    }
    assert.deepEqual(spy.calls.map((c) => [c.type, c.operation]), [['Account', 'update']]);
    const closed = await spy.calls[0].closed;
    assert.equal(closed.state, 'Closed');
    assert.equal(closed.operation, 'update');

    assert.equal(rets.length, 250);
    for (const ret of rets) assertOk(ret, false);
    assert.deepEqual(rets.map((r) => r.id).sort(), ins.map((r) => r.id).sort());

    const after = await accountsNamed(prefix);
    assert.equal(after.length, 250);
    for (const rec of after) assert.match(rec.Name, /^.* #\d+ \(Updated\)$/);
  });

  it('Query#update with bulkThreshold 0 uses Bulk API for a few records; a null mapping clears the field', async () => {
    const prefix = uniq('bulk-qupd0');
    await conn.bulk.load('Account', 'insert', accounts(prefix, 20, () => ({ BillingState: 'CA' })));
    const spy = spyOnBulkLoad(conn);
    let rets;
    try {
      rets = await conn
        .sobject('Account')
        .find({ Name: { $like: `${prefix}%` } }, ['Id', 'Name'])
        .update(
          { Name: '${Name} (Updated)', BillingState: null }, // eslint-disable-line no-template-curly-in-string
          { bulkThreshold: 0 },
        );
    } finally {
      spy.restore();
    }
    assert.deepEqual(spy.calls.map((c) => c.operation), ['update']);
    assert.equal(rets.length, 20);
    for (const ret of rets) assertOk(ret, false);
    for (const rec of await accountsNamed(prefix, 'Name, BillingState')) {
      assert.match(rec.Name, /\(Updated\)$/);
      assert.equal(rec.BillingState, null);
    }
  });

  it('Query#update matching nothing returns []', async () => {
    const rets = await conn
      .sobject('Account')
      .find({ Name: `${uniq('bulk-none')}` }, ['Id', 'Name'])
      .update({ Name: '${Name} (Updated)' }); // eslint-disable-line no-template-curly-in-string
    assert.deepEqual(rets, []);
  });

  it('Query#destroy of 250 records goes through bulk.load (delete) and deletes them all', async () => {
    const prefix = uniq('bulk-qdel');
    const ins = await conn.bulk.load('Account', 'insert', accounts(prefix, 250));
    assert.equal(ins.length, 250);
    const spy = spyOnBulkLoad(conn);
    let rets;
    try {
      rets = await conn.sobject('Account').find({ Name: { $like: `${prefix}%` } }).destroy();
    } finally {
      spy.restore();
    }
    assert.deepEqual(spy.calls.map((c) => [c.type, c.operation]), [['Account', 'delete']]);
    assert.equal(rets.length, 250);
    for (const ret of rets) assertOk(ret, false);
    assert.deepEqual(rets.map((r) => r.id).sort(), ins.map((r) => r.id).sort());
    assert.equal((await accountsNamed(prefix)).length, 0);
  });

  it('Query#destroy with bulkThreshold 0 uses Bulk API for a few records', async () => {
    const prefix = uniq('bulk-qdel0');
    await conn.bulk.load('Account', 'insert', accounts(prefix, 20));
    const spy = spyOnBulkLoad(conn);
    let rets;
    try {
      rets = await conn.sobject('Account').find({ Name: { $like: `${prefix}%` } }).destroy({ bulkThreshold: 0 });
    } finally {
      spy.restore();
    }
    assert.deepEqual(spy.calls.map((c) => c.operation), ['delete']);
    assert.equal(rets.length, 20);
    for (const ret of rets) assertOk(ret, false);
    assert.equal((await accountsNamed(prefix)).length, 0);
  });
});

describe('jobs and batches by hand', () => {
  it('two batches in one job: queue events, poll, list(), close() with the counts', async () => {
    const prefix = uniq('bulk-job');
    const job = conn.bulk.createJob('Account', 'insert');
    const run = (records) => {
      const batch = job.createBatch();
      const done = new Promise((resolve, reject) => {
        batch.on('response', resolve);
        batch.on('error', reject);
      });
      let queued;
      batch.on('queue', (info) => {
        queued = info;
        batch.poll(200, 30000);
      });
      batch.execute(records);
      return done.then((rets) => ({ batch, rets, queued }));
    };
    const [one, two] = await Promise.all([
      run(accounts(`${prefix} a`, 3, () => ({ NumberOfEmployees: 1 }))),
      run([...accounts(`${prefix} b`, 2, () => ({ NumberOfEmployees: 2 })), { NumberOfEmployees: 3 }]),
    ]);
    for (const ret of one.rets) assertOk(ret, true);
    assert.equal(two.rets.length, 3);
    assert.equal(two.rets[2].success, false);
    assert.equal(one.queued.state, 'Queued');
    assert.equal(one.queued.jobId, job.id);

    const info = await two.batch.check();
    assert.equal(info.state, 'Completed');
    assert.equal(info.numberRecordsProcessed, '3');
    assert.equal(info.numberRecordsFailed, '1');

    const list = await job.list();
    assert.deepEqual(list.map((b) => b.id).sort(), [one.batch.id, two.batch.id].sort());
    assert.ok(list.every((b) => b.state === 'Completed' && b.jobId === job.id));

    // results can be read again
    assert.deepEqual(await one.batch.retrieve(), one.rets);

    const jobId = job.id;
    const closed = await job.close();
    assert.equal(closed.state, 'Closed');
    assert.equal(closed.numberBatchesTotal, '2');
    assert.equal(closed.numberBatchesCompleted, '2');
    assert.equal(closed.numberRecordsProcessed, '6');
    assert.equal(closed.numberRecordsFailed, '1');

    // a closed job takes no more batches
    await assert.rejects(settle(conn.bulk.job(jobId).createBatch().execute(accounts(`${prefix} c`, 1))), (err) => {
      assert.equal(err.name, 'InvalidJobState', `${err.name}: ${err.message}`);
      return true;
    });
    const check = await conn.bulk.job(jobId).check();
    assert.equal(check.state, 'Closed');
    assert.equal(check.numberBatchesTotal, '2');
  });

  it('abort(): the job is Aborted and takes no more batches', async () => {
    const job = conn.bulk.createJob('Account', 'insert');
    const opened = await job.open();
    assert.equal(opened.state, 'Open');
    const jobId = job.id;
    const aborted = await job.abort();
    assert.equal(aborted.state, 'Aborted');
    await assert.rejects(settle(conn.bulk.job(jobId).createBatch().execute([{ Name: uniq('after-abort') }])), (err) => {
      assert.equal(err.name, 'InvalidJobState', `${err.name}: ${err.message}`);
      return true;
    });
  });

  it('an unknown column fails the batch before any record is written: jsforce raises its stateMessage', async () => {
    const name = uniq('bulk-badcol');
    await assert.rejects(settle(conn.bulk.load('Account', 'insert', [{ Name: name, NoSuchField__c: 'x' }])), (err) => {
      assert.match(err.message, /^InvalidBatch : Field name not found : NoSuchField__c$/);
      return true;
    });
    assert.equal((await accountsNamed(name)).length, 0);
  });

  it('an unknown job id: InvalidJob', async () => {
    await assert.rejects(conn.bulk.job('750000000000000AAA').check(), (err) => {
      assert.equal(err.name, 'InvalidJob', `${err.name}: ${err.message}`);
      return true;
    });
  });
});

describe('change events from a bulk load', () => {
  it('250 inserts: CREATE events with changeOrigin bulkapi, one transaction per 200-record chunk', { timeout: TEST_TIMEOUT_MS }, async () => {
    const CHANNEL = '/data/AccountChangeEvent';
    const received = [];
    const client = conn.streaming.createClient([new StreamingExtension.Replay(CHANNEL, -1)]);
    try {
      await withTimeout(client.subscribe(CHANNEL, (d) => received.push(d)), `subscribe ${CHANNEL}`);
      const prefix = uniq('bulk-cdc');
      const rets = await conn.bulk.load('Account', 'insert', accounts(prefix, 250));
      assert.equal(rets.length, 250);
      const ids = rets.map((r) => r.id);
      const wanted = new Set(ids);
      const mine = () =>
        received.filter((d) => {
          const h = d.payload.ChangeEventHeader;
          return h.changeType === 'CREATE' && h.recordIds.some((id) => wanted.has(id));
        });
      await waitUntil(() => mine().length >= 250, 'a CREATE event per inserted record', {
        describe: () => `(${mine().length} of 250)`,
      });
      const events = mine();
      assert.equal(events.length, 250);
      const byId = new Map(events.map((d) => [d.payload.ChangeEventHeader.recordIds[0], d]));
      for (const d of events) {
        const h = d.payload.ChangeEventHeader;
        assert.deepEqual(h.recordIds.length, 1);
        assert.equal(h.entityName, 'Account');
        assert.equal(h.changeOrigin, `com/salesforce/api/bulkapi/${API_VERSION}`);
        assert.equal(h.commitUser, srv.info.user_id);
      }
      // records 1..200 (input order) committed in one transaction, 201..250 in another
      const keyOf = (id) => byId.get(id).payload.ChangeEventHeader.transactionKey;
      const first = new Set(ids.slice(0, 200).map(keyOf));
      const second = new Set(ids.slice(200).map(keyOf));
      assert.equal(first.size, 1, 'the first 200 records share a transactionKey');
      assert.equal(second.size, 1, 'the last 50 records share a transactionKey');
      assert.notDeepEqual([...first], [...second]);
      assert.deepEqual(
        ids.slice(0, 200).map((id) => byId.get(id).payload.ChangeEventHeader.sequenceNumber).sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        ids.slice(200).map((id) => byId.get(id).payload.ChangeEventHeader.sequenceNumber).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal(byId.get(ids[0]).payload.Name, `${prefix} #1`);
    } finally {
      try {
        await withTimeout(Promise.resolve(client.disconnect()), 'faye disconnect', 5000);
      } catch {
        // already gone
      }
      await waitUntil(() => client._dispatcher._envelopes.size === 0, 'faye requests settled', { ms: 2000 }).catch(
        () => {},
      );
      try {
        client._dispatcher.close();
      } catch {
        // ignore
      }
    }
  });
});

describe('invalid session', () => {
  it('with a refreshFn: jsforce re-authenticates on InvalidSessionId and the load succeeds', async () => {
    const prefix = uniq('bulk-sess');
    const ins = await conn.bulk.load('Account', 'insert', accounts(prefix, 100));
    let refreshCalls = 0;
    const conn2 = new jsforce.Connection({
      instanceUrl: conn.instanceUrl,
      version: API_VERSION,
      accessToken: 'invalid_token',
      refreshFn: (c, callback) => {
        refreshCalls += 1;
        setTimeout(() => callback(null, conn.accessToken ?? undefined), 100);
      },
    });
    conn2.bulk.pollInterval = 200;
    const rets = await conn2.bulk.load('Account', 'delete', ins.map((r) => ({ Id: r.id })));
    assert.equal(refreshCalls, 1);
    assert.equal(conn2.accessToken, conn.accessToken);
    assert.equal(rets.length, 100);
    for (const ret of rets) assert.equal(ret.success, true, JSON.stringify(ret));
    assert.equal((await accountsNamed(prefix)).length, 0);
  });

  it('without a refreshFn: the load fails with InvalidSessionId', async () => {
    const conn3 = new jsforce.Connection({
      instanceUrl: conn.instanceUrl,
      version: API_VERSION,
      accessToken: 'invalid_token',
    });
    await assert.rejects(settle(conn3.bulk.load('Account', 'insert', [{ Name: 'Impossible Bulk Account #1' }])), (err) => {
      assert.equal(err.name, 'InvalidSessionId', `${err.name}: ${err.message}`);
      assert.equal(err.message, 'Invalid session id');
      return true;
    });
  });

  it('a token revoked after a password login: jsforce logs in again (SOAP) and the load succeeds', async () => {
    const c = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
    await c.login(srv.info.username, srv.info.password);
    c.bulk.pollInterval = 200;
    const revoked = c.accessToken;
    await revokeToken(srv, revoked);
    let refreshed = 0;
    c.on('refresh', () => (refreshed += 1));
    const prefix = uniq('bulk-relogin');
    const rets = await c.bulk.load('Account', 'insert', accounts(prefix, 2));
    assert.equal(refreshed, 1);
    assert.notEqual(c.accessToken, revoked);
    assert.equal(rets.length, 2);
    for (const ret of rets) assertOk(ret, true);
    assert.equal((await accountsNamed(prefix)).length, 2);
  });
});

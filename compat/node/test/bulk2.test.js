'use strict';
// Bulk API 2.0 through jsforce's `conn.bulk2` (lib/api/bulk2.js), and the change events
// bulk writes cause, seen through jsforce's streaming client.
//
// What jsforce calls. `loadAndWaitForResults({object, operation, input, ...})`: POST
// {base}/jobs/ingest, PUT {base}/jobs/ingest/{id}/batches (the CSV; a records array is
// serialised by jsforce: insert drops `Id`, update/upsert put `Id` first, delete and
// hardDelete keep only `Id`, booleans as "true"/"false", null as #N/A), PATCH
// {"state":"UploadComplete"}, GET the job every `pollInterval` until a terminal state
// (it throws on Open, Aborted and Failed), then GET successfulResults, failedResults and
// unprocessedrecords at once and parses each CSV into an array of row objects whose values
// are strings. On an error it DELETEs the job. `query(soql, {scanAll})`: POST
// {base}/jobs/query, poll, then GET .../results, again with `?locator=` from each
// response's Sforce-Locator until it reads the string "null"; jsforce has no maxRecords
// option, so the paging test goes through a proxy that adds one (see below).
//
// jsforce polls every second by default; `conn.bulk2.pollInterval` (a documented
// property) is set to 200 ms here to keep the file quick.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { QueryJobV2 } = require('jsforce/lib/api/bulk2');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest, revokeToken, uniq, API_VERSION, CONFIG } = require('./server');
const { TEST_TIMEOUT_MS, waitUntil, withTimeout, settle } = require('./helpers/streaming');
const { disconnectFaye } = require('./helpers/faye');

const BASE = `/services/data/v${API_VERSION}`;
const CHANNEL = '/data/AccountChangeEvent';

let srv;
let conn;
const clients = [];

before(async () => {
  srv = await startServer('bulk2');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
  conn.bulk2.pollInterval = 200;
});
after(async () => {
  for (const c of clients) await disconnectFaye(c);
  await srv?.stop();
});

/** Rows of a CSV body: `header` then one line per row, LF, unquoted (values here have no commas). */
const csv = (header, rows) => `${[header, ...rows].join('\n')}\n`;

/** SOQL rows through the REST query API (jsforce autoFetch), to check what a job wrote. */
async function soql(q) {
  const res = await conn.query(q, { autoFetch: true, maxFetch: 100000 });
  return res.records;
}

/** GET {base}/jobs/ingest/{id} through jsforce's own job object. */
const ingestJob = (id) => conn.bulk2.job('ingest', { id });

describe('bulk2.loadAndWaitForResults: ingest jobs', () => {
  it('insert from a CSV string: sf__Id / sf__Created "true" per row, a row without Name in failedResults', async () => {
    const p = uniq('b2ins');
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'insert',
      input: csv('Name,Phone,NumberOfEmployees', [`${p}-a,555-0101,10`, ',555-0102,20', `${p}-c,,30`]),
    });
    assert.deepEqual(Object.keys(res), ['successfulResults', 'failedResults', 'unprocessedRecords']);
    assert.equal(res.successfulResults.length, 2, JSON.stringify(res));
    const [a, c] = res.successfulResults;
    for (const r of [a, c]) {
      assert.deepEqual(Object.keys(r), ['sf__Id', 'sf__Created', 'Name', 'Phone', 'NumberOfEmployees']);
      assert.match(r.sf__Id, /^001\w{15}$/);
      assert.equal(r.sf__Created, 'true');
    }
    assert.deepEqual([a.Name, a.Phone, a.NumberOfEmployees], [`${p}-a`, '555-0101', '10']);
    assert.deepEqual([c.Name, c.Phone, c.NumberOfEmployees], [`${p}-c`, '', '30']);

    assert.deepEqual(res.failedResults, [{
      sf__Id: '',
      sf__Error: 'REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --',
      Name: '',
      Phone: '555-0102',
      NumberOfEmployees: '20',
    }]);
    assert.deepEqual(res.unprocessedRecords, []);

    const rows = await soql(`SELECT Id, Name, Phone, NumberOfEmployees FROM Account WHERE Name LIKE '${p}-%' ORDER BY Name`);
    assert.deepEqual(
      rows.map((r) => [r.Id, r.Name, r.Phone, r.NumberOfEmployees]),
      [[a.sf__Id, `${p}-a`, '555-0101', 10], [c.sf__Id, `${p}-c`, null, 30]],
    );
  });

  it('insert from records: jsforce writes booleans as "true"/"false" and null as #N/A (sets the field null)', async () => {
    const p = uniq('b2rec');
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact',
      operation: 'insert',
      input: [
        { LastName: `${p}-1`, DoNotCall: true, HasOptedOutOfEmail: false, Email: null },
        { LastName: `${p}-2`, DoNotCall: false, HasOptedOutOfEmail: true, Email: 'two@example.com' },
      ],
    });
    assert.deepEqual(res.failedResults, [], JSON.stringify(res.failedResults));
    assert.deepEqual(
      res.successfulResults.map((r) => [r.sf__Created, r.LastName, r.DoNotCall, r.HasOptedOutOfEmail, r.Email]),
      [['true', `${p}-1`, 'true', 'false', '#N/A'], ['true', `${p}-2`, 'false', 'true', 'two@example.com']],
    );
    const rows = await soql(`SELECT Id, LastName, DoNotCall, HasOptedOutOfEmail, Email FROM Contact WHERE LastName LIKE '${p}-%' ORDER BY LastName`);
    assert.deepEqual(
      rows.map((r) => [r.Id, r.DoNotCall, r.HasOptedOutOfEmail, r.Email]),
      [
        [res.successfulResults[0].sf__Id, true, false, null],
        [res.successfulResults[1].sf__Id, false, true, 'two@example.com'],
      ],
    );
  });

  it('columnDelimiter PIPE + lineEnding CRLF: quoted delimiters and line breaks in values, results in the same dialect', async () => {
    const p = uniq('b2pipe');
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert', columnDelimiter: 'PIPE', lineEnding: 'CRLF' });
    const info = await job.open();
    assert.deepEqual([info.columnDelimiter, info.lineEnding, info.state], ['PIPE', 'CRLF', 'Open']);
    await job.uploadData(`Name|Description\r\n"${p}|one"|"two\r\nlines"\r\n${p}-two|plain\r\n`);
    await job.close();
    await job.poll(200, 30000);
    const res = await job.getAllResults();
    assert.deepEqual(
      res.successfulResults.map((r) => [r.sf__Created, r.Name, r.Description]),
      [['true', `${p}|one`, 'two\r\nlines'], ['true', `${p}-two`, 'plain']],
    );
    // the raw CSV (jsforce's getSuccessfulResults(true)): PIPE and CRLF, the header echoed as uploaded
    const raw = await job.getSuccessfulResults(true);
    const [id1, id2] = res.successfulResults.map((r) => r.sf__Id);
    assert.equal(raw, `"sf__Id"|"sf__Created"|Name|Description\r\n"${id1}"|"true"|"${p}|one"|"two\r\nlines"\r\n"${id2}"|"true"|"${p}-two"|"plain"\r\n`);
    const rows = await soql(`SELECT Name, Description FROM Account WHERE Id = '${id1}'`);
    assert.deepEqual([rows[0].Name, rows[0].Description], [`${p}|one`, 'two\r\nlines']);
  });

  it('upsert by External_Id__c: first run inserts (sf__Created "true"), second updates one and inserts one', async () => {
    const p = uniq('b2up');
    const first = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'upsert',
      externalIdFieldName: 'External_Id__c',
      input: csv('External_Id__c,Name', [`${p}-x1,${p}-one`, `${p}-x2,${p}-two`]),
    });
    assert.deepEqual(first.failedResults, []);
    assert.deepEqual(first.successfulResults.map((r) => [r.sf__Created, r.External_Id__c]), [['true', `${p}-x1`], ['true', `${p}-x2`]]);
    const [id1] = first.successfulResults.map((r) => r.sf__Id);

    // records this time: jsforce puts an (empty) Id column first for upsert
    const second = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'upsert',
      externalIdFieldName: 'External_Id__c',
      input: [{ External_Id__c: `${p}-x1`, Name: `${p}-one-renamed` }, { External_Id__c: `${p}-x3`, Name: `${p}-three` }],
    });
    assert.deepEqual(second.failedResults, [], JSON.stringify(second.failedResults));
    assert.deepEqual(
      second.successfulResults.map((r) => Object.keys(r)),
      [['sf__Id', 'sf__Created', 'Id', 'External_Id__c', 'Name'], ['sf__Id', 'sf__Created', 'Id', 'External_Id__c', 'Name']],
    );
    const [u, ins] = second.successfulResults;
    assert.deepEqual([u.sf__Id, u.sf__Created], [id1, 'false'], 'the existing record is updated in place');
    assert.equal(ins.sf__Created, 'true');
    assert.match(ins.sf__Id, /^001\w{15}$/);

    const rows = await soql(`SELECT Id, Name, External_Id__c FROM Account WHERE External_Id__c LIKE '${p}-%' ORDER BY External_Id__c`);
    assert.deepEqual(
      rows.map((r) => [r.Id, r.Name, r.External_Id__c]),
      [
        [id1, `${p}-one-renamed`, `${p}-x1`],
        [first.successfulResults[1].sf__Id, `${p}-two`, `${p}-x2`],
        [ins.sf__Id, `${p}-three`, `${p}-x3`],
      ],
    );
  });

  it('insert Contacts with the parent looked up by external id (an Account.External_Id__c column)', async () => {
    const p = uniq('b2rel');
    const parent = await conn.sobject('Account').create({ Name: `${p}-parent`, External_Id__c: `${p}-px` });
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact',
      operation: 'insert',
      input: csv('LastName,Account.External_Id__c', [`${p}-kid,${p}-px`, `${p}-orphan,${p}-nope`]),
    });
    assert.deepEqual(res.successfulResults.map((r) => [r.sf__Created, r.LastName, r['Account.External_Id__c']]), [['true', `${p}-kid`, `${p}-px`]]);
    assert.equal(res.failedResults.length, 1);
    assert.equal(res.failedResults[0].LastName, `${p}-orphan`);
    assert.match(res.failedResults[0].sf__Error, /^INVALID_CROSS_REFERENCE_KEY:.*--$/, res.failedResults[0].sf__Error);
    const rows = await soql(`SELECT Id, AccountId FROM Contact WHERE LastName LIKE '${p}-%'`);
    assert.deepEqual(rows.map((r) => [r.Id, r.AccountId]), [[res.successfulResults[0].sf__Id, parent.id]]);
  });

  it('update: a changed field, a field nulled with #N/A, an id that does not exist in failedResults', async () => {
    const p = uniq('b2upd');
    const ins = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'insert',
      input: csv('Name,Phone,Industry', [`${p}-a,555-0111,Energy`, `${p}-b,555-0112,Energy`]),
    });
    const [idA, idB] = ins.successfulResults.map((r) => r.sf__Id);
    const missing = '001000000000000AAA';
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'update',
      input: [
        { Id: idA, Phone: '555-0999', Industry: null },
        { Id: idB, Phone: '555-0888', Industry: 'Banking' },
        { Id: missing, Phone: '555-0777', Industry: 'Banking' },
      ],
    });
    assert.deepEqual(
      res.successfulResults.map((r) => [r.sf__Id, r.sf__Created, r.Id, r.Phone, r.Industry]),
      [[idA, 'false', idA, '555-0999', '#N/A'], [idB, 'false', idB, '555-0888', 'Banking']],
    );
    assert.equal(res.failedResults.length, 1, JSON.stringify(res.failedResults));
    const f = res.failedResults[0];
    assert.deepEqual([f.sf__Id, f.Id, f.Phone], [missing, missing, '555-0777']);
    // CODE:message:fields --, or CODE:message:-- when no field is named.
    assert.match(f.sf__Error, /^[A-Z_]+:.+(:--| --)$/, `sf__Error is CODE:message:fields --: ${f.sf__Error}`);
    assert.deepEqual(res.unprocessedRecords, []);

    const rows = await soql(`SELECT Id, Phone, Industry FROM Account WHERE Name LIKE '${p}-%' ORDER BY Name`);
    assert.deepEqual(rows.map((r) => [r.Id, r.Phone, r.Industry]), [[idA, '555-0999', null], [idB, '555-0888', 'Banking']]);
  });

  it('delete, then hardDelete: queryAll still finds the soft-deleted record, not the hard-deleted one', async () => {
    const p = uniq('b2del');
    const ins = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'insert',
      input: csv('Name', [`${p}-soft`, `${p}-hard`, `${p}-kept`]),
    });
    const [soft, hard, kept] = ins.successfulResults.map((r) => r.sf__Id);

    // jsforce keeps only the Id column for delete/hardDelete, whatever else a record holds
    const del = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'delete', input: [{ Id: soft, Name: 'ignored' }] });
    assert.deepEqual(del.successfulResults, [{ sf__Id: soft, sf__Created: 'false', Id: soft }]);
    assert.deepEqual(del.failedResults, []);
    const hd = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'hardDelete', input: csv('Id', [hard]) });
    assert.deepEqual(hd.successfulResults, [{ sf__Id: hard, sf__Created: 'false', Id: hard }]);

    assert.deepEqual((await soql(`SELECT Id FROM Account WHERE Name LIKE '${p}-%'`)).map((r) => r.Id), [kept]);
    const all = await conn.query(`SELECT Id, IsDeleted FROM Account WHERE Name LIKE '${p}-%' ORDER BY Name`, { scanAll: true });
    assert.deepEqual(
      all.records.map((r) => [r.Id, r.IsDeleted]),
      [[kept, false], [soft, true]],
      'the soft-deleted record is in the recycle bin, the hard-deleted one is gone',
    );

    // deleting it again: a failed row
    const again = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'delete', input: csv('Id', [soft]) });
    assert.deepEqual(again.successfulResults, []);
    assert.equal(again.failedResults.length, 1);
    assert.equal(again.failedResults[0].sf__Id, soft);
    assert.match(again.failedResults[0].sf__Error, /^ENTITY_IS_DELETED:/, again.failedResults[0].sf__Error);
  });

  it('an empty upload: the job completes with three empty result sets', async () => {
    const res = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: '' });
    assert.deepEqual(res, { successfulResults: [], failedResults: [], unprocessedRecords: [] });
  });

  it('job info through jsforce: numberRecordsProcessed / numberRecordsFailed as numbers, then DELETE → NOT_FOUND', async () => {
    const p = uniq('b2info');
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    const opened = await job.open();
    assert.match(opened.id, /^750\w{15}$/);
    assert.deepEqual(
      [opened.object, opened.operation, opened.state, opened.contentType, opened.apiVersion, opened.concurrencyMode],
      ['Account', 'insert', 'Open', 'CSV', Number(API_VERSION), 'Parallel'],
    );
    assert.equal(opened.contentUrl, `services/data/v${API_VERSION}/jobs/ingest/${opened.id}/batches`);
    await job.uploadData(csv('Name', [`${p}-1`, '""', `${p}-3`]));
    await job.close();
    assert.notEqual(job.getInfo().state, 'Open', 'the close PATCH answers a state past Open');
    await job.poll(200, 30000);
    const info = await ingestJob(job.id).check();
    assert.equal(info.state, 'JobComplete');
    assert.equal(info.jobType, 'V2Ingest');
    assert.equal(info.numberRecordsProcessed, 3);
    assert.equal(info.numberRecordsFailed, 1);
    assert.equal('contentUrl' in info, false, 'no contentUrl once the job is closed');

    const listed = await conn.request(`${BASE}/jobs/ingest`);
    assert.equal(listed.done, true);
    assert.ok(listed.records.some((j) => j.id === job.id), 'GET /jobs/ingest lists the job');

    await job.delete();
    await assert.rejects(ingestJob(job.id).check(), (err) => {
      assert.equal(err.errorCode, 'NOT_FOUND');
      assert.equal(err.message, 'The requested resource does not exist');
      return true;
    });
  });
});

describe('bulk2 ingest errors as jsforce reports them', () => {
  it('an object that does not exist: loadAndWaitForResults throws the create error (INVALIDJOB)', async () => {
    await assert.rejects(
      conn.bulk2.loadAndWaitForResults({ object: 'No_Such_Thing__c', operation: 'insert', input: csv('Name', ['x']) }),
      (err) => {
        assert.equal(err.errorCode, 'INVALIDJOB', err.message);
        assert.equal(err.name, 'INVALIDJOB');
        assert.match(err.message, /No_Such_Thing__c/);
        return true;
      },
    );
  });

  it('upsert without externalIdFieldName is refused when the job is created', async () => {
    await assert.rejects(
      conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'upsert', input: csv('Name', ['x']) }),
      (err) => {
        assert.equal(err.errorCode, 'INVALIDJOB', err.message);
        assert.match(err.message, /External ID/i);
        return true;
      },
    );
  });

  it('a column the object lacks fails the job: poll throws "Ingest job failed to complete due to: …", nothing written', async () => {
    const p = uniq('b2badcol');
    await assert.rejects(
      conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: csv('Name,Not_A_Field__c', [`${p},1`]) }),
      (err) => {
        assert.match(err.message, /^Ingest job failed to complete due to: .*Not_A_Field__c/);
        return true;
      },
    );
    assert.deepEqual(await soql(`SELECT Id FROM Account WHERE Name = '${p}'`), []);
  });

  it('CRLF data in a job declared LF fails the job (ClientInputError), nothing written', async () => {
    const p = uniq('b2crlf');
    await assert.rejects(
      conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: `Name\r\n${p}-1\r\n${p}-2\r\n` }),
      { message: 'Ingest job failed to complete due to: ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF' },
    );
    assert.deepEqual(await soql(`SELECT Id FROM Account WHERE Name LIKE '${p}-%'`), []);
  });

  it('aborted before processing: poll throws "Job has been aborted", closing it is INVALIDJOBSTATE, its rows are unprocessed', async () => {
    const p = uniq('b2abort');
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    await job.uploadData(csv('Name', [`${p}-1`, `${p}-2`]));
    await job.abort();
    assert.equal(job.getInfo().state, 'Aborted');
    await assert.rejects(job.poll(200, 10000), { message: 'Job has been aborted' });
    await assert.rejects(job.close(), (err) => {
      assert.equal(err.errorCode, 'INVALIDJOBSTATE', err.message);
      return true;
    });
    const res = await job.getAllResults();
    assert.deepEqual(res, {
      successfulResults: [],
      failedResults: [],
      unprocessedRecords: [{ Name: `${p}-1` }, { Name: `${p}-2` }],
    });
    assert.deepEqual(await soql(`SELECT Id FROM Account WHERE Name LIKE '${p}-%'`), []);
  });

  it('aborted right after the close (UploadComplete): it stays Aborted, what ran stays, the rest is unprocessed', async () => {
    const p = uniq('b2run');
    const n = 20000;
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    await job.uploadData(csv('Name', Array.from({ length: n }, (_, k) => `${p}-${k}`)));
    await job.close();
    await job.abort();
    assert.equal(job.getInfo().state, 'Aborted', 'the abort PATCH answers Aborted');
    await assert.rejects(job.poll(200, 10000), { message: 'Job has been aborted' });
    // Aborted is terminal: give a worker that would ignore the abort time to show it
    // (20,000 rows take the server a few seconds).
    await new Promise((r) => setTimeout(r, 1500));
    const info = await ingestJob(job.id).check();
    assert.equal(info.state, 'Aborted', `the job stays Aborted (now ${info.state}, ${info.numberRecordsProcessed} processed)`);
    assert.ok(info.numberRecordsProcessed < n, `aborted before the end (${info.numberRecordsProcessed} of ${n} processed)`);
    assert.equal(info.numberRecordsProcessed % 200, 0, 'whole chunks of 200 ran');
    const res = await job.getAllResults();
    assert.equal(res.successfulResults.length, info.numberRecordsProcessed);
    assert.equal(res.failedResults.length, 0);
    assert.equal(res.unprocessedRecords.length, n - info.numberRecordsProcessed);
    // exactly the rows that ran were written, and the unprocessed ones are the rest, in order
    const written = await soql(`SELECT Id FROM Account WHERE Name LIKE '${p}-%'`);
    assert.equal(written.length, info.numberRecordsProcessed);
    assert.deepEqual(
      res.unprocessedRecords.map((r) => r.Name),
      Array.from({ length: n - info.numberRecordsProcessed }, (_, k) => `${p}-${k + info.numberRecordsProcessed}`),
    );
  });

  it('a query job aborted after it was created: poll throws "Job has been aborted", it stays Aborted', async () => {
    // A small query finishes in milliseconds here; Salesforce takes seconds. A server whose
    // jobs wait a second before starting gives the abort its window, as Salesforce does.
    const cfg = path.join(os.tmpdir(), `forcebus-bulk2-delay-${process.pid}.toml`);
    fs.writeFileSync(cfg, `bulk_processing_delay_ms = 1000\n${fs.readFileSync(CONFIG, 'utf8')}`);
    const slow = await startServer('bulk2-delay', { config: cfg });
    const slowConn = new jsforce.Connection({ instanceUrl: slow.baseUrl, accessToken: slow.info.access_token, version: API_VERSION });
    try {
      await abortQueryJob(slowConn);
    } finally {
      await slow.stop();
      fs.rmSync(cfg, { force: true });
    }
  });

  async function abortQueryJob(conn) {
    const job = new QueryJobV2(conn, {
      bodyParams: { operation: 'query', query: 'SELECT Id, Name FROM Account' },
      pollingOptions: { pollInterval: 200, pollTimeout: 10000 },
    });
    const opened = await job.open();
    assert.deepEqual([opened.state, opened.operation, opened.object, opened.jobType], ['UploadComplete', 'query', 'Account', 'V2Query']);
    const aborted = await job.abort();
    assert.equal(aborted.state, 'Aborted');
    await assert.rejects(job.poll(), { message: 'Job has been aborted' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await job.check()).state, 'Aborted');
  }

  it('a revoked token: the 401 INVALID_SESSION_ID makes jsforce log in again and the job goes through', async () => {
    const c = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
    await c.login(srv.info.username, srv.info.password);
    c.bulk2.pollInterval = 200;
    const old = c.accessToken;
    await revokeToken(srv, old);
    const p = uniq('b2revoke');
    const res = await c.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: csv('Name', [p]) });
    assert.equal(res.successfulResults.length, 1);
    assert.notEqual(c.accessToken, old, 'jsforce got a new session');
    const rows = await (await c.bulk2.query(`SELECT Name FROM Account WHERE Name = '${p}'`)).toArray();
    assert.deepEqual(rows, [{ Name: p }]);
  });

  it('results of a job still Open are refused', async () => {
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    await assert.rejects(job.poll(200, 5000), /Job is still open/);
    await assert.rejects(job.getSuccessfulResults(), (err) => {
      assert.match(err.message, /INVALIDJOBSTATE/);
      return true;
    });
    await job.abort();
  });
});

/**
 * A pass-through proxy in front of the server that records each request and, when
 * `maxRecords` is set, appends `maxRecords=N` to GET .../jobs/query/{id}/results — what
 * Salesforce's own choice of a smaller page would look like to jsforce, which has no
 * option to ask for one.
 */
function startProxy(target, { maxRecords } = {}) {
  const calls = [];
  const server = http.createServer((req, res) => {
    let url = req.url;
    if (maxRecords && /\/jobs\/query\/\w+\/results/.test(url)) {
      url += `${url.includes('?') ? '&' : '?'}maxRecords=${maxRecords}`;
    }
    const call = { method: req.method, url };
    calls.push(call);
    const up = http.request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: url, headers: req.headers },
      (r) => {
        call.status = r.statusCode;
        call.locator = r.headers['sforce-locator'];
        call.records = r.headers['sforce-numberofrecords'];
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server, calls, url: `http://127.0.0.1:${server.address().port}`,
  })));
}

describe('bulk2.query', () => {
  const N = 3000;
  const P = 'B2Q';
  const qname = (i) => `${P}-${String(i).padStart(5, '0')}`;
  const ids = [];
  const Q = `SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '${P}-%' ORDER BY Name`;

  before(async () => {
    // seeded through one bulk insert job (15 chunks of 200)
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'insert',
      input: csv('Name,NumberOfEmployees', Array.from({ length: N }, (_, k) => `${qname(k + 1)},${k}`)),
    });
    assert.equal(res.successfulResults.length, N);
    assert.deepEqual(res.failedResults, []);
    for (const r of res.successfulResults) ids.push(r.sf__Id);
  });

  it('query: 3,000 rows (one page at the server default) as records of strings, in ORDER BY order', async () => {
    const stream = await conn.bulk2.query(Q);
    const records = await stream.toArray();
    assert.equal(records.length, N);
    assert.deepEqual(Object.keys(records[0]), ['Id', 'Name', 'NumberOfEmployees']);
    assert.deepEqual(records.map((r) => r.Id), ids);
    assert.deepEqual(records[0], { Id: ids[0], Name: qname(1), NumberOfEmployees: '0' });
    assert.deepEqual(records[N - 1], { Id: ids[N - 1], Name: qname(N), NumberOfEmployees: String(N - 1) });
  });

  it('query: jsforce follows Sforce-Locator across pages until "null" (pages of 500 through a proxy)', async () => {
    const proxy = await startProxy(srv, { maxRecords: 500 });
    try {
      const pconn = new jsforce.Connection({ instanceUrl: proxy.url, accessToken: conn.accessToken, version: API_VERSION });
      pconn.bulk2.pollInterval = 200;
      const records = await (await pconn.bulk2.query(Q)).toArray();
      const pages = proxy.calls.filter((c) => /\/results/.test(c.url));
      const jobId = /jobs\/query\/(\w+)\/results/.exec(pages[0].url)[1];
      // locators are opaque: each request carries the one the previous response sent
      assert.equal(pages.length, N / 500, JSON.stringify(pages));
      pages.forEach((c, k) => {
        const want = k === 0 ? '' : `?locator=${pages[k - 1].locator}`;
        assert.equal(c.url, `${BASE}/jobs/query/${jobId}/results${want}${want ? '&' : '?'}maxRecords=500`);
        assert.deepEqual([c.status, c.records], [200, '500']);
        if (k < N / 500 - 1) assert.ok(c.locator && c.locator !== 'null', `page ${k + 1} has a next locator`);
      });
      assert.equal(pages.at(-1).locator, 'null', 'the last page says "null"');
      // Every page starts with the header row (as Salesforce's do); jsforce 3.10 feeds the
      // pages into one CSV parser, so the header rows of pages 2.. come back as records.
      const headerRows = records.filter((r) => r.Id === 'Id');
      assert.deepEqual(headerRows, Array(N / 500 - 1).fill({ Id: 'Id', Name: 'Name', NumberOfEmployees: 'NumberOfEmployees' }));
      const data = records.filter((r) => r.Id !== 'Id');
      assert.deepEqual(data.map((r) => r.Id), ids, 'every row once, in order, across the pages');
    } finally {
      await new Promise((r) => proxy.server.close(r));
    }
  });

  it('queryAll (scanAll): deleted rows too, with IsDeleted', async () => {
    const gone = ids.slice(0, 3);
    const del = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'delete', input: csv('Id', gone) });
    assert.equal(del.successfulResults.length, 3);
    const q = `SELECT Id, IsDeleted FROM Account WHERE Name LIKE '${P}-%' ORDER BY Name`;
    const live = await (await conn.bulk2.query(q)).toArray();
    assert.equal(live.length, N - 3);
    assert.ok(live.every((r) => r.IsDeleted === 'false'));
    const all = await (await conn.bulk2.query(q, { scanAll: true })).toArray();
    assert.equal(all.length, N);
    assert.deepEqual(all.slice(0, 4).map((r) => [r.Id, r.IsDeleted]), [
      [gone[0], 'true'], [gone[1], 'true'], [gone[2], 'true'], [ids[3], 'false'],
    ]);
  });

  it('parent fields as dotted columns; an empty result is no records', async () => {
    const p = uniq('b2par');
    const acc = await conn.sobject('Account').create({ Name: `${p}-parent` });
    await conn.sobject('Contact').create({ LastName: `${p}-child`, AccountId: acc.id });
    const rows = await (await conn.bulk2.query(`SELECT LastName, Account.Name FROM Contact WHERE LastName = '${p}-child'`)).toArray();
    assert.deepEqual(rows, [{ LastName: `${p}-child`, 'Account.Name': `${p}-parent` }]);
    const none = await (await conn.bulk2.query(`SELECT Id FROM Account WHERE Name = '${p}-nobody'`)).toArray();
    assert.deepEqual(none, []);
  });

  it('a query Bulk API 2.0 cannot run is refused when the job is created', async () => {
    await assert.rejects(conn.bulk2.query('SELECT Id FROM No_Such_Thing__c'), (err) => {
      assert.ok(err.errorCode, `a coded error: ${err.message}`);
      assert.match(err.message, /No_Such_Thing__c/);
      return true;
    });
    await assert.rejects(conn.bulk2.query('SELECT COUNT() FROM Account'), (err) => {
      assert.ok(err.errorCode, `a coded error: ${err.message}`);
      return true;
    });
    await assert.rejects(conn.bulk2.query('SELECT Id, (SELECT Id FROM Contacts) FROM Account'), (err) => {
      assert.ok(err.errorCode, `a coded error: ${err.message}`);
      return true;
    });
    await assert.rejects(conn.bulk2.query('SELECT Id, TYPEOF Owner WHEN User THEN Name END FROM Account'), (err) => {
      assert.ok(err.errorCode, `a coded error: ${err.message}`);
      return true;
    });
  });

  it('a compound address field is refused too (Bulk API 2.0 does not select compound fields)', async () => {
    // Salesforce: "Bulk API 2.0 doesn't support queries that include ... compound address
    // fields or compound geolocation fields" (Understanding Bulk API 2.0 Query).
    let rows;
    await assert.rejects(
      (async () => {
        rows = await (await conn.bulk2.query('SELECT Id, BillingAddress FROM Account LIMIT 1')).toArray();
      })(),
      (err) => {
        assert.ok(err.errorCode, `a coded error: ${err.message}`);
        return true;
      },
      `the job ran and returned ${JSON.stringify(rows)}`,
    );
  });
});

describe('change events from bulk writes (jsforce streaming on /data/AccountChangeEvent)', () => {
  /** Subscribe from now on (-1); returns the received `data`s. */
  async function subscribe() {
    const received = [];
    const client = conn.streaming.createClient([new StreamingExtension.Replay(CHANNEL, -1)]);
    clients.push(client);
    await withTimeout(client.subscribe(CHANNEL, (d) => received.push(d)), `subscribe ${CHANNEL}`);
    return { client, received };
  }

  /** `datas` grouped by transactionKey, in arrival order. */
  function transactions(datas) {
    const byKey = new Map();
    for (const d of datas) {
      const k = d.payload.ChangeEventHeader.transactionKey;
      if (!byKey.has(k)) byKey.set(k, []);
      byKey.get(k).push(d);
    }
    return [...byKey.values()];
  }

  function checkTransaction(events, { changeType, userId }) {
    const hs = events.map((d) => d.payload.ChangeEventHeader);
    assert.deepEqual(hs.map((h) => h.sequenceNumber), hs.map((_, k) => k + 1), 'sequenceNumber 1..n within the transaction');
    for (const h of hs) {
      assert.equal(h.changeOrigin, `com/salesforce/api/bulkapi/${API_VERSION}`);
      assert.equal(h.changeType, changeType);
      assert.equal(h.entityName, 'Account');
      assert.equal(h.commitUser, userId);
      assert.equal(h.commitNumber, hs[0].commitNumber, 'one commitNumber per transaction');
      assert.equal(h.commitTimestamp, hs[0].commitTimestamp, 'one commitTimestamp per transaction');
    }
  }

  it('a bulk insert of 451 rows (one failing): one transaction per 200-row chunk, changeOrigin bulkapi', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { client, received } = await subscribe();
    const p = uniq('b2cdc');
    const rows = Array.from({ length: 451 }, (_, k) => (k === 300 ? ',555-0300' : `${p}-${k},555-${String(k).padStart(4, '0')}`));
    const res = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: csv('Name,Phone', rows) });
    assert.equal(res.successfulResults.length, 450);
    assert.equal(res.failedResults.length, 1);
    const ids = res.successfulResults.map((r) => r.sf__Id);
    const ours = () => received.filter((d) => ids.includes(d.payload.ChangeEventHeader.recordIds[0]));
    await waitUntil(() => ours().length >= 450, '450 CREATE events', { describe: () => `(${ours().length} so far)` });
    await settle();
    const events = ours();
    assert.equal(events.length, 450, 'one event per inserted record, none for the failed row');

    const txs = transactions(events);
    assert.deepEqual(txs.map((t) => t.length), [200, 199, 51], 'chunks of 200 upload rows: rows 1-200, 201-400 (one failed), 401-451');
    const userId = srv.info.user_id;
    for (const t of txs) checkTransaction(t, { changeType: 'CREATE', userId });
    assert.deepEqual(events.map((d) => d.payload.ChangeEventHeader.recordIds), ids.map((id) => [id]), 'events in row order, one id each');
    assert.deepEqual(events.map((d) => d.payload.Name), ids.map((_, k) => `${p}-${k < 300 ? k : k + 1}`));
    const commits = txs.map((t) => t[0].payload.ChangeEventHeader.commitNumber);
    assert.ok(commits[0] < commits[1] && commits[1] < commits[2], `chunks commit in order: ${commits}`);
    const replayIds = events.map((d) => d.event.replayId);
    assert.deepEqual(replayIds, [...replayIds].sort((a, b) => a - b), 'replay ids increase');
    await disconnectFaye(client);
  });

  it('Sforce-Call-Options client= (jsforce callOptions) is carried into changeOrigin', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { client, received } = await subscribe();
    const withClient = new jsforce.Connection({
      instanceUrl: srv.baseUrl, accessToken: conn.accessToken, version: API_VERSION, callOptions: { client: 'compatBulk' },
    });
    withClient.bulk2.pollInterval = 200;
    const p = uniq('b2client');
    const res = await withClient.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: csv('Name', [p]) });
    const id = res.successfulResults[0].sf__Id;
    const ev = await waitUntil(() => received.find((d) => d.payload.ChangeEventHeader.recordIds.includes(id)), 'the CREATE event');
    assert.equal(ev.payload.ChangeEventHeader.changeOrigin, `com/salesforce/api/bulkapi/${API_VERSION};client=compatBulk`);
    await disconnectFaye(client);
  });

  it('a bulk update of 250 records and a bulk delete: one transaction per chunk, bulkapi origin', { timeout: TEST_TIMEOUT_MS }, async () => {
    const p = uniq('b2cdcu');
    const ins = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'insert',
      input: csv('Name', Array.from({ length: 250 }, (_, k) => `${p}-${k}`)),
    });
    const ids = ins.successfulResults.map((r) => r.sf__Id);
    const { client, received } = await subscribe();
    await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'update', input: ids.map((Id) => ({ Id, Phone: '555-0250' })) });
    await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'delete', input: ids.slice(0, 5).map((Id) => ({ Id })) });
    const ours = (type) => received.filter((d) => d.payload.ChangeEventHeader.changeType === type
      && d.payload.ChangeEventHeader.recordIds.some((id) => ids.includes(id)));
    const covered = (type) => ours(type).flatMap((d) => d.payload.ChangeEventHeader.recordIds);
    await waitUntil(() => covered('UPDATE').length >= 250 && covered('DELETE').length >= 5, 'UPDATE and DELETE events',
      { describe: () => `(${covered('UPDATE').length} updated, ${covered('DELETE').length} deleted)` });
    await settle();

    const userId = srv.info.user_id;
    const updates = transactions(ours('UPDATE'));
    assert.equal(updates.length, 2, 'two chunks: 200 + 50 records');
    updates.forEach((t) => checkTransaction(t, { changeType: 'UPDATE', userId }));
    // identical updates within a transaction may be one event listing every id (merged)
    assert.deepEqual(updates.map((t) => t.flatMap((d) => d.payload.ChangeEventHeader.recordIds)), [ids.slice(0, 200), ids.slice(200)]);
    for (const d of ours('UPDATE')) {
      assert.equal(d.payload.Phone, '555-0250');
      assert.ok(d.payload.ChangeEventHeader.changedFields.includes('Phone'));
    }
    const deletes = transactions(ours('DELETE'));
    assert.equal(deletes.length, 1);
    checkTransaction(deletes[0], { changeType: 'DELETE', userId });
    assert.deepEqual(deletes[0].flatMap((d) => d.payload.ChangeEventHeader.recordIds), ids.slice(0, 5));
    await disconnectFaye(client);
  });
});

// The raw status of an ingest upload (jsforce reads the PUT's empty 201 body as success).
describe('PUT .../batches through jsforce', () => {
  it('a second upload to the same job is refused (INVALIDJOBSTATE); jsforce itself refuses a second uploadData', async () => {
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    await job.uploadData(csv('Name', [uniq('b2twice')]));
    await assert.rejects(job.uploadData(csv('Name', ['again'])), { message: 'Data can only be uploaded to a job once.' });
    const second = await rawRequest(srv, 'PUT', `${BASE}/jobs/ingest/${job.id}/batches`, {
      headers: { Authorization: `Bearer ${conn.accessToken}`, 'content-type': 'text/csv' },
      body: 'Name\nagain\n',
    });
    assert.equal(second.status, 400, second.text);
    assert.equal(second.json[0].errorCode, 'INVALIDJOBSTATE');
    await job.abort();
  });
});

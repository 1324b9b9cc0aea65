'use strict';
// The sf CLI's Bulk API 2.0 commands (plugin-data 5.1.7 with @jsforce/jsforce-node 3.12)
// against forcebus: `sf data import|upsert|update|delete bulk`, `sf data export bulk`,
// `sf data bulk results`, and the async form resumed with `sf data import resume` /
// `sf data export resume`.
//
// What they call (lib/bulkIngest.js, lib/bulkUtils.js, lib/commands/data/...): the ingest
// commands POST {base}/jobs/ingest (object, operation, lineEnding LF on Linux,
// columnDelimiter guessed from the file's first lines — COMMA for delete files —,
// externalIdFieldName for upsert), PUT the file to .../jobs/ingest/{id}/batches, PATCH
// {"state":"UploadComplete"} and, with --wait, GET the job every 5 s until a terminal state;
// a job with failed rows exits 1 (FailedRecordDetailsError). upsert and delete then GET
// the job and its successfulResults / failedResults / unprocessedrecords for their JSON.
// `export bulk` POSTs {base}/jobs/query, polls, then GETs .../results (undici, Bearer,
// no maxRecords) following Sforce-Locator until "null": csv appends each page without its
// first line, json parses each page and closes its array after numberRecordsProcessed
// rows. `bulk results` GETs the ingest job and writes the raw successfulResults /
// failedResults (/ unprocessedrecords when Aborted or Failed) bodies to files in the
// working directory. Bulk API 1.0 commands (`sf force data bulk ...`, `sf data resume`)
// are not covered.
//
// sf talks to the server through a recording pass-through proxy, so the tests assert the
// calls it made (none under /services/async, each answered 2xx); for the paging tests the
// proxy adds `maxRecords` to the results GETs, which sf never sends itself.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest, API_VERSION } = require('../../node/test/server');
const { runSf, runSfOk, explain, startRecordingProxy } = require('./sf');

let srv;
let token;
let home;
let proxy;
let proxyUrl;
const calls = []; // as startRecordingProxy records them
let maxRecords = null; // added to GET .../jobs/query/{id}/results when set

const sf = (args) => runSf(args, { home, instanceUrl: proxyUrl });
const sfOk = (args) => runSfOk(args, { home, instanceUrl: proxyUrl });

before(async () => {
  srv = await startServer('bulk', { prefix: 'sf' });
  token = srv.info.access_token;
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-home-'));
  // The paging tests add maxRecords to the results GETs, which sf never sends itself.
  const addMaxRecords = (url) =>
    maxRecords && /\/jobs\/query\/\w+\/results/.test(url)
      ? `${url}${url.includes('?') ? '&' : '?'}maxRecords=${maxRecords}`
      : url;
  proxy = await startRecordingProxy(srv, calls, addMaxRecords);
  proxyUrl = `http://127.0.0.1:${proxy.address().port}`;
});
after(async () => {
  if (proxy) await new Promise((r) => proxy.close(r));
  await srv?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});
beforeEach(() => {
  calls.length = 0;
  maxRecords = null;
});

/** Write `text` to `name` under HOME (sf's working directory); returns the name. */
function file(name, text) {
  fs.writeFileSync(path.join(home, name), text);
  return name;
}
const read = (name) => fs.readFileSync(path.join(home, name), 'utf8');

const JOBS = /^\/services\/data\/v\d+\.0\/jobs\/(ingest|query)(?:\/(750\w{15})(?:\/(\w+))?)?(?:\?.*)?$/;

/** The Bulk API calls sf made since the last reset, as "METHOD kind[/which]"; every one answered 2xx, none Bulk 1.0. */
function bulkCalls() {
  for (const c of calls) {
    assert.ok(!c.url.startsWith('/services/async'), `sf used Bulk API 1.0: ${c.method} ${c.url}`);
    assert.ok(c.status >= 200 && c.status < 300, `${c.method} ${c.url} answered ${c.status}\n${JSON.stringify(calls, null, 1)}`);
  }
  return calls.filter((c) => JOBS.test(c.url)).map((c) => {
    const [, kind, id, which] = JOBS.exec(c.url);
    return `${c.method} ${kind}${id ? '/{id}' : ''}${which ? `/${which}` : ''}`;
  });
}

/** The body of sf's POST /jobs/{kind} since the last reset. */
function createBody(kind) {
  const c = calls.find((x) => x.method === 'POST' && new RegExp(`/jobs/${kind}$`).test(x.url));
  assert.ok(c, `sf POSTed /jobs/${kind}: ${JSON.stringify(calls)}`);
  return c.body;
}

/** SOQL over REST with the access token (to check what a command wrote). */
async function soql(q, all = false) {
  const res = await rawRequest(srv, 'GET', `/services/data/v${API_VERSION}/${all ? 'queryAll' : 'query'}?q=${encodeURIComponent(q)}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, res.text);
  return res.json.records;
}

/** Drop what sf's multi-stage output draws; keep the lines of its last frame and its logs. */
const plain = (s) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\u200b/g, '');

/** Ingest calls of a synchronous command: create, upload, close, then polls of the job. */
function assertIngestFlow(got, { results = false } = {}) {
  assert.deepEqual(got.slice(0, 3), ['POST ingest', 'PUT ingest/{id}/batches', 'PATCH ingest/{id}'], got.join('\n'));
  const rest = got.slice(3);
  const polls = rest.filter((c) => c === 'GET ingest/{id}');
  assert.ok(polls.length >= 1, `sf polled the job: ${got.join(', ')}`);
  const others = rest.filter((c) => c !== 'GET ingest/{id}');
  assert.deepEqual(
    others.sort(),
    results ? ['GET ingest/{id}/failedResults', 'GET ingest/{id}/successfulResults', 'GET ingest/{id}/unprocessedrecords'] : [],
    got.join(', '),
  );
}

describe('sf data import bulk', () => {
  it('--file --sobject Account --wait: a job of 3 rows (quoted comma, UTF-8), the counts in --json', async () => {
    const csv = file('import.csv', 'Name,Phone,Description\nSfBulk-1,555-0101,plain\n"SfBulk-2, Inc.",555-0102,"quoted ""text"""\nSfBulk-3,,Zürich ✓\n');
    const result = await sfOk(['data', 'import', 'bulk', '--file', csv, '--sobject', 'Account', '--wait', '1', '-o', token]);
    assert.match(result.jobId, /^750\w{15}$/);
    assert.deepEqual(
      { ...result, jobId: undefined },
      { jobId: undefined, processedRecords: 3, successfulRecords: 3, failedRecords: 0 },
    );
    assertIngestFlow(bulkCalls());
    assert.deepEqual(createBody('ingest'), { object: 'Account', operation: 'insert', lineEnding: 'LF', columnDelimiter: 'COMMA' });

    const rows = await soql("SELECT Name, Phone, Description FROM Account WHERE Name LIKE 'SfBulk-%' ORDER BY Name");
    assert.deepEqual(rows.map((r) => [r.Name, r.Phone, r.Description]), [
      ['SfBulk-1', '555-0101', 'plain'],
      ['SfBulk-2, Inc.', '555-0102', 'quoted "text"'],
      ['SfBulk-3', null, 'Zürich ✓'],
    ]);
  });

  it('a semicolon-separated file: sf guesses SEMICOLON and the server splits on it', async () => {
    const csv = file('semi.csv', 'Name;NumberOfEmployees;Description\nSfSemi-1;10;a,b\nSfSemi-2;20;"x;y"\n');
    const result = await sfOk(['data', 'import', 'bulk', '--file', csv, '--sobject', 'Account', '--wait', '1', '-o', token]);
    assert.equal(result.successfulRecords, 2);
    assert.equal(createBody('ingest').columnDelimiter, 'SEMICOLON');
    const rows = await soql("SELECT Name, NumberOfEmployees, Description FROM Account WHERE Name LIKE 'SfSemi-%' ORDER BY Name");
    assert.deepEqual(rows.map((r) => [r.Name, r.NumberOfEmployees, r.Description]), [['SfSemi-1', 10, 'a,b'], ['SfSemi-2', 20, 'x;y']]);
  });

  it('a row failing: exit 1 with FailedRecordDetailsError, then sf data bulk results writes the result files', async () => {
    const csv = file('failing.csv', 'Name,Phone\nSfFail-1,555-0201\n,555-0202\nSfFail-3,555-0203\n');
    const res = await sf(['data', 'import', 'bulk', '--file', csv, '--sobject', 'Account', '--wait', '1', '-o', token, '--json']);
    assert.equal(res.code, 1, explain(res));
    assert.equal(res.json.name, 'FailedRecordDetailsError', explain(res));
    assert.equal(res.json.message, 'Job finished being processed but failed to process 1 records.');
    const { jobId } = res.json.data;
    assert.match(jobId, /^750\w{15}$/);
    assert.equal(res.json.data.state, 'JobComplete');
    assert.ok(res.json.actions.some((a) => a.includes(`sf data bulk results`) && a.includes(jobId)), JSON.stringify(res.json.actions));

    calls.length = 0;
    const results = await sfOk(['data', 'bulk', 'results', '--job-id', jobId, '-o', token]);
    assert.deepEqual(bulkCalls().sort(), ['GET ingest/{id}', 'GET ingest/{id}/failedResults', 'GET ingest/{id}/successfulResults']);
    assert.deepEqual(results, {
      processedRecords: 3,
      successfulRecords: 2,
      failedRecords: 1,
      status: 'JobComplete',
      operation: 'insert',
      object: 'Account',
      successFilePath: `${jobId}-success-records.csv`,
      failedFilePath: `${jobId}-failed-records.csv`,
    });
    const ids = (await soql("SELECT Id FROM Account WHERE Name LIKE 'SfFail-%' ORDER BY Name")).map((r) => r.Id);
    assert.equal(ids.length, 2);
    assert.equal(read(`${jobId}-success-records.csv`),
      `"sf__Id","sf__Created",Name,Phone\n"${ids[0]}","true","SfFail-1","555-0201"\n"${ids[1]}","true","SfFail-3","555-0203"\n`);
    assert.equal(read(`${jobId}-failed-records.csv`),
      '"sf__Id","sf__Error",Name,Phone\n"","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --","","555-0202"\n');

    // and what it prints without --json
    const human = await sf(['data', 'bulk', 'results', '--job-id', jobId, '-o', token]);
    assert.equal(human.code, 0, explain(human));
    const out = plain(human.stdout);
    for (const line of ['Status: JobComplete', 'Operation: insert', 'Object: Account', 'Processed records: 3', 'Failed records: 1',
      'Successful records: 2', `Saved successful results to ${jobId}-success-records.csv`, `Saved failed results to ${jobId}-failed-records.csv`]) {
      assert.ok(out.includes(line), `prints "${line}":\n${out}`);
    }
  });

  it('a column Account lacks fails the job: JobFailedError with the job errorMessage; an unknown sobject: the create error', async () => {
    const res = await sf(['data', 'import', 'bulk', '--file', file('badcol.csv', 'Name,Not_A_Field__c\nSfBadCol,1\n'),
      '--sobject', 'Account', '--wait', '1', '-o', token, '--json']);
    assert.equal(res.code, 1, explain(res));
    assert.equal(res.json.name, 'JobFailedError', explain(res));
    assert.match(res.json.message, /^Job failed to be processed due to:\n\n.*Not_A_Field__c/, res.json.message);
    const [jobId] = /750\w{15}/.exec(res.json.actions.join(' '));
    const failed = await rawRequest(srv, 'GET', `/services/data/v${API_VERSION}/jobs/ingest/${jobId}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.deepEqual([failed.json.state, failed.json.numberRecordsProcessed], ['Failed', 0]);
    assert.equal(res.json.message, `Job failed to be processed due to:\n\n${failed.json.errorMessage}`);
    assert.deepEqual(await soql("SELECT Id FROM Account WHERE Name = 'SfBadCol'"), []);

    const unknown = await sf(['data', 'import', 'bulk', '--file', file('unknown.csv', 'Name\nx\n'),
      '--sobject', 'No_Such_Thing__c', '--wait', '1', '-o', token, '--json']);
    assert.equal(unknown.code, 1, explain(unknown));
    assert.equal(unknown.json.name, unknown.json.data?.errorCode, explain(unknown));
    assert.match(unknown.json.message, /No_Such_Thing__c/);
  });

  it('sf data bulk results for a job id the org does not have: InvalidIdError', async () => {
    const res = await sf(['data', 'bulk', 'results', '--job-id', '750000000000000AAA', '-o', token, '--json']);
    assert.equal(res.code, 1, explain(res));
    assert.equal(res.json.name, 'InvalidIdError', explain(res));
    assert.equal(res.json.message, "Can't find a bulk job with ID 750000000000000AAA.");
  });

  it('without --wait: the job id, then sf data import resume --job-id polls it to the end', async () => {
    const csv = file('async.csv', 'Name\nSfAsync-1\nSfAsync-2\n');
    const started = await sfOk(['data', 'import', 'bulk', '--file', csv, '--sobject', 'Account', '-o', token]);
    assert.deepEqual(Object.keys(started), ['jobId']);
    assert.deepEqual(bulkCalls(), ['POST ingest', 'PUT ingest/{id}/batches', 'PATCH ingest/{id}']);
    calls.length = 0;
    const resumed = await sfOk(['data', 'import', 'resume', '--job-id', started.jobId, '--wait', '1']);
    assert.deepEqual(resumed, { jobId: started.jobId, processedRecords: 2, successfulRecords: 2, failedRecords: 0 });
    assert.ok(bulkCalls().every((c) => c === 'GET ingest/{id}'), calls.map((c) => c.url).join('\n'));
    assert.equal((await soql("SELECT Id FROM Account WHERE Name LIKE 'SfAsync-%'")).length, 2);
  });
});

describe('sf data upsert / update / delete bulk', () => {
  it('upsert --external-id External_Id__c: inserts, then updates by the external id', async () => {
    const first = await sfOk(['data', 'upsert', 'bulk', '--file', file('up1.csv', 'External_Id__c,Name\nSFX-1,SfUp-one\nSFX-2,SfUp-two\n'),
      '--sobject', 'Account', '--external-id', 'External_Id__c', '--wait', '1', '-o', token]);
    assertIngestFlow(bulkCalls(), { results: true });
    assert.deepEqual(createBody('ingest'), {
      object: 'Account', operation: 'upsert', lineEnding: 'LF', externalIdFieldName: 'External_Id__c', columnDelimiter: 'COMMA',
    });
    assert.deepEqual(
      [first.jobInfo.state, first.jobInfo.operation, first.jobInfo.object, first.jobInfo.externalIdFieldName,
        first.jobInfo.numberRecordsProcessed, first.jobInfo.numberRecordsFailed],
      ['JobComplete', 'upsert', 'Account', 'External_Id__c', 2, 0],
    );
    assert.deepEqual(first.records.successfulResults.map((r) => [r.sf__Created, r.External_Id__c, r.Name]),
      [['true', 'SFX-1', 'SfUp-one'], ['true', 'SFX-2', 'SfUp-two']]);
    assert.deepEqual([first.records.failedResults, first.records.unprocessedRecords], [[], []]);
    const id1 = first.records.successfulResults[0].sf__Id;

    calls.length = 0;
    const second = await sfOk(['data', 'upsert', 'bulk', '--file', file('up2.csv', 'External_Id__c,Name\nSFX-1,SfUp-one-renamed\nSFX-3,SfUp-three\n'),
      '--sobject', 'Account', '--external-id', 'External_Id__c', '--wait', '1', '-o', token]);
    assert.deepEqual(second.records.successfulResults.map((r) => [r.sf__Id === id1, r.sf__Created, r.External_Id__c]),
      [[true, 'false', 'SFX-1'], [false, 'true', 'SFX-3']]);
    const rows = await soql("SELECT Name, External_Id__c FROM Account WHERE External_Id__c LIKE 'SFX-%' ORDER BY External_Id__c");
    assert.deepEqual(rows.map((r) => [r.External_Id__c, r.Name]), [['SFX-1', 'SfUp-one-renamed'], ['SFX-2', 'SfUp-two'], ['SFX-3', 'SfUp-three']]);
  });

  it('update bulk: the counts, and the fields changed (#N/A nulls one)', async () => {
    const made = await sfOk(['data', 'import', 'bulk', '--file', file('forupd.csv', 'Name,Industry\nSfUpd-1,Energy\nSfUpd-2,Energy\n'),
      '--sobject', 'Account', '--wait', '1', '-o', token]);
    assert.equal(made.successfulRecords, 2);
    const [a, b] = (await soql("SELECT Id FROM Account WHERE Name LIKE 'SfUpd-%' ORDER BY Name")).map((r) => r.Id);
    calls.length = 0;
    const result = await sfOk(['data', 'update', 'bulk', '--file', file('upd.csv', `Id,Industry,Phone\n${a},#N/A,555-0301\n${b},Banking,\n`),
      '--sobject', 'Account', '--wait', '1', '-o', token]);
    assertIngestFlow(bulkCalls());
    assert.equal(createBody('ingest').operation, 'update');
    assert.deepEqual({ ...result, jobId: undefined }, { jobId: undefined, processedRecords: 2, successfulRecords: 2, failedRecords: 0 });
    const rows = await soql("SELECT Id, Industry, Phone FROM Account WHERE Name LIKE 'SfUpd-%' ORDER BY Name");
    assert.deepEqual(rows.map((r) => [r.Id, r.Industry, r.Phone]), [[a, null, '555-0301'], [b, 'Banking', null]]);
  });

  it('delete bulk, then delete bulk --hard-delete: the job info and results in --json', async () => {
    await sfOk(['data', 'import', 'bulk', '--file', file('fordel.csv', 'Name\nSfDel-soft\nSfDel-hard\nSfDel-kept\n'),
      '--sobject', 'Account', '--wait', '1', '-o', token]);
    const [hard, kept, soft] = (await soql("SELECT Id FROM Account WHERE Name LIKE 'SfDel-%' ORDER BY Name")).map((r) => r.Id);
    calls.length = 0;
    const del = await sfOk(['data', 'delete', 'bulk', '--file', file('del.csv', `Id\n${soft}\n`), '--sobject', 'Account', '--wait', '1', '-o', token]);
    assertIngestFlow(bulkCalls(), { results: true });
    assert.deepEqual(createBody('ingest'), { object: 'Account', operation: 'delete', lineEnding: 'LF', columnDelimiter: 'COMMA' });
    assert.deepEqual([del.jobInfo.operation, del.jobInfo.state, del.jobInfo.numberRecordsProcessed], ['delete', 'JobComplete', 1]);
    assert.deepEqual(del.records, {
      successfulResults: [{ sf__Id: soft, sf__Created: 'false', Id: soft }], failedResults: [], unprocessedRecords: [],
    });

    calls.length = 0;
    const hd = await sfOk(['data', 'delete', 'bulk', '--hard-delete', '--file', file('hdel.csv', `Id\n${hard}\n`), '--sobject', 'Account', '--wait', '1', '-o', token]);
    assert.equal(createBody('ingest').operation, 'hardDelete');
    assert.deepEqual([hd.jobInfo.operation, hd.jobInfo.state], ['hardDelete', 'JobComplete']);
    assert.deepEqual(hd.records.successfulResults, [{ sf__Id: hard, sf__Created: 'false', Id: hard }]);

    assert.deepEqual((await soql("SELECT Id FROM Account WHERE Name LIKE 'SfDel-%'")).map((r) => r.Id), [kept]);
    assert.deepEqual(
      (await soql("SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'SfDel-%' ORDER BY Name", true)).map((r) => [r.Id, r.IsDeleted]),
      [[kept, false], [soft, true]],
    );
  });
});

describe('sf data export bulk', () => {
  let ids; // SfExp-0001.. in Name order
  const N = 2500;
  const Q = "SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE 'SfExp-%' ORDER BY Name";
  const name = (i) => `SfExp-${String(i).padStart(4, '0')}`;

  before(async () => {
    const rows = Array.from({ length: N }, (_, k) => `${name(k + 1)},${k + 1}`);
    const result = await sfOk(['data', 'import', 'bulk', '--file', file('seed.csv', `Name,NumberOfEmployees\n${rows.join('\n')}\n`),
      '--sobject', 'Account', '--wait', '1', '-o', token]);
    assert.equal(result.successfulRecords, N);
    const res = await rawRequest(srv, 'GET', `/services/data/v${API_VERSION}/query?q=${encodeURIComponent(Q)}`, {
      headers: { Authorization: `Bearer ${token}`, 'Sforce-Query-Options': 'batchSize=2000' },
    });
    ids = res.json.records.map((r) => r.Id);
    let next = res.json.nextRecordsUrl;
    while (next) {
      const more = await rawRequest(srv, 'GET', next, { headers: { Authorization: `Bearer ${token}` } });
      ids.push(...more.json.records.map((r) => r.Id));
      next = more.json.nextRecordsUrl;
    }
    assert.equal(ids.length, N);
  });

  const csvRow = (k) => `"${ids[k]}","${name(k + 1)}","${k + 1}"`;

  it('--result-format csv: the header and every row, quoted, as the server wrote them', async () => {
    const result = await sfOk(['data', 'export', 'bulk', '--query', Q, '--output-file', 'export.csv', '--result-format', 'csv', '--wait', '1', '-o', token]);
    assert.deepEqual(result, { totalSize: N, filePath: 'export.csv' });
    const got = bulkCalls();
    assert.equal(got[0], 'POST query');
    assert.deepEqual(got.filter((c) => c !== 'GET query/{id}').slice(1), ['GET query/{id}/results']);
    assert.deepEqual(createBody('query'), { query: Q, operation: 'query', lineEnding: 'LF' });
    assert.equal(read('export.csv'), `"Id","Name","NumberOfEmployees"\n${ids.map((_, k) => csvRow(k)).join('\n')}\n`);
  });

  it('--result-format json: an array of row objects (string values)', async () => {
    const result = await sfOk(['data', 'export', 'bulk', '--query', Q, '--output-file', 'export.json', '--result-format', 'json', '--wait', '1', '-o', token]);
    assert.deepEqual(result, { totalSize: N, filePath: 'export.json' });
    const rows = JSON.parse(read('export.json'));
    assert.equal(rows.length, N);
    assert.deepEqual(rows[0], { Id: ids[0], Name: name(1), NumberOfEmployees: '1' });
    assert.deepEqual(rows.map((r) => r.Id), ids);
  });

  it('paged (the proxy adds maxRecords=1000): csv keeps one header, json one array, rows in order', async () => {
    maxRecords = 1000;
    const c = await sfOk(['data', 'export', 'bulk', '--query', Q, '--output-file', 'paged.csv', '--wait', '1', '-o', token]);
    assert.equal(c.totalSize, N);
    const pages = calls.filter((x) => /\/results/.test(x.url));
    assert.deepEqual(pages.map((p) => p.records), ['1000', '1000', '500']);
    pages.forEach((p, k) => {
      if (k > 0) assert.ok(p.url.includes(`locator=${pages[k - 1].locator}`), `page ${k + 1} asks for the previous page's locator: ${p.url}`);
    });
    assert.equal(pages.at(-1).locator, 'null');
    assert.equal(read('paged.csv'), `"Id","Name","NumberOfEmployees"\n${ids.map((_, k) => csvRow(k)).join('\n')}\n`);

    calls.length = 0;
    const j = await sfOk(['data', 'export', 'bulk', '--query', Q, '--output-file', 'paged.json', '--result-format', 'json', '--wait', '1', '-o', token]);
    assert.equal(j.totalSize, N);
    assert.equal(calls.filter((x) => /\/results/.test(x.url)).length, 3);
    assert.deepEqual(JSON.parse(read('paged.json')).map((r) => r.Id), ids);
  });

  it('--column-delimiter SEMICOLON, and --all-rows (queryAll) with a deleted row', async () => {
    const q = "SELECT Name, Description FROM Account WHERE Name LIKE 'SfSemi-%' ORDER BY Name";
    const r = await sfOk(['data', 'export', 'bulk', '--query', q, '--output-file', 'semi-out.csv', '--column-delimiter', 'SEMICOLON', '--wait', '1', '-o', token]);
    assert.equal(r.totalSize, 2);
    assert.equal(createBody('query').columnDelimiter, 'SEMICOLON');
    assert.equal(read('semi-out.csv'), '"Name";"Description"\n"SfSemi-1";"a,b"\n"SfSemi-2";"x;y"\n');

    calls.length = 0;
    const all = await sfOk(['data', 'export', 'bulk', '--query', "SELECT Id, Name, IsDeleted FROM Account WHERE Name LIKE 'SfDel-%' ORDER BY Name",
      '--all-rows', '--output-file', 'all.json', '--result-format', 'json', '--wait', '1', '-o', token]);
    assert.equal(createBody('query').operation, 'queryAll');
    assert.equal(all.totalSize, 2);
    assert.deepEqual(JSON.parse(read('all.json')).map((x) => [x.Name, x.IsDeleted]), [['SfDel-kept', 'false'], ['SfDel-soft', 'true']]);
  });

  it('without --wait: the job id, then sf data export resume --job-id writes the file', async () => {
    const started = await sfOk(['data', 'export', 'bulk', '--query', "SELECT Name FROM Account WHERE Name LIKE 'SfAsync-%' ORDER BY Name",
      '--output-file', 'resumed.csv', '-o', token]);
    assert.match(started.jobId, /^750\w{15}$/);
    assert.deepEqual(bulkCalls(), ['POST query']);
    const resumed = await sfOk(['data', 'export', 'resume', '--job-id', started.jobId]);
    assert.deepEqual(resumed, { totalSize: 2, filePath: 'resumed.csv' });
    assert.equal(read('resumed.csv'), '"Name"\n"SfAsync-1"\n"SfAsync-2"\n');
  });

  it('a query Bulk API 2.0 refuses: sf exits with the server error', async () => {
    const res = await sf(['data', 'export', 'bulk', '--query', 'SELECT Id FROM No_Such_Thing__c', '--output-file', 'bad.csv', '--wait', '1', '-o', token, '--json']);
    assert.notEqual(res.code, 0, explain(res));
    assert.match(res.json.message, /No_Such_Thing__c/, explain(res));
    assert.equal(fs.existsSync(path.join(home, 'bad.csv')), false);
  });
});

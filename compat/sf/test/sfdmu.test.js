'use strict';
// SFDMU (the SFDX Data Move Utility, npm `sfdmu` 3.7.19, the version the npm registry
// serves) run as `sf sfdmu run` against forcebus: CSV files to an org (Insert, Upsert,
// Update, Delete, with Contact.AccountId looked up by Account.Name or by
// Account.External_Id__c), an org to CSV files, one org to another (a second org made
// through /forcebus/v1/orgs), its Bulk API choices (`bulkThreshold`, `bulkApiVersion`
// "2.0" and "1.0", `apiVersion`) and `deleteOldData`.
//
// How the plugin gets into sf: compat/sf installs `sfdmu` beside @salesforce/cli, and the
// test's fresh HOME links it with `sf plugins link <node_modules/sfdmu> --no-install`,
// the plugin's dependencies coming from compat/sf/node_modules.
//
// How SFDMU 3.7.19 connects: an org named by --sourceusername / --targetusername is looked
// up in export.json's `orgs` section (name, instanceUrl, accessToken) first; only an org not
// listed there is asked of the CLI, by running `sfdx force:org:display --targetusername X`
// and reading its plain-text table (lines starting "Access Token", "Instance Url", ...).
// sf 2.x prints that table boxed and with the token redacted, so that path fails (the last
// test); every other test gives the token in `orgs`.
//
// What it calls, as the recording proxy sees it (lib/modules/components/...): GET
// {instance}/services/data/v{apiVersion} and the identity URL, `SELECT IsPersonAccount
// FROM Account LIMIT 1` (an INVALID_FIELD answer means no person accounts), `SELECT
// QualifiedApiName, Label FROM EntityDefinition ...` on the data API (errors ignored;
// it matches the object names of export.json against that list without regard to case),
// each object's describe, `SELECT COUNT(Id) CNT FROM X` and the object's query (with
// the parent's external id added, e.g. `Account.External_Id__c`) to match source and
// target records; then below `bulkThreshold` records `/composite/sobjects` (POST insert,
// PATCH update, DELETE ?ids=), at or above it a Bulk API 2.0 ingest job (POST
// /jobs/ingest, PUT .../batches, PATCH UploadComplete, GET the job, successfulResults,
// failedResults, unprocessedrecords: every job URL after the create ends in "/") or, with
// bulkApiVersion "1.0", a Bulk API 1.0 job (/services/async/{v}/job, one CSV batch,
// polled, then its result). Each run writes what it sent, with an `Errors` column, to
// target/{Object}_{operation}_target.csv beside export.json.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest } = require('../../node/test/server');
const { runSf, explain, startRecordingProxy } = require('./sf');

const SF_MODULES = path.resolve(__dirname, '..', 'node_modules');
const SFDMU_ROOT = path.join(SF_MODULES, 'sfdmu');

let srv;
let home;
let proxy;
let proxyUrl;
let second; // an org made through /forcebus/v1/orgs: the org-to-org target
let bulk; // another one for the Bulk API runs
const calls = []; // as startRecordingProxy records them
const lines = () => calls.map((c) => `${c.line} -> ${c.status}`).join('\n');

/** The orgs SFDMU may use, each under its username, all through the proxy. */
function orgsSection() {
  return [srv.info, second, bulk].map((o) => ({
    name: o.username,
    instanceUrl: proxyUrl,
    accessToken: o.access_token,
  }));
}

/**
 * A working directory under HOME with export.json (`script` plus the orgs section) and
 * the CSV files in `csv` ({ 'Account.csv': text }); returns its path.
 */
function job(name, script, csv = {}) {
  const dir = path.join(home, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'export.json'), JSON.stringify({ orgs: orgsSection(), ...script }, null, 2));
  for (const [file, text] of Object.entries(csv)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

/** `sf sfdmu run` in `dir`; returns sf's { code, stdout, stderr }. */
function sfdmu(dir, source, target, env = {}) {
  return runSf(
    ['sfdmu', 'run', '--sourceusername', source, '--targetusername', target, '--noprompt', '--path', dir],
    { home, env },
  );
}

/** `sf sfdmu run` that must succeed. */
async function sfdmuOk(dir, source, target) {
  const res = await sfdmu(dir, source, target);
  assert.equal(res.code, 0, explain(res));
  assert.match(res.stdout, /Command succeeded\./, explain(res));
  return res;
}

/** SOQL through the server (not the proxy) with an org's token; the records without attributes. */
async function soql(org, q, resource = 'query') {
  const res = await rawRequest(srv, 'GET', `/services/data/v59.0/${resource}?q=${encodeURIComponent(q)}`, {
    headers: { Authorization: `Bearer ${org.access_token}` },
  });
  assert.equal(res.status, 200, res.text);
  const strip = (r) => {
    const out = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === 'attributes') continue;
      out[k] = v && typeof v === 'object' && v.attributes ? strip(v) : v;
    }
    return out;
  };
  return res.json.records.map(strip);
}

const contactsOf = (org) =>
  soql(org, 'SELECT FirstName, LastName, Email, Account.Name, Account.External_Id__c FROM Contact ORDER BY Email');
const accountsOf = (org) => soql(org, 'SELECT Name, Industry, External_Id__c FROM Account ORDER BY External_Id__c');

/** The calls whose line matches `re`. */
const matching = (re) => calls.filter((c) => re.test(c.line));

/** Every write call the run made: REST collections, Bulk 2.0 ingest, Bulk 1.0. */
const writes = () =>
  calls
    .filter((c) => /\/composite\/sobjects|\/jobs\/ingest|\/services\/async\//.test(c.url))
    .map((c) => c.line.replace(/\?ids=.*/, '?ids=…').replace(/\b75[01]\w{15}\b/g, '{id}'));

const ACCOUNT_QUERY = 'SELECT Id, Name, Industry, External_Id__c FROM Account';
const CONTACT_QUERY = 'SELECT Id, FirstName, LastName, Email, AccountId FROM Contact';

before(async () => {
  srv = await startServer('sfdmu', { prefix: 'sf' });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-home-'));
  proxy = await startRecordingProxy(srv, calls);
  proxyUrl = `http://127.0.0.1:${proxy.address().port}`;
  const makeOrg = async (name) => {
    const res = await rawRequest(srv, 'POST', '/forcebus/v1/orgs', {
      headers: { Authorization: `Bearer ${srv.info.admin_key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    assert.equal(res.status, 201, res.text);
    return res.json;
  };
  second = await makeOrg('sfdmu-target');
  bulk = await makeOrg('sfdmu-bulk');
});
after(async () => {
  if (proxy) await new Promise((r) => proxy.close(r));
  await srv?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});
beforeEach(() => {
  calls.length = 0;
});

describe('sf sfdmu run (SFDMU 3.7.19)', () => {
  let firstRunCalls = [];

  it('sf plugins link puts the installed sfdmu into sf', async () => {
    const link = await runSf(['plugins', 'link', SFDMU_ROOT, '--no-install'], { home });
    assert.equal(link.code, 0, explain(link));
    const list = await runSf(['plugins', '--json'], { home });
    assert.equal(list.code, 0, explain(list));
    const plugin = JSON.parse(list.stdout).find((p) => p.name === 'sfdmu');
    assert.deepEqual(
      plugin && { name: plugin.name, version: plugin.version, type: plugin.type },
      { name: 'sfdmu', version: '3.7.19', type: 'link' },
    );
  });

  it('CSV → org, Insert: Contacts find their Account by Account.Name (REST collections)', async () => {
    const dir = job(
      'insert',
      {
        excludeIdsFromCSVFiles: true,
        objects: [
          { query: ACCOUNT_QUERY, operation: 'Insert', externalId: 'Name' },
          { query: CONTACT_QUERY, operation: 'Insert', externalId: 'LastName' },
        ],
      },
      {
        'Account.csv': 'Name,Industry,External_Id__c\nAcme,Energy,ACC-1\nGlobex,Banking,ACC-2\n',
        'Contact.csv':
          'FirstName,LastName,Email,Account.Name\nAda,Lovelace,ada@example.com,Acme\nAlan,Turing,alan@example.com,Globex\n',
      },
    );
    await sfdmuOk(dir, 'csvfile', srv.info.username);
    firstRunCalls = calls.slice();

    assert.deepEqual(await accountsOf(srv.info), [
      { Name: 'Acme', Industry: 'Energy', External_Id__c: 'ACC-1' },
      { Name: 'Globex', Industry: 'Banking', External_Id__c: 'ACC-2' },
    ]);
    assert.deepEqual(await contactsOf(srv.info), [
      { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com', Account: { Name: 'Acme', External_Id__c: 'ACC-1' } },
      { FirstName: 'Alan', LastName: 'Turing', Email: 'alan@example.com', Account: { Name: 'Globex', External_Id__c: 'ACC-2' } },
    ]);
    // two records each: under bulkThreshold (200), so one collection call per object
    assert.deepEqual(writes(), [
      'POST /services/data/v47.0/composite/sobjects',
      'POST /services/data/v47.0/composite/sobjects',
    ], lines());
    const [accounts, contacts] = matching(/composite\/sobjects/).map((c) => c.body);
    assert.equal(accounts.allOrNone, false);
    assert.deepEqual(accounts.records.map((r) => [r.attributes.type, r.Name]), [['Account', 'Acme'], ['Account', 'Globex']]);
    const acme = (await soql(srv.info, "SELECT Id FROM Account WHERE Name = 'Acme'"))[0].Id;
    assert.equal(contacts.records[0].AccountId, acme, 'SFDMU sends the Id the Account insert returned');
    for (const c of calls) {
      if (!/IsPersonAccount/.test(c.line)) assert.ok(c.status < 400, `${c.line} -> ${c.status}\n${lines()}`);
    }
  });

  it('CSV → org, Upsert on External_Id__c: Contacts by Account.External_Id__c, one updated and one made each', async () => {
    const acmeBefore = (await soql(srv.info, "SELECT Id FROM Account WHERE External_Id__c = 'ACC-1'"))[0].Id;
    const dir = job(
      'upsert',
      {
        excludeIdsFromCSVFiles: true,
        objects: [
          { query: ACCOUNT_QUERY, operation: 'Upsert', externalId: 'External_Id__c' },
          { query: CONTACT_QUERY, operation: 'Upsert', externalId: 'Email' },
        ],
      },
      {
        'Account.csv': 'Name,Industry,External_Id__c\nAcme Corp,Energy,ACC-1\nInitech,Technology,ACC-3\n',
        'Contact.csv':
          'FirstName,LastName,Email,Account.External_Id__c\nAda,Byron,ada@example.com,ACC-3\nGrace,Hopper,grace@example.com,ACC-1\n',
      },
    );
    await sfdmuOk(dir, 'csvfile', srv.info.username);

    assert.deepEqual(await accountsOf(srv.info), [
      { Name: 'Acme Corp', Industry: 'Energy', External_Id__c: 'ACC-1' },
      { Name: 'Globex', Industry: 'Banking', External_Id__c: 'ACC-2' },
      { Name: 'Initech', Industry: 'Technology', External_Id__c: 'ACC-3' },
    ]);
    assert.equal((await soql(srv.info, "SELECT Id FROM Account WHERE External_Id__c = 'ACC-1'"))[0].Id, acmeBefore);
    assert.deepEqual(await contactsOf(srv.info), [
      { FirstName: 'Ada', LastName: 'Byron', Email: 'ada@example.com', Account: { Name: 'Initech', External_Id__c: 'ACC-3' } },
      { FirstName: 'Alan', LastName: 'Turing', Email: 'alan@example.com', Account: { Name: 'Globex', External_Id__c: 'ACC-2' } },
      { FirstName: 'Grace', LastName: 'Hopper', Email: 'grace@example.com', Account: { Name: 'Acme Corp', External_Id__c: 'ACC-1' } },
    ]);
    assert.ok(
      matching(/^GET \/services\/data\/v47\.0\/query\?q=SELECT%20Id%2C%20FirstName.*%2C%20Account\.External_Id__c%20FROM%20Contact$/).length === 1,
      `the target's Contacts read with the parent's external id\n${lines()}`,
    );
    assert.deepEqual(writes(), [
      'POST /services/data/v47.0/composite/sobjects',
      'PATCH /services/data/v47.0/composite/sobjects',
      'POST /services/data/v47.0/composite/sobjects',
      'PATCH /services/data/v47.0/composite/sobjects',
    ], lines());
  });

  it('CSV → org, Update (no insert of an unknown key) and Delete of what a query selects', async () => {
    const turing = (await soql(srv.info, "SELECT Id FROM Contact WHERE LastName = 'Turing'"))[0].Id;
    const dir = job(
      'update-delete',
      {
        excludeIdsFromCSVFiles: true,
        objects: [
          { query: 'SELECT Id, Industry, External_Id__c FROM Account', operation: 'Update', externalId: 'External_Id__c' },
          { query: "SELECT Id FROM Contact WHERE LastName = 'Turing'", operation: 'Delete' },
        ],
      },
      { 'Account.csv': 'Industry,External_Id__c\nRetail,ACC-2\nMedia,ACC-9\n' },
    );
    await sfdmuOk(dir, 'csvfile', srv.info.username);

    assert.deepEqual(await accountsOf(srv.info), [
      { Name: 'Acme Corp', Industry: 'Energy', External_Id__c: 'ACC-1' },
      { Name: 'Globex', Industry: 'Retail', External_Id__c: 'ACC-2' },
      { Name: 'Initech', Industry: 'Technology', External_Id__c: 'ACC-3' },
    ]);
    assert.deepEqual((await contactsOf(srv.info)).map((c) => c.LastName), ['Byron', 'Hopper']);
    assert.deepEqual(writes(), [
      'DELETE /services/data/v47.0/composite/sobjects?ids=…',
      'PATCH /services/data/v47.0/composite/sobjects',
    ], lines());
    assert.ok(matching(/DELETE .*composite\/sobjects\?ids=/)[0].url.endsWith(`?ids=${turing}`), lines());
    const patch = matching(/PATCH .*composite\/sobjects/)[0].body;
    assert.deepEqual(patch.records.map((r) => r.Industry), ['Retail']);
  });

  it('org → CSV files: the exact rows, Contacts with AccountId and Account.External_Id__c', async () => {
    const dir = job('export', {
      objects: [
        { query: `${ACCOUNT_QUERY} ORDER BY Name`, operation: 'Readonly', externalId: 'External_Id__c' },
        { query: `${CONTACT_QUERY} ORDER BY Email`, operation: 'Readonly', externalId: 'Email' },
      ],
    });
    await sfdmuOk(dir, srv.info.username, 'csvfile');

    const ids = Object.fromEntries(
      (await soql(srv.info, 'SELECT Id, External_Id__c FROM Account')).map((r) => [r.External_Id__c, r.Id]),
    );
    const contacts = Object.fromEntries(
      (await soql(srv.info, 'SELECT Id, Email FROM Contact')).map((r) => [r.Email, r.Id]),
    );
    assert.equal(
      fs.readFileSync(path.join(dir, 'Account.csv'), 'utf8'),
      'Id,Name,Industry,External_Id__c\n'
        + `${ids['ACC-1']},Acme Corp,Energy,ACC-1\n`
        + `${ids['ACC-2']},Globex,Retail,ACC-2\n`
        + `${ids['ACC-3']},Initech,Technology,ACC-3\n`,
    );
    assert.equal(
      fs.readFileSync(path.join(dir, 'Contact.csv'), 'utf8'),
      'Id,FirstName,LastName,Email,AccountId,Account.External_Id__c\n'
        + `${contacts['ada@example.com']},Ada,Byron,ada@example.com,${ids['ACC-3']},ACC-3\n`
        + `${contacts['grace@example.com']},Grace,Hopper,grace@example.com,${ids['ACC-1']},ACC-1\n`,
    );
    assert.deepEqual(writes(), [], lines());
  });

  it('org → org: a second org on the same server gets the records, lookups remapped to its own ids', async () => {
    const dir = job('org-to-org', {
      objects: [
        { query: ACCOUNT_QUERY, operation: 'Upsert', externalId: 'External_Id__c' },
        { query: CONTACT_QUERY, operation: 'Upsert', externalId: 'Email' },
      ],
    });
    await sfdmuOk(dir, srv.info.username, second.username);

    assert.deepEqual(await accountsOf(second), await accountsOf(srv.info));
    assert.deepEqual(await contactsOf(second), [
      { FirstName: 'Ada', LastName: 'Byron', Email: 'ada@example.com', Account: { Name: 'Initech', External_Id__c: 'ACC-3' } },
      { FirstName: 'Grace', LastName: 'Hopper', Email: 'grace@example.com', Account: { Name: 'Acme Corp', External_Id__c: 'ACC-1' } },
    ]);
    const sourceIds = new Set((await soql(srv.info, 'SELECT Id FROM Account')).map((r) => r.Id));
    const targetAccounts = await soql(second, 'SELECT Id FROM Account');
    assert.ok(targetAccounts.every((r) => !sourceIds.has(r.Id)), 'the target org made records of its own');
    const contactBody = matching(/POST .*composite\/sobjects/)[1].body;
    assert.ok(
      contactBody.records.every((r) => targetAccounts.some((a) => a.Id === r.AccountId)),
      `AccountId points at the target org's Accounts: ${JSON.stringify(contactBody)}`,
    );
  });

  const bulkCsv = (industry, lastSuffix, extra = '') => ({
    'Account.csv': `Name,Industry,External_Id__c\n${Array.from({ length: 30 }, (_, i) => `Bulk Account ${i + 1},${industry},B-${i + 1}\n`).join('')}`,
    'Contact.csv': `FirstName,LastName,Email,Account.External_Id__c\n${Array.from({ length: 30 }, (_, i) => `First${i + 1},Last${i + 1}${lastSuffix},c${i + 1}@example.com,B-${30 - i}\n`).join('')}${extra}`,
  });
  const bulkScript = (more) => ({
    excludeIdsFromCSVFiles: true,
    bulkThreshold: 10,
    pollingIntervalMs: 200,
    promptOnUpdateError: false,
    ...more,
  });

  /** What the bulk org holds: each Contact's last name and its Account's key, by email. */
  async function bulkContacts() {
    const rows = await soql(bulk, 'SELECT LastName, Email, Account.External_Id__c FROM Contact');
    return Object.fromEntries(rows.map((r) => [r.Email, [r.LastName, r.Account && r.Account.External_Id__c]]));
  }
  const expectedContacts = (lastSuffix, only = () => true) => Object.fromEntries(
    Array.from({ length: 30 }, (_, i) => [`c${i + 1}@example.com`, [`Last${i + 1}${lastSuffix}`, `B-${30 - i}`]])
      .filter(([email]) => only(email)),
  );

  it('Bulk API 2.0 past bulkThreshold: insert jobs, then update jobs; a failed row in the target CSV', async () => {
    const objects = [
      { query: ACCOUNT_QUERY, operation: 'Upsert', externalId: 'External_Id__c' },
      { query: CONTACT_QUERY, operation: 'Upsert', externalId: 'Email' },
    ];
    const dir = job('bulk2', bulkScript({ bulkApiVersion: '2.0', objects }), bulkCsv('Energy', '', 'No,,nolast@example.com,B-1\n'));
    await sfdmuOk(dir, 'csvfile', bulk.username);

    const accounts = await soql(bulk, 'SELECT Name, Industry, External_Id__c FROM Account');
    assert.equal(accounts.length, 30);
    assert.ok(accounts.every((a) => a.Industry === 'Energy' && a.Name === `Bulk Account ${a.External_Id__c.slice(2)}`));
    assert.deepEqual(await bulkContacts(), expectedContacts(''));
    const job2 = [
      'POST /services/data/v47.0/jobs/ingest',
      'PUT /services/data/v47.0/jobs/ingest/{id}/batches',
      'PATCH /services/data/v47.0/jobs/ingest/{id}/',
      'GET /services/data/v47.0/jobs/ingest/{id}/', // polled every pollingIntervalMs until JobComplete
      'GET /services/data/v47.0/jobs/ingest/{id}/successfulResults/',
      'GET /services/data/v47.0/jobs/ingest/{id}/failedResults/',
      'GET /services/data/v47.0/jobs/ingest/{id}/unprocessedrecords/',
    ];
    assert.deepEqual(writes().filter((l, i, all) => l !== all[i - 1]), [...job2, ...job2], lines());
    const creates = matching(/^POST .*\/jobs\/ingest$/).map((c) => c.body);
    assert.deepEqual(creates, [
      { object: 'Account', contentType: 'CSV', operation: 'insert', lineEnding: 'LF' },
      { object: 'Contact', contentType: 'CSV', operation: 'insert', lineEnding: 'LF' },
    ]);
    assert.deepEqual(matching(/^PATCH .*\/jobs\/ingest\//).map((c) => c.body), [
      { state: 'UploadComplete' },
      { state: 'UploadComplete' },
    ]);
    const report = fs.readFileSync(path.join(dir, 'target', 'Contact_insert_target.csv'), 'utf8').trim().split('\n');
    assert.equal(report[0], 'FirstName,LastName,Email,AccountId,Errors,Id');
    assert.equal(report.length, 32);
    assert.match(
      report.find((l) => l.startsWith('No,')),
      /^No,,nolast@example\.com,001\w{15},REQUIRED_FIELD_MISSING:Required fields are missing: \[LastName\]:LastName --,$/,
    );

    calls.length = 0;
    const again = job('bulk2-update', bulkScript({ bulkApiVersion: '2.0', objects }), bulkCsv('Banking', ' v2'));
    await sfdmuOk(again, 'csvfile', bulk.username);
    const industries = await soql(bulk, 'SELECT Industry, COUNT(Id) n FROM Account GROUP BY Industry');
    assert.deepEqual(industries, [{ Industry: 'Banking', n: 30 }]);
    assert.deepEqual(await bulkContacts(), expectedContacts(' v2'));
    assert.deepEqual(
      matching(/^POST .*\/jobs\/ingest$/).map((c) => [c.body.object, c.body.operation]),
      [['Account', 'update'], ['Contact', 'update']],
      lines(),
    );
  });

  it('Bulk API 1.0 (bulkApiVersion "1.0", apiVersion "59.0"): an update job and a delete job', async () => {
    const dir = job(
      'bulk1',
      bulkScript({
        bulkApiVersion: '1.0',
        apiVersion: '59.0',
        objects: [
          { query: 'SELECT Id, Industry, External_Id__c FROM Account', operation: 'Update', externalId: 'External_Id__c' },
          { query: "SELECT Id FROM Contact WHERE Email LIKE 'c1%'", operation: 'Delete' },
        ],
      }),
      { 'Account.csv': `Industry,External_Id__c\n${Array.from({ length: 30 }, (_, i) => `Media,B-${i + 1}\n`).join('')}` },
    );
    await sfdmuOk(dir, 'csvfile', bulk.username);

    const industries = await soql(bulk, 'SELECT Industry, COUNT(Id) n FROM Account GROUP BY Industry');
    assert.deepEqual(industries, [{ Industry: 'Media', n: 30 }]);
    // c1 and c10..c19 went: 11 of 30
    assert.deepEqual(await bulkContacts(), expectedContacts(' v2', (e) => !e.startsWith('c1')));
    assert.ok(calls.every((c) => !c.url.includes('/v47.0/')), `apiVersion 59.0 everywhere\n${lines()}`);
    const jobs = matching(/^POST \/services\/async\/59\.0\/job$/);
    assert.equal(jobs.length, 2, lines());
    assert.equal(matching(/^POST \/services\/async\/59\.0\/job\/750\w{15}\/batch$/).length, 2, lines());
    assert.equal(matching(/^GET \/services\/async\/59\.0\/job\/750\w{15}\/batch\/751\w{15}\/result$/).length, 2, lines());
    assert.deepEqual(matching(/jobs\/ingest|composite\/sobjects/), [], lines());
    const ops = [];
    for (const url of new Set(matching(/\/batch$/).map((c) => c.url.replace(/\/batch$/, '')))) {
      const info = await rawRequest(srv, 'GET', url, { headers: { 'X-SFDC-Session': bulk.access_token } });
      assert.equal(info.status, 200, info.text);
      ops.push([/<object>(\w+)<\/object>/.exec(info.text)[1], /<operation>(\w+)<\/operation>/.exec(info.text)[1]]);
    }
    assert.deepEqual(ops, [['Contact', 'delete'], ['Account', 'update']]);
  });

  it('deleteOldData: the old rows deleted by Bulk API 2.0 delete jobs, the new ones inserted over REST', async () => {
    const dir = job(
      'delete-old-data',
      bulkScript({
        objects: [
          { query: ACCOUNT_QUERY, operation: 'Insert', externalId: 'External_Id__c', deleteOldData: true },
          { query: CONTACT_QUERY, operation: 'Insert', externalId: 'Email', deleteOldData: true },
        ],
      }),
      {
        'Account.csv': 'Name,Industry,External_Id__c\nFresh One,Energy,F-1\nFresh Two,Banking,F-2\n',
        'Contact.csv': 'FirstName,LastName,Email,Account.External_Id__c\nNew,Person,new@example.com,F-2\n',
      },
    );
    await sfdmuOk(dir, 'csvfile', bulk.username);

    assert.deepEqual(await soql(bulk, 'SELECT Name, Industry, External_Id__c FROM Account ORDER BY Name'), [
      { Name: 'Fresh One', Industry: 'Energy', External_Id__c: 'F-1' },
      { Name: 'Fresh Two', Industry: 'Banking', External_Id__c: 'F-2' },
    ]);
    assert.deepEqual(await soql(bulk, 'SELECT LastName, Account.External_Id__c FROM Contact'), [
      { LastName: 'Person', Account: { External_Id__c: 'F-2' } },
    ]);
    assert.deepEqual(
      matching(/^POST .*\/jobs\/ingest$/).map((c) => [c.body.object, c.body.operation]),
      [['Contact', 'delete'], ['Account', 'delete']],
      lines(),
    );
    assert.equal(matching(/^POST .*\/composite\/sobjects$/).length, 2, lines());
    const deleted = await soql(bulk, "SELECT COUNT(Id) n FROM Account WHERE External_Id__c LIKE 'B-%' AND IsDeleted = true", 'queryAll');
    assert.deepEqual(deleted, [{ n: 30 }], 'the old Accounts are in the Recycle Bin');
  });

  it('SFDMU reads the org list from the data API query of EntityDefinition', async () => {
    const call = firstRunCalls.find((c) => /FROM%20EntityDefinition/.test(c.url));
    assert.ok(call, 'SFDMU asked');
    assert.equal(call.status, 200);
    // What that query answers: the org's objects, in QualifiedApiName order.
    const q = decodeURIComponent(call.url.split('?q=')[1].replace(/\+/g, ' '));
    const names = (await soql(srv.info, q)).map((r) => r.QualifiedApiName);
    assert.ok(names.includes('Account') && names.includes('Contact'), names.join(','));
    const lower = (n) => n.toLowerCase();
    const sorted = [...names].sort((a, b) => (lower(a) < lower(b) ? -1 : lower(a) > lower(b) ? 1 : 0));
    assert.deepEqual(names, sorted);
  });

  it('an org that export.json does not list: SFDMU 3.7.19 cannot read sf 2.x\'s `force:org:display`', async () => {
    const login = await runSf(
      ['org', 'login', 'access-token', '--instance-url', proxyUrl, '--no-prompt', '--alias', 'fb', '--json'],
      { home, env: { SF_ACCESS_TOKEN: srv.info.access_token } },
    );
    assert.equal(login.code, 0, explain(login));
    const dir = job('cli-connection', { objects: [{ query: ACCOUNT_QUERY, operation: 'Readonly' }] });
    // `sfdx` on PATH is sf 2.150.6 itself (its package's second bin), run by the Node 22 binary
    const env = { PATH: `${path.join(SF_MODULES, '.bin')}${path.delimiter}${process.env.PATH}` };
    const res = await sfdmu(dir, 'fb', 'csvfile', env);
    assert.equal(res.code, 2, explain(res));
    assert.match(res.stdout, /Connecting to fb using SFDX CLI/, explain(res));
    assert.match(res.stderr, /\[ERROR\] Command initialization error: Attempt to connect to fb failed\./, explain(res));
    assert.ok(!fs.existsSync(path.join(dir, 'Account.csv')));
  });
});

'use strict';
// `sf data import tree` (and `sf data export tree`) against forcebus, and sf
// with an instance URL ending in "/".
//
// What plugin-data's import tree calls (lib/api/data/tree/importCommon.js):
// `conn.request({method: 'POST', url: '/composite/tree/{sobject}', body})`
// once per file (`--files`, refs like "@AccountRef1" refused), or, with
// `--plan`, once per file part: it resolves `^@{Type}Ref\d+$` references
// itself from the ids earlier calls returned, splitting a file whose records
// point at each other into the ref-free records first and the rest after.
// A 2xx body with `hasErrors: true`, or a 400 whose body is the tree failure
// (jsforce: ERROR_HTTP_400 carrying the raw body), becomes "Data Import failed".
//
// sf talks to the server through a recording pass-through proxy here, so the
// tests can assert which paths sf asked for (`//services/data/...` when the
// instance URL ends in "/"); the proxy forwards method, path, headers and body
// as they came.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer } = require('../../node/test/server');
const { runSf, runSfOk, explain, startRecordingProxy } = require('./sf');

let srv;
let token;
let home;
let proxy;
let proxyUrl;
const calls = []; // as startRecordingProxy records them
const lines = () => calls.map((c) => c.line).join('\n');

const sf = (args, instanceUrl = proxyUrl) => runSf(args, { home, instanceUrl });
const sfOk = (args, instanceUrl = proxyUrl) => runSfOk(args, { home, instanceUrl });

/** Write `files` ({name: object}) as JSON into a fresh directory under HOME; returns its path. */
function writeFiles(dir, files) {
  const full = path.join(home, dir);
  fs.mkdirSync(full, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(full, name), JSON.stringify(content, null, 2));
  }
  return full;
}

const TREE_POST = /^POST \/services\/data\/v\d+\.0\/composite\/tree\/(\w+)$/;

/** The tree calls sf made since the last reset, as the object names posted to. */
function treeCalls() {
  return calls.filter((c) => c.method === 'POST').map((c) => {
    const m = TREE_POST.exec(c.line);
    assert.ok(m, `sf made a write other than POST {base}/composite/tree/{X}: ${c.line}\nall calls: ${lines()}`);
    return m[1];
  });
}

before(async () => {
  srv = await startServer('import-tree', { prefix: 'sf' });
  token = srv.info.access_token;
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-home-'));
  proxy = await startRecordingProxy(srv, calls);
  proxyUrl = `http://127.0.0.1:${proxy.address().port}`;
});
after(async () => {
  if (proxy) await new Promise((r) => proxy.close(r));
  await srv?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});
beforeEach(() => {
  calls.length = 0;
});

const ACCOUNTS_WITH_CONTACTS =
  "SELECT Id, Name, (SELECT Id, LastName, Email FROM Contacts ORDER BY LastName) FROM Account WHERE Name LIKE '%s' ORDER BY Name";

describe('sf data import tree', () => {
  it('--files: Accounts with nested Contacts in one POST /composite/tree/Account', async () => {
    const dir = writeFiles('files', {
      'accounts.json': {
        records: [
          {
            attributes: { type: 'Account', referenceId: 'AccountRef1' },
            Name: 'TreeFile-A',
            Industry: 'Energy',
            Contacts: {
              records: [
                { attributes: { type: 'Contact', referenceId: 'ContactRef1' }, LastName: 'Alpha', Email: 'alpha@example.com' },
                { attributes: { type: 'Contact', referenceId: 'ContactRef2' }, LastName: 'Beta' },
              ],
            },
          },
          {
            attributes: { type: 'Account', referenceId: 'AccountRef2' },
            Name: 'TreeFile-B',
            Contacts: {
              records: [{ attributes: { type: 'Contact', referenceId: 'ContactRef3' }, LastName: 'Gamma' }],
            },
          },
        ],
      },
    });
    const result = await sfOk(['data', 'import', 'tree', '--files', path.join(dir, 'accounts.json'), '-o', token]);
    assert.deepEqual(treeCalls(), ['Account'], lines());

    // roots first, then the children, each with its type (from the file) and new id
    assert.deepEqual(
      result.map((r) => [r.refId, r.type]),
      [
        ['AccountRef1', 'Account'],
        ['AccountRef2', 'Account'],
        ['ContactRef1', 'Contact'],
        ['ContactRef2', 'Contact'],
        ['ContactRef3', 'Contact'],
      ],
      JSON.stringify(result),
    );
    const id = Object.fromEntries(result.map((r) => [r.refId, r.id]));
    for (const r of result) assert.match(r.id, r.type === 'Account' ? /^001\w{15}$/ : /^003\w{15}$/);

    const q = await sfOk(['data', 'query', '-q', ACCOUNTS_WITH_CONTACTS.replace('%s', 'TreeFile-%'), '-o', token]);
    assert.equal(q.totalSize, 2);
    const [a, b] = q.records;
    assert.deepEqual([a.Id, a.Name, a.Contacts.totalSize], [id.AccountRef1, 'TreeFile-A', 2]);
    assert.deepEqual(
      a.Contacts.records.map((c) => [c.Id, c.LastName, c.Email]),
      [
        [id.ContactRef1, 'Alpha', 'alpha@example.com'],
        [id.ContactRef2, 'Beta', null],
      ],
    );
    assert.deepEqual([b.Id, b.Name], [id.AccountRef2, 'TreeFile-B']);
    assert.deepEqual(b.Contacts.records.map((c) => [c.Id, c.LastName]), [[id.ContactRef3, 'Gamma']]);
  });

  it('--plan: @AccountRef references resolved by sf across files and within one', async () => {
    const dir = writeFiles('plan', {
      'Account.json': {
        records: [
          { attributes: { type: 'Account', referenceId: 'AccountRef1' }, Name: 'TreePlan-Parent' },
          // points at a record of the same file: sf sends it in a second call
          { attributes: { type: 'Account', referenceId: 'AccountRef2' }, Name: 'TreePlan-Child', ParentId: '@AccountRef1' },
        ],
      },
      'Contact.json': {
        records: [
          { attributes: { type: 'Contact', referenceId: 'ContactRef1' }, LastName: 'PlanOne', AccountId: '@AccountRef1' },
          { attributes: { type: 'Contact', referenceId: 'ContactRef2' }, LastName: 'PlanTwo', AccountId: '@AccountRef2' },
        ],
      },
      'plan.json': [
        { sobject: 'Account', files: ['Account.json'] },
        { sobject: 'Contact', files: ['Contact.json'] },
      ],
    });
    const result = await sfOk(['data', 'import', 'tree', '--plan', path.join(dir, 'plan.json'), '-o', token]);
    assert.deepEqual(treeCalls(), ['Account', 'Account', 'Contact'], lines());
    assert.deepEqual(
      result.map((r) => [r.refId, r.type]),
      [
        ['AccountRef1', 'Account'],
        ['AccountRef2', 'Account'],
        ['ContactRef1', 'Contact'],
        ['ContactRef2', 'Contact'],
      ],
    );
    const id = Object.fromEntries(result.map((r) => [r.refId, r.id]));

    const q = await sfOk([
      'data', 'query', '-q',
      "SELECT Id, Name, ParentId, Parent.Name, (SELECT Id, LastName FROM Contacts) FROM Account WHERE Name LIKE 'TreePlan-%' ORDER BY Name DESC",
      '-o', token,
    ]);
    assert.equal(q.totalSize, 2);
    const [parent, child] = q.records;
    assert.deepEqual([parent.Id, parent.Name, parent.ParentId], [id.AccountRef1, 'TreePlan-Parent', null]);
    assert.deepEqual([child.Id, child.ParentId, child.Parent.Name], [id.AccountRef2, id.AccountRef1, 'TreePlan-Parent']);
    assert.deepEqual(parent.Contacts.records.map((c) => [c.Id, c.LastName]), [[id.ContactRef1, 'PlanOne']]);
    assert.deepEqual(child.Contacts.records.map((c) => [c.Id, c.LastName]), [[id.ContactRef2, 'PlanTwo']]);
  });

  it('round trip: sf data export tree --plan, then import tree --plan of what it wrote', async () => {
    const out = path.join(home, 'export');
    const plan = await sfOk([
      'data', 'export', 'tree', '--plan', '--output-dir', out, '--prefix', 'rt',
      '-q', "SELECT Name, Industry, (SELECT LastName, Email FROM Contacts) FROM Account WHERE Name LIKE 'TreeFile-%'",
      '-o', token,
    ]);
    assert.deepEqual(plan.map((p) => p.sobject), ['Account', 'Contact']);
    const contacts = JSON.parse(fs.readFileSync(path.join(out, 'rt-Contact.json'), 'utf8')).records;
    assert.ok(contacts.every((c) => /^@AccountRef\d+$/.test(c.AccountId)), JSON.stringify(contacts));

    calls.length = 0;
    const result = await sfOk(['data', 'import', 'tree', '--plan', path.join(out, 'rt-Account-Contact-plan.json'), '-o', token]);
    assert.deepEqual(treeCalls(), ['Account', 'Contact'], lines());
    assert.equal(result.length, 5, JSON.stringify(result));
    const newIds = new Set(result.map((r) => r.id));

    const q = await sfOk(['data', 'query', '-q', ACCOUNTS_WITH_CONTACTS.replace('%s', 'TreeFile-%'), '-o', token]);
    assert.equal(q.totalSize, 4, 'the originals and their copies');
    const copies = q.records.filter((r) => newIds.has(r.Id));
    assert.deepEqual(
      copies.map((r) => [r.Name, r.Contacts?.records.map((c) => [c.LastName, c.Email]) ?? []]),
      [
        ['TreeFile-A', [['Alpha', 'alpha@example.com'], ['Beta', null]]],
        ['TreeFile-B', [['Gamma', null]]],
      ],
    );
    for (const r of copies) {
      for (const c of r.Contacts.records) assert.ok(newIds.has(c.Id), 'the copies point at the copied accounts');
    }
  });

  it('a failing record fails the import with its error, and nothing is written', async () => {
    const dir = writeFiles('bad', {
      'bad.json': {
        records: [
          {
            attributes: { type: 'Account', referenceId: 'AccountRef1' },
            Name: 'TreeBad-A',
            Contacts: {
              records: [
                { attributes: { type: 'Contact', referenceId: 'ContactRef1' }, LastName: 'Fine' },
                { attributes: { type: 'Contact', referenceId: 'ContactRef2' }, FirstName: 'NoLastName' },
              ],
            },
          },
        ],
      },
    });
    const res = await sf(['data', 'import', 'tree', '--files', path.join(dir, 'bad.json'), '-o', token, '--json']);
    assert.equal(res.code, 1, explain(res));
    assert.deepEqual(treeCalls(), ['Account'], lines());
    assert.ok(res.json, explain(res));
    // sf parsed the 400 tree body (jsforce's ERROR_HTTP_400 carries it) into a table of failures
    assert.equal(res.json.message, 'Data Import failed', explain(res));
    assert.ok(Array.isArray(res.json.data) && res.json.data.length === 1, explain(res));
    const [failure] = res.json.data;
    assert.equal(failure.referenceId, 'ContactRef2');
    assert.equal(failure.StatusCode, 'REQUIRED_FIELD_MISSING');
    assert.equal(failure.fields, 'LastName');
    assert.match(failure.Message, /LastName/);

    const accounts = await sfOk(['data', 'query', '-q', "SELECT Id FROM Account WHERE Name = 'TreeBad-A'", '-o', token]);
    assert.equal(accounts.totalSize, 0, 'the Account of the failed tree was rolled back');
    const fine = await sfOk(['data', 'query', '-q', "SELECT Id FROM Contact WHERE LastName = 'Fine'", '-o', token]);
    assert.equal(fine.totalSize, 0, 'so was its valid Contact');
  });

  it('a field the object does not have: sf reports it as a field-level-security error', async () => {
    // Salesforce refuses the whole tree with a top-level INVALID_FIELD error
    // ("No such column 'X' on sobject of type Y"); plugin-data's treeSaveErrorHandler
    // turns that (jsforce errorCode INVALID_FIELD) into its FlsError, taking the
    // field from between the first quotes and the object from the last word.
    // Users report exactly that output (forcedotcom/cli#2763, trailheadapps/ebikes-lwc#561).
    const dir = writeFiles('nofield', {
      'nofield.json': {
        records: [{ attributes: { type: 'Account', referenceId: 'AccountRef1' }, Name: 'TreeNoField-A', Bogus__c: 'x' }],
      },
    });
    const res = await sf(['data', 'import', 'tree', '--files', path.join(dir, 'nofield.json'), '-o', token, '--json']);
    assert.equal(res.code, 1, explain(res));
    assert.deepEqual(treeCalls(), ['Account'], lines());
    assert.ok(res.json, explain(res));
    assert.equal(res.json.name, 'FlsError', explain(res));
    assert.match(
      res.json.message,
      /^We couldn't process your request because you don't have access to Bogus__c on Account\. /,
      explain(res),
    );
    const none = await sfOk(['data', 'query', '-q', "SELECT Id FROM Account WHERE Name = 'TreeNoField-A'", '-o', token]);
    assert.equal(none.totalSize, 0);
  });
});

describe('an instance URL ending in "/"', () => {
  it('sf asks for //services/data/... and gets answers (data query, import tree)', async () => {
    const slashed = `${proxyUrl}/`;
    const q = await sfOk(['data', 'query', '-q', "SELECT Id, Name FROM Account WHERE Name = 'TreePlan-Parent'", '-o', token], slashed);
    assert.equal(q.totalSize, 1, JSON.stringify(q));
    assert.equal(q.records[0].Name, 'TreePlan-Parent');
    assert.ok(calls.length > 0);
    for (const c of calls) assert.match(c.line, /^GET \/\/services\/data/, lines());
    assert.ok(
      calls.some((c) => /^GET \/\/services\/data\/v\d+\.0\/query\?q=SELECT%20Id%2C%20Name%20FROM%20Account/.test(c.line)),
      lines(),
    );

    calls.length = 0;
    const dir = writeFiles('slash', {
      'one.json': { records: [{ attributes: { type: 'Account', referenceId: 'AccountRef1' }, Name: 'TreeSlash-A' }] },
    });
    const result = await sfOk(['data', 'import', 'tree', '--files', path.join(dir, 'one.json'), '-o', token], slashed);
    assert.equal(result.length, 1);
    assert.ok(
      calls.some((c) => /^POST \/\/services\/data\/v\d+\.0\/composite\/tree\/Account$/.test(c.line)),
      lines(),
    );
    const back = await sfOk(['data', 'get', 'record', '-s', 'Account', '-i', result[0].id, '-o', token], slashed);
    assert.equal(back.Name, 'TreeSlash-A');
  });
});

'use strict';
// `sf org login access-token` against forcebus, then sf's data commands on the
// org it stored, addressed by alias (and by username) with no SF_ORG_INSTANCE_URL.
//
// What plugin-auth's `org login access-token` does (lib/commands/org/login/access-token.js,
// @salesforce/core AuthInfo): takes the token from SF_ACCESS_TOKEN (with --no-prompt
// nothing is read from stdin), refuses one not shaped `<org id>!<token>`, then with
// `Authorization: Bearer`:
//   GET  /services/oauth2/userinfo                      (user_id, organization_id)
//   GET  /services/data/v51.0/sobjects/User/{user_id}   (Username)
//   GET  /services/data/v51.0/query?q=SELECT Id FROM ScratchOrgInfo limit 1  (a 4xx: no Dev Hub)
// and core's determineOrg:
//   GET  {instance}/services/data                        (the newest version)
//   GET  {base}/query?q=SELECT Name, InstanceName, IsSandbox, TrialExpirationDate,
//        NamespacePrefix, OrganizationType FROM Organization   (exactly one row)
// storing isSandbox = IsSandbox && !TrialExpirationDate, isScratch = IsSandbox &&
// TrialExpirationDate, orgEdition = OrganizationType in ~/.sfdx/<username>.json.
// `--instance-url` is parsed as a URL, so its href, the stored instance URL, ends
// in "/" and every later call is `//services/data/...`.
//
// sf talks to the server through a recording pass-through proxy, so the tests
// can assert what sf asked for.

const { describe, it, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer } = require('../../node/test/server');
const { runSf, runSfOk, explain, startRecordingProxy } = require('./sf');

const ALIAS = 'forcebus';

/** A server (with `config` when given), a proxy in front of it and a fresh HOME for sf. */
async function setUp(name, config) {
  const org = { calls: [] };
  org.srv = await startServer(name, { prefix: 'sf', ...(config ? { config } : {}) });
  org.home = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-home-'));
  org.proxy = await startRecordingProxy(org.srv, org.calls);
  org.url = `http://127.0.0.1:${org.proxy.address().port}`;
  return org;
}

async function tearDown(org) {
  if (!org) return;
  if (org.proxy) await new Promise((r) => org.proxy.close(r));
  await org.srv?.stop();
  if (org.home) fs.rmSync(org.home, { recursive: true, force: true });
}

/** `sf org login access-token` with the server's token in SF_ACCESS_TOKEN. */
function login(org, extra = [], token = org.srv.info.access_token) {
  return runSf(
    ['org', 'login', 'access-token', '--instance-url', `${org.url}/`, '--no-prompt', ...extra, '--json'],
    { home: org.home, env: { SF_ACCESS_TOKEN: token } },
  );
}

const lines = (org) => org.calls.map((c) => `${c.line} -> ${c.status}`).join('\n');

describe('sf org login access-token, then sf on the stored org', () => {
  let org;
  let sf;
  let sfOk;
  before(async () => {
    org = await setUp('login');
    // no SF_ORG_INSTANCE_URL: the instance URL comes from the stored auth
    sf = (args) => runSf(args, { home: org.home });
    sfOk = (args) => runSfOk(args, { home: org.home });
  });
  after(async () => {
    await tearDown(org);
  });
  beforeEach(() => {
    org.calls.length = 0;
  });

  it('stores the org under its username and the alias, with what Organization says', async () => {
    const res = await login(org, ['--alias', ALIAS]);
    assert.equal(res.code, 0, explain(res));
    const r = res.json.result;
    assert.equal(r.username, org.srv.info.username);
    assert.equal(r.orgId, org.srv.info.org_id);
    assert.equal(r.instanceUrl, `${org.url}/`);
    assert.equal(r.isDevHub, false);
    assert.equal(r.name, 'forcebus');
    assert.equal(r.orgEdition, 'Developer Edition');
    assert.equal(r.isSandbox, false);
    assert.equal(r.isScratch, false);
    assert.equal(typeof r.instanceName, 'string');
    assert.match(r.instanceApiVersion, /^\d+\.0$/);

    const seen = org.calls.map((c) => c.line);
    const userId = org.srv.info.user_id;
    assert.ok(seen.includes('GET /services/oauth2/userinfo'), lines(org));
    assert.ok(seen.includes(`GET /services/data/v51.0/sobjects/User/${userId}`), lines(org));
    assert.ok(
      org.calls.some((c) => /^GET \/\/services\/data\/v\d+\.0\/query\?q=SELECT%20Name%2C%20InstanceName%2C%20IsSandbox.*FROM%20Organization$/.test(c.line) && c.status === 200),
      `determineOrg's Organization query:\n${lines(org)}`,
    );
    for (const c of org.calls) {
      if (!/ScratchOrgInfo/.test(c.line)) assert.ok(c.status < 400, `${c.line} -> ${c.status}\n${lines(org)}`);
    }

    const authFile = path.join(org.home, '.sfdx', `${org.srv.info.username}.json`);
    assert.ok(fs.existsSync(authFile), `sf stored ${authFile}`);
    const aliases = await sfOk(['alias', 'list']);
    assert.deepEqual(aliases.find((a) => a.alias === ALIAS), { alias: ALIAS, value: org.srv.info.username });
  });

  it('sf org display -o <alias>: Connected', async () => {
    const r = await sfOk(['org', 'display', '-o', ALIAS]);
    assert.equal(r.id, org.srv.info.org_id);
    assert.equal(r.username, org.srv.info.username);
    assert.equal(r.instanceUrl, `${org.url}/`);
    assert.equal(r.alias, ALIAS);
    assert.equal(r.connectedStatus, 'Connected');
    assert.ok(org.calls.length > 0 && org.calls.every((c) => c.line.startsWith('GET //services/data') && c.status === 200), lines(org));
  });

  it('sf org list: the org among the non-scratch orgs, Connected', async () => {
    const r = await sfOk(['org', 'list']);
    const mine = r.nonScratchOrgs.find((o) => o.username === org.srv.info.username);
    assert.ok(mine, JSON.stringify(r));
    assert.equal(mine.alias, ALIAS);
    assert.equal(mine.connectedStatus, 'Connected');
  });

  let accountId;
  it('sf data create record: POST //services/data/vXX.X/sobjects/Account', async () => {
    const r = await sfOk(['data', 'create', 'record', '-s', 'Account', '-v', "Name='Login Acme' Phone='555-0100' Industry='Energy'", '-o', ALIAS]);
    assert.equal(r.success, true);
    assert.match(r.id, /^001\w{15}$/);
    accountId = r.id;
    assert.ok(org.calls.some((c) => /^POST \/\/services\/data\/v\d+\.0\/sobjects\/Account$/.test(c.line) && c.status === 201), lines(org));
  });

  it('sf data get record: by id and by --where', async () => {
    const r = await sfOk(['data', 'get', 'record', '-s', 'Account', '-i', accountId, '-o', ALIAS]);
    assert.equal(r.Id, accountId);
    assert.equal(r.Name, 'Login Acme');
    assert.equal(r.Phone, '555-0100');
    const w = await sfOk(['data', 'get', 'record', '-s', 'Account', '-w', "Name='Login Acme'", '-o', ALIAS]);
    assert.equal(w.Id, accountId);
  });

  it('sf data update record: PATCH, then read back', async () => {
    const r = await sfOk(['data', 'update', 'record', '-s', 'Account', '-i', accountId, '-v', "Phone='555-0199' Description='updated by sf'", '-o', ALIAS]);
    assert.equal(r.success, true);
    assert.ok(org.calls.some((c) => new RegExp(`^PATCH //services/data/v\\d+\\.0/sobjects/Account/${accountId}$`).test(c.line) && c.status === 204), lines(org));
    const back = await sfOk(['data', 'get', 'record', '-s', 'Account', '-i', accountId, '-o', ALIAS]);
    assert.equal(back.Phone, '555-0199');
    assert.equal(back.Description, 'updated by sf');
  });

  it('sf data query: the record, with columns=true', async () => {
    const r = await sfOk(['data', 'query', '-q', `SELECT Id, Name, Phone FROM Account WHERE Id = '${accountId}'`, '-o', ALIAS]);
    assert.equal(r.totalSize, 1);
    assert.deepEqual([r.records[0].Id, r.records[0].Name, r.records[0].Phone], [accountId, 'Login Acme', '555-0199']);
    assert.ok(org.calls.some((c) => /&columns=true$/.test(c.line) && c.status === 200), lines(org));
    // and by username instead of the alias
    const byUser = await sfOk(['data', 'query', '-q', `SELECT Name FROM Account WHERE Id = '${accountId}'`, '-o', org.srv.info.username]);
    assert.equal(byUser.records[0].Name, 'Login Acme');
  });

  it('sf data import tree: an Account with a Contact', async () => {
    const dir = path.join(org.home, 'tree');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'accounts.json');
    fs.writeFileSync(file, JSON.stringify({
      records: [{
        attributes: { type: 'Account', referenceId: 'AccountRef1' },
        Name: 'Login Tree Corp',
        Contacts: { records: [{ attributes: { type: 'Contact', referenceId: 'ContactRef1' }, LastName: 'Loginson', Email: 'loginson@example.com' }] },
      }],
    }));
    const r = await sfOk(['data', 'import', 'tree', '--files', file, '-o', ALIAS]);
    assert.deepEqual(r.map((x) => [x.refId, x.type]), [['AccountRef1', 'Account'], ['ContactRef1', 'Contact']]);
    assert.ok(org.calls.some((c) => /^POST \/\/services\/data\/v\d+\.0\/composite\/tree\/Account$/.test(c.line) && c.status === 201), lines(org));
    const q = await sfOk(['data', 'query', '-q', `SELECT AccountId, Account.Name FROM Contact WHERE Id = '${r[1].id}'`, '-o', ALIAS]);
    assert.equal(q.records[0].AccountId, r[0].id);
    assert.equal(q.records[0].Account.Name, 'Login Tree Corp');
  });

  it('sf data search --query "FIND {...}": JSON, the human tables per object, CSV files per object', async () => {
    const sosl = 'FIND {Login*} RETURNING Account(Name, Phone ORDER BY Name), Contact(LastName, Email)';
    const r = await sfOk(['data', 'search', '--query', sosl, '-o', ALIAS]);
    assert.deepEqual(
      r.searchRecords.map((x) => [x.attributes.type, x.Name ?? x.LastName]),
      [['Account', 'Login Acme'], ['Account', 'Login Tree Corp'], ['Contact', 'Loginson']],
      JSON.stringify(r),
    );
    assert.ok(org.calls.some((c) => /^GET \/\/services\/data\/v\d+\.0\/search\?q=FIND%20%7BLogin\*%7D%20RETURNING/.test(c.line) && c.status === 200), lines(org));

    const human = await sf(['data', 'search', '--query', sosl, '-o', ALIAS]);
    assert.equal(human.code, 0, explain(human));
    for (const text of ['Account', 'Contact', 'Login Acme', 'Login Tree Corp', 'Loginson', 'loginson@example.com']) {
      assert.ok(human.stdout.includes(text), `"${text}" in\n${human.stdout}`);
    }

    for (const f of ['Account.csv', 'Contact.csv']) fs.rmSync(path.join(org.home, f), { force: true });
    const csv = await sf(['data', 'search', '--query', sosl, '-r', 'csv', '-o', ALIAS]);
    assert.equal(csv.code, 0, explain(csv));
    assert.equal(
      fs.readFileSync(path.join(org.home, 'Account.csv'), 'utf8').split(/\r?\n/).join('|'),
      'Name,Phone|Login Acme,555-0199|Login Tree Corp,',
    );
    assert.equal(fs.readFileSync(path.join(org.home, 'Contact.csv'), 'utf8').split(/\r?\n/).join('|'), 'LastName,Email|Loginson,loginson@example.com');

    const none = await sf(['data', 'search', '--query', 'FIND {Zyxwvut}', '-o', ALIAS]);
    assert.equal(none.code, 0, explain(none));
    assert.match(none.stdout, /No Records Found/);
  });

  it('sf data search with a malformed search fails with the server message', async () => {
    const res = await sf(['data', 'search', '--query', 'FIND Login', '-o', ALIAS, '--json']);
    assert.notEqual(res.code, 0, explain(res));
    assert.ok(res.json, explain(res));
    assert.equal(res.json.name, 'MALFORMED_SEARCH', explain(res));
    assert.match(res.json.message, /braces/);
  });

  it('sf data delete record: DELETE, then get fails', async () => {
    const r = await sfOk(['data', 'delete', 'record', '-s', 'Account', '-i', accountId, '-o', ALIAS]);
    assert.equal(r.success, true);
    assert.ok(org.calls.some((c) => new RegExp(`^DELETE //services/data/v\\d+\\.0/sobjects/Account/${accountId}$`).test(c.line) && c.status === 204), lines(org));
    const gone = await sf(['data', 'get', 'record', '-s', 'Account', '-i', accountId, '-o', ALIAS, '--json']);
    assert.notEqual(gone.code, 0, explain(gone));
    assert.equal(gone.json?.name, 'NOT_FOUND', explain(gone));
  });

  it('--use-tooling-api: a PushTopic (listed by GET {base}/tooling/sobjects) found by a tooling query and read by id', async () => {
    const made = await sfOk(['data', 'create', 'record', '-s', 'PushTopic', '-v', "Name='LoginTopic' Query='SELECT Id, Name FROM Account' ApiVersion=59.0", '-o', ALIAS]);
    assert.equal(made.success, true);
    const q = await sfOk(['data', 'query', '--use-tooling-api', '-q', "SELECT Id, Name FROM PushTopic WHERE Name = 'LoginTopic'", '-o', ALIAS]);
    assert.deepEqual(q.records.map((r) => r.Id), [made.id]);
    org.calls.length = 0;
    const res = await sf(['data', 'get', 'record', '--use-tooling-api', '-s', 'PushTopic', '-i', made.id, '-o', ALIAS, '--json']);
    assert.equal(res.code, 0, `${explain(res)}\n${lines(org)}`);
    assert.equal(res.json.result.Name, 'LoginTopic');
  });

  it('a token the server does not know: login fails at userinfo and stores nothing', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-home-'));
    try {
      const res = await runSf(
        ['org', 'login', 'access-token', '--instance-url', `${org.url}/`, '--no-prompt', '--alias', 'bad', '--json'],
        { home: other, env: { SF_ACCESS_TOKEN: `${org.srv.info.org_id}!notatoken` } },
      );
      assert.notEqual(res.code, 0, explain(res));
      assert.ok(org.calls.some((c) => c.line === 'GET /services/oauth2/userinfo' && c.status === 403), lines(org));
      assert.ok(!fs.existsSync(path.join(other, '.sfdx', `${org.srv.info.username}.json`)));
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('sf org login access-token on a sandbox and on a scratch org (org_kind in the config)', () => {
  const orgs = {};
  const confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-conf-'));
  before(async () => {
    for (const [kind, edition] of [['sandbox', 'Enterprise Edition'], ['scratch', 'Developer Edition']]) {
      const conf = path.join(confDir, `${kind}.toml`);
      fs.writeFileSync(conf, `org_name = "Compat ${kind}"\norg_edition = "${edition}"\norg_kind = "${kind}"\n`);
      orgs[kind] = await setUp(`login-${kind}`, conf);
    }
  });
  after(async () => {
    for (const o of Object.values(orgs)) await tearDown(o);
    fs.rmSync(confDir, { recursive: true, force: true });
  });

  it('a sandbox: isSandbox, the edition, listed under sandboxes', async () => {
    const org = orgs.sandbox;
    const res = await login(org, ['--alias', 'sbx']);
    assert.equal(res.code, 0, explain(res));
    const r = res.json.result;
    assert.deepEqual([r.name, r.orgEdition, r.isSandbox, r.isScratch], ['Compat sandbox', 'Enterprise Edition', true, false]);
    const list = await runSfOk(['org', 'list'], { home: org.home });
    assert.ok(list.sandboxes.some((o) => o.alias === 'sbx'), JSON.stringify(list));
    const q = await runSfOk(['data', 'query', '-q', 'SELECT IsSandbox FROM Organization', '-o', 'sbx'], { home: org.home });
    assert.equal(q.records[0].IsSandbox, true);
  });

  it('a scratch org: isScratch with its trial expiration date', async () => {
    const org = orgs.scratch;
    const res = await login(org, ['--alias', 'scr']);
    assert.equal(res.code, 0, explain(res));
    const r = res.json.result;
    assert.deepEqual([r.name, r.orgEdition, r.isSandbox, r.isScratch], ['Compat scratch', 'Developer Edition', false, true]);
    assert.ok(Date.parse(r.trailExpirationDate) > Date.now(), `expires later: ${r.trailExpirationDate}`); // sf's spelling
    const display = await runSfOk(['org', 'display', '-o', 'scr'], { home: org.home });
    assert.equal(display.connectedStatus, 'Connected');
  });
});

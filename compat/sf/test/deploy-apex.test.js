'use strict';
// A whole sfdx project deploys: compat/fixtures/sfdx-apex-project (two Apex classes, a
// trigger, a layout, a permission set, a flow, a tab, an app and a binary static
// resource) goes up with `sf project deploy start`; forcebus keeps what it does not
// interpret as it was sent, and `sf project retrieve start` of the same components
// into an empty project gives back every file byte for byte. The classes and the
// trigger are ApexClass and ApexTrigger records (never run). A deploy asking for Apex
// tests (`--test-level RunLocalTests`) fails saying forcebus runs none.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest } = require('../../node/test/server');
const { runSf, explain } = require('./sf');

const SAMPLE = path.resolve(__dirname, '../../fixtures/sfdx-apex-project');
const SOURCE = 'force-app/main/default';

let srv;

/** Every file under `dir`, by path relative to it, with its bytes. */
function tree(dir) {
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  return Object.fromEntries(walk(dir).map((f) => [path.relative(dir, f), fs.readFileSync(f)]));
}

function copy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-apex-'));
  fs.cpSync(SAMPLE, dir, { recursive: true });
  return dir;
}

async function soql(q) {
  const res = await rawRequest(srv, 'GET', `/services/data/v62.0/query?q=${encodeURIComponent(q)}`, {
    headers: { Authorization: `Bearer ${srv.info.access_token}` },
  });
  assert.equal(res.status, 200, res.text);
  return res.json.records;
}

before(async () => {
  srv = await startServer('deploy-apex', { prefix: 'sf' });
});

after(async () => {
  await srv?.stop();
});

describe('sf project deploy start / retrieve start of a project with Apex, layouts, permission sets, ...', () => {
  it('a deploy asking for Apex tests fails, saying forcebus runs none', { timeout: 120000 }, async () => {
    const res = await runSf(['project', 'deploy', 'start', '--source-dir', 'force-app', '--test-level', 'RunLocalTests',
      '-o', srv.info.access_token, '--json'], { home: copy(), instanceUrl: srv.baseUrl });
    assert.notEqual(res.code, 0, explain(res));
    assert.match(JSON.stringify(res.json), /forcebus runs no Apex tests/, explain(res));
    assert.deepEqual(await soql('SELECT Id FROM ApexClass'), []);
  });

  it('deploys every component, and the Apex becomes records', { timeout: 120000 }, async () => {
    const res = await runSf(['project', 'deploy', 'start', '--source-dir', 'force-app', '-o', srv.info.access_token, '--json'],
      { home: copy(), instanceUrl: srv.baseUrl });
    assert.equal(res.code, 0, explain(res));
    assert.equal(res.json.result.status, 'Succeeded', explain(res));
    const states = Object.fromEntries(res.json.result.files.map((f) => [`${f.type}#${f.fullName}`, f.state]));
    for (const key of ['ApexClass#Greeter', 'ApexClass#GreeterTest', 'ApexTrigger#AccountGreeting',
      'Layout#Account-Account Greeting Layout', 'PermissionSet#Greeters', 'Flow#Greet_Account', 'CustomTab#Greeter_Docs',
      'CustomApplication#Greetings', 'StaticResource#GreeterLogo']) {
      assert.equal(states[key], 'Created', `${key} in ${JSON.stringify(states)}`);
    }
    const classes = await soql('SELECT Name, Body, ApiVersion, Status FROM ApexClass ORDER BY Name');
    assert.deepEqual(classes.map((c) => c.Name), ['Greeter', 'GreeterTest']);
    assert.equal(classes[0].Body, fs.readFileSync(path.join(SAMPLE, SOURCE, 'classes/Greeter.cls'), 'utf8'));
    assert.equal(classes[0].ApiVersion, 62);
    const [trigger] = await soql('SELECT Name, TableEnumOrId, UsageBeforeInsert, UsageAfterInsert FROM ApexTrigger');
    assert.equal(trigger.TableEnumOrId, 'Account');
    assert.equal(trigger.UsageBeforeInsert, true);
    assert.equal(trigger.UsageAfterInsert, false);
  });

  it('retrieve start into an empty project gives back every file byte for byte', { timeout: 120000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-apex-retrieve-'));
    fs.copyFileSync(path.join(SAMPLE, 'sfdx-project.json'), path.join(dir, 'sfdx-project.json'));
    fs.mkdirSync(path.join(dir, 'force-app'));
    const metadata = ['ApexClass:Greeter', 'ApexClass:GreeterTest', 'ApexTrigger:AccountGreeting',
      'Layout:Account-Account Greeting Layout', 'PermissionSet:Greeters', 'Flow:Greet_Account', 'CustomTab:Greeter_Docs',
      'CustomApplication:Greetings', 'StaticResource:GreeterLogo'].flatMap((m) => ['--metadata', m]);
    const res = await runSf(['project', 'retrieve', 'start', ...metadata, '-o', srv.info.access_token, '--json'],
      { home: dir, instanceUrl: srv.baseUrl });
    assert.equal(res.code, 0, explain(res));
    const want = tree(path.join(SAMPLE, 'force-app'));
    const got = tree(path.join(dir, 'force-app'));
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const [file, bytes] of Object.entries(want)) {
      assert.ok(got[file].equals(bytes), `${file} differs:\n${got[file]}\n---\n${bytes}`);
    }
  });
});

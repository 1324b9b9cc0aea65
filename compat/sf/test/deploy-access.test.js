'use strict';
// Permission sets through `sf project deploy start` and `sf project retrieve start`: a
// copy of compat/fixtures/sfdx-access-project (Deal__c, Account's Region__c, Sync_Key__c
// and Salary__c, the Sync_Integration permission set) with one more permission set,
// Deal_Reader (read Deal__c and its Amount__c, read Account's Region__c), deployed into a
// fresh server: both sets Created. A user made through the test control with Deal_Reader
// sees what it grants and nothing more. Retrieving PermissionSet:Deal_Reader into an empty
// project gives the set back as Metadata built from the org's records, and that project
// deploys back Unchanged.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest } = require('../../node/test/server');
const { runSf, explain } = require('./sf');

const FIXTURE = path.resolve(__dirname, '../../fixtures/sfdx-access-project');
const SETS = 'force-app/main/default/permissionsets';
const VERSION = '62.0';
const MINIMUM = 'Minimum Access - API Only Integrations';

const DEAL_READER = `<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <description>Reads deals and their amounts.</description>
    <fieldPermissions>
        <editable>false</editable>
        <field>Deal__c.Amount__c</field>
        <readable>true</readable>
    </fieldPermissions>
    <fieldPermissions>
        <editable>false</editable>
        <field>Account.Region__c</field>
        <readable>true</readable>
    </fieldPermissions>
    <label>Deal Reader</label>
    <objectPermissions>
        <allowCreate>false</allowCreate>
        <allowDelete>false</allowDelete>
        <allowEdit>false</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>false</modifyAllRecords>
        <object>Deal__c</object>
        <viewAllRecords>true</viewAllRecords>
    </objectPermissions>
    <objectPermissions>
        <allowCreate>false</allowCreate>
        <allowDelete>false</allowDelete>
        <allowEdit>false</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>false</modifyAllRecords>
        <object>Account</object>
        <viewAllRecords>false</viewAllRecords>
    </objectPermissions>
    <userPermissions>
        <enabled>true</enabled>
        <name>ApiEnabled</name>
    </userPermissions>
</PermissionSet>
`;

let srv;

/** A copy of the fixture project with Deal_Reader beside Sync_Integration. */
function project() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-access-'));
  fs.cpSync(FIXTURE, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, SETS, 'Deal_Reader.permissionset-meta.xml'), DEAL_READER);
  return dir;
}

function deploy(dir) {
  return runSf(['project', 'deploy', 'start', '--source-dir', 'force-app', '-o', srv.info.access_token, '--json'],
    { home: dir, instanceUrl: srv.baseUrl });
}

const states = (res) => Object.fromEntries(res.json.result.files.map((f) => [`${f.type}#${f.fullName}`, f.state]));

/** A REST call with `token`. */
function rest(token, method, urlPath, body) {
  return rawRequest(srv, method, `/services/data/v${VERSION}${urlPath}`, {
    headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

before(async () => {
  srv = await startServer('deploy-access', { prefix: 'sf' });
});

after(async () => {
  await srv?.stop();
});

describe('sf project deploy start and retrieve start: permission sets', () => {
  it('deploys both permission sets as Created', { timeout: 120000 }, async () => {
    const res = await deploy(project());
    assert.equal(res.code, 0, explain(res));
    assert.equal(res.json.result.status, 'Succeeded', explain(res));
    const byName = states(res);
    for (const key of ['PermissionSet#Sync_Integration', 'PermissionSet#Deal_Reader', 'CustomObject#Deal__c']) {
      assert.equal(byName[key], 'Created', `${key} in ${JSON.stringify(byName)}`);
    }
  });

  it('a user given Deal_Reader sees what it grants and nothing more', async () => {
    const made = await rawRequest(srv, 'POST', '/forcebus/v1/control/users', {
      headers: { Authorization: `Bearer ${srv.info.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'reader@acme.test', profile: MINIMUM, permission_sets: ['Deal_Reader'] }),
    });
    assert.equal(made.status, 201, made.text);
    const token = made.json.access_token;
    const deal = await rest(srv.info.access_token, 'POST', '/sobjects/Deal__c', { Name: 'Big one', Amount__c: 5000 });
    assert.equal(deal.status, 201, deal.text);

    const q = encodeURIComponent('SELECT Name, Amount__c FROM Deal__c');
    const deals = await rest(token, 'GET', `/query?q=${q}`);
    assert.equal(deals.status, 200, deals.text);
    assert.deepEqual(deals.json.records.map((r) => [r.Name, r.Amount__c]), [['Big one', 5000]], 'view all records');

    const write = await rest(token, 'POST', '/sobjects/Deal__c', { Name: 'Mine' });
    assert.equal(write.status, 400, write.text);

    const fields = (await rest(token, 'GET', '/sobjects/Account/describe')).json.fields.map((f) => f.name);
    assert.ok(fields.includes('Region__c'), fields.join());
    assert.ok(!fields.includes('Salary__c') && !fields.includes('Sync_Key__c'), fields.join());
  });

  it('retrieve start gives Deal_Reader back, and it deploys back Unchanged', { timeout: 120000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-access-retrieve-'));
    fs.copyFileSync(path.join(FIXTURE, 'sfdx-project.json'), path.join(dir, 'sfdx-project.json'));
    fs.mkdirSync(path.join(dir, 'force-app'));
    const res = await runSf(['project', 'retrieve', 'start', '--metadata', 'PermissionSet:Deal_Reader',
      '-o', srv.info.access_token, '--json'], { home: dir, instanceUrl: srv.baseUrl });
    assert.equal(res.code, 0, explain(res));
    const file = path.join(dir, SETS, 'Deal_Reader.permissionset-meta.xml');
    assert.ok(fs.existsSync(file), explain(res));
    const xml = fs.readFileSync(file, 'utf8');
    for (const part of ['<label>Deal Reader</label>', '<field>Deal__c.Amount__c</field>', '<object>Deal__c</object>',
      '<viewAllRecords>true</viewAllRecords>', '<name>ApiEnabled</name>']) {
      assert.ok(xml.includes(part), `${part} in ${xml}`);
    }
    const again = await deploy(dir);
    assert.equal(again.code, 0, explain(again));
    assert.deepEqual(states(again), { 'PermissionSet#Deal_Reader': 'Unchanged' }, explain(again));
  });
});

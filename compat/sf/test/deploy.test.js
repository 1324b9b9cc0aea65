'use strict';
// `sf project deploy start` against forcebus: the sample sfdx project
// (compat/fixtures/sfdx-project: a custom object with several field types and a
// picklist, a field on Account, a platform event) deployed from source. What sf calls:
// GET /services/data, the Organization query, then the Metadata API's `deploy` (SOAP,
// a zip SDR builds from the source) and `checkDeployStatus` until done.
//
// A CometD session already subscribed to /data/AccountChangeEvent before the deploy
// (plain Bayeux over HTTP here: the jsforce the CLI ships needs Node 22, and this runner
// is Node 20; deploy-subscribers.test.js does it with compat/node's jsforce and the npm
// Pub/Sub client) gets the next Account event in the new schema, with the field. Deploying again reports every
// component Unchanged; a broken field file fails the deploy and applies nothing.
// `sf project retrieve start --metadata ...` into an empty project brings the objects
// back in source format (the CLI asks `retrieve`, then `checkRetrieveStatus`, after a
// 404 from the tooling SourceMember describe: no source tracking), and the retrieved
// project deploys back as Unchanged: what comes out is exactly what went in.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest } = require('../../node/test/server');
const { runSf, explain } = require('./sf');

const SAMPLE = path.resolve(__dirname, '../../fixtures/sfdx-project');
const VERSION = '62.0';

let srv;
let home;

function project() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-deploy-'));
  fs.cpSync(SAMPLE, dir, { recursive: true });
  return dir;
}

async function deploy(dir) {
  home = dir;
  const res = await runSf(['project', 'deploy', 'start', '--source-dir', 'force-app', '-o', srv.info.access_token, '--json'],
    { home, instanceUrl: srv.baseUrl });
  return res;
}

async function rest(method, urlPath, body) {
  const res = await rawRequest(srv, method, `/services/data/v${VERSION}${urlPath}`, {
    headers: { Authorization: `Bearer ${srv.info.access_token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res;
}

/** One Bayeux exchange on /cometd/62.0. */
async function bayeux(messages) {
  const res = await rawRequest(srv, 'POST', `/cometd/${VERSION}`, {
    headers: { Authorization: `OAuth ${srv.info.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify(messages),
  });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

before(async () => {
  srv = await startServer('deploy', { prefix: 'sf' });
});

after(async () => {
  await srv?.stop();
});

describe('sf project deploy start', () => {
  it('deploys the sample project; a connected subscriber gets the new schema at once', { timeout: 120000 }, async () => {
    const [hs] = await bayeux([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'] }]);
    const clientId = hs.clientId;
    const [sub] = await bayeux([{ channel: '/meta/subscribe', clientId, subscription: '/data/AccountChangeEvent',
      ext: { replay: { '/data/AccountChangeEvent': -1 } } }]);
    assert.equal(sub.successful, true, JSON.stringify(sub));
    await bayeux([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } }]);
    const before = (await rest('GET', '/sobjects/AccountChangeEvent/eventSchema')).json.uuid;

    const res = await deploy(project());
    assert.equal(res.code, 0, explain(res));
    const result = res.json.result;
    assert.equal(result.status, 'Succeeded', explain(res));
    assert.equal(result.success, true);
    const files = result.files.filter((f) => f.type !== 'ApexClass');
    const byName = Object.fromEntries(files.map((f) => [`${f.type}#${f.fullName}`, f.state]));
    for (const key of ['CustomObject#Invoice__c', 'CustomField#Invoice__c.Status__c', 'CustomField#Invoice__c.Amount__c',
      'CustomField#Account.Region__c', 'CustomObject#Invoice_Paid__e', 'CustomField#Invoice_Paid__e.Invoice_Number__c']) {
      assert.equal(byName[key], 'Created', `${key} in ${JSON.stringify(byName)}`);
    }

    // Live at once: describe, a record with the picklist default, the platform event.
    const d = (await rest('GET', '/sobjects/Invoice__c/describe')).json;
    assert.ok(d.fields.some((f) => f.name === 'Due_Date__c' && f.type === 'date'));
    const made = await rest('POST', '/sobjects/Invoice__c', { Name: 'INV-7', Amount__c: 99.5 });
    assert.equal(made.status, 201, made.text);
    const got = (await rest('GET', `/sobjects/Invoice__c/${made.json.id}`)).json;
    assert.equal(got.Status__c, 'Draft');
    const published = await rest('POST', '/sobjects/Invoice_Paid__e', { Invoice_Number__c: 'INV-7', Amount__c: 99.5 });
    assert.equal(published.status, 201, published.text);

    // The subscriber connected before the deploy gets the next Account event in the new schema.
    const after = (await rest('GET', '/sobjects/AccountChangeEvent/eventSchema')).json.uuid;
    assert.notEqual(after, before);
    const acct = await rest('POST', '/sobjects/Account', { Name: 'Deployed', Region__c: 'EMEA' });
    assert.equal(acct.status, 201, acct.text);
    const replies = await bayeux([{ channel: '/meta/connect', clientId, connectionType: 'long-polling', advice: { timeout: 0 } }]);
    const ev = replies.find((m) => m.channel === '/data/AccountChangeEvent' && m.data?.payload?.Name === 'Deployed');
    assert.ok(ev, `no event: ${JSON.stringify(replies)}`);
    assert.equal(ev.data.schema, after);
    assert.equal(ev.data.payload.Region__c, 'EMEA');
  });

  it('deploying again reports every component Unchanged', { timeout: 120000 }, async () => {
    const res = await deploy(project());
    assert.equal(res.code, 0, explain(res));
    const states = new Set(res.json.result.files.map((f) => f.state));
    assert.deepEqual([...states], ['Unchanged'], JSON.stringify(res.json.result.files));
  });

  it('retrieve start brings the objects back in source format, and they deploy back unchanged', { timeout: 120000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-retrieve-'));
    fs.copyFileSync(path.join(SAMPLE, 'sfdx-project.json'), path.join(dir, 'sfdx-project.json'));
    fs.mkdirSync(path.join(dir, 'force-app'));
    const res = await runSf(['project', 'retrieve', 'start', '--metadata', 'CustomObject:Invoice__c', '--metadata', 'CustomObject:Invoice_Paid__e',
      '--metadata', 'CustomField:Account.Region__c', '-o', srv.info.access_token, '--json'], { home: dir, instanceUrl: srv.baseUrl });
    assert.equal(res.code, 0, explain(res));
    const objects = path.join(dir, 'force-app/main/default/objects');
    const walk = (d) => fs.readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.relative(objects, path.join(d, e.name))]));
    const files = walk(objects).sort();
    for (const want of ['Invoice__c/Invoice__c.object-meta.xml', 'Invoice__c/fields/Status__c.field-meta.xml',
      'Invoice__c/fields/Account__c.field-meta.xml', 'Invoice_Paid__e/fields/Invoice_Number__c.field-meta.xml',
      'Account/fields/Region__c.field-meta.xml']) {
      assert.ok(files.includes(want), `${want} in ${files}`);
    }
    const status = fs.readFileSync(path.join(objects, 'Invoice__c/fields/Status__c.field-meta.xml'), 'utf8');
    assert.match(status, /<type>Picklist<\/type>/);
    assert.match(status, /<fullName>Draft<\/fullName>\s*<default>true<\/default>/);
    const back = await deploy(dir);
    assert.equal(back.code, 0, explain(back));
    assert.deepEqual([...new Set(back.json.result.files.map((f) => f.state))], ['Unchanged'], JSON.stringify(back.json.result.files));
  });

  it('a broken field fails the deploy and applies nothing', { timeout: 120000 }, async () => {
    const dir = project();
    const fields = path.join(dir, 'force-app/main/default/objects/Account/fields');
    fs.writeFileSync(path.join(fields, 'Warp__c.field-meta.xml'),
      '<?xml version="1.0" encoding="UTF-8"?><CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Warp__c</fullName><label>Warp</label><type>Hologram</type></CustomField>');
    fs.mkdirSync(path.join(dir, 'force-app/main/default/objects/Ship__c/fields'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'force-app/main/default/objects/Ship__c/Ship__c.object-meta.xml'),
      '<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Ship</label><pluralLabel>Ships</pluralLabel><nameField><label>Ship Name</label><type>Text</type></nameField><deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel></CustomObject>');
    const res = await deploy(dir);
    assert.notEqual(res.code, 0, explain(res));
    const failures = res.json?.result?.details?.componentFailures;
    const list = [failures].flat().filter(Boolean);
    assert.ok(list.some((f) => /Hologram/.test(f.problem)), explain(res));
    const ship = await rest('GET', '/sobjects/Ship__c/describe');
    assert.equal(ship.status, 404, 'rolled back: the good object was not made either');
  });
});

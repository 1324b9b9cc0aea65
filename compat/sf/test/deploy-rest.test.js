'use strict';
// `sf project deploy start` with the Metadata REST API (`SF_ORG_METADATA_REST_DEPLOY=true`,
// the env form of the `org-metadata-rest-deploy` config SDR reads): the sample sfdx project
// (compat/fixtures/sfdx-project) deployed through POST /services/data/vXX.X/metadata/deployRequest
// (multipart: the zip and the JSON deployOptions) and polled with GET .../deployRequest/{id}
// ?includeDetails=true, with the same results as the SOAP deploy in deploy.test.js: every
// component Created, live at once; again Unchanged; a broken field fails and applies nothing.
// `sf project deploy validate` then `sf project deploy quick --job-id` quick-deploys the
// validation over REST. That REST was the transport is read from sf's own debug log
// (SDR logs "Deploying metadata source ... using REST").

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest } = require('../../node/test/server');
const { runSf, explain } = require('./sf');

const SAMPLE = path.resolve(__dirname, '../../fixtures/sfdx-project');
const VERSION = '62.0';
const REST = { SF_ORG_METADATA_REST_DEPLOY: 'true', SF_LOG_LEVEL: 'debug' };

let srv;

function project() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-deploy-rest-'));
  fs.cpSync(SAMPLE, dir, { recursive: true });
  return dir;
}

/** sf's debug log in `dir` (its HOME). */
function sfLog(dir) {
  const logs = path.join(dir, '.sf');
  return fs.existsSync(logs)
    ? fs.readdirSync(logs).filter((f) => f.endsWith('.log')).map((f) => fs.readFileSync(path.join(logs, f), 'utf8')).join('\n')
    : '';
}

/** Runs `sf project deploy <args>` in `dir` over REST; asserts sf logged a REST deploy. */
async function sfDeploy(dir, args, { restLogged = true } = {}) {
  const res = await runSf(['project', 'deploy', ...args, '-o', srv.info.access_token, '--json'],
    { home: dir, instanceUrl: srv.baseUrl, env: REST });
  if (restLogged) {
    const text = sfLog(dir);
    assert.match(text, /Deploying metadata source.* using REST v/, `sf did not log a REST deploy\n${explain(res)}`);
    assert.doesNotMatch(text, /using SOAP v/);
  }
  return res;
}

async function rest(method, urlPath, body) {
  return rawRequest(srv, method, `/services/data/v${VERSION}${urlPath}`, {
    headers: { Authorization: `Bearer ${srv.info.access_token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

before(async () => {
  srv = await startServer('deploy-rest', { prefix: 'sf' });
});

after(async () => {
  await srv?.stop();
});

describe('sf project deploy start over the Metadata REST API', () => {
  it('deploys the sample project: every component Created and live at once', { timeout: 120000 }, async () => {
    const res = await sfDeploy(project(), ['start', '--source-dir', 'force-app']);
    assert.equal(res.code, 0, explain(res));
    const result = res.json.result;
    assert.equal(result.status, 'Succeeded', explain(res));
    assert.equal(result.success, true);
    const byName = Object.fromEntries(result.files.map((f) => [`${f.type}#${f.fullName}`, f.state]));
    for (const key of ['CustomObject#Invoice__c', 'CustomField#Invoice__c.Status__c', 'CustomField#Invoice__c.Amount__c',
      'CustomField#Account.Region__c', 'CustomObject#Invoice_Paid__e', 'CustomField#Invoice_Paid__e.Invoice_Number__c']) {
      assert.equal(byName[key], 'Created', `${key} in ${JSON.stringify(byName)}`);
    }
    // The id sf reports is a REST deploy request.
    const req = await rest('GET', `/metadata/deployRequest/${result.id}`);
    assert.equal(req.status, 200, req.text);
    assert.equal(req.json.deployOptions.singlePackage, true);

    const d = (await rest('GET', '/sobjects/Invoice__c/describe')).json;
    assert.ok(d.fields.some((f) => f.name === 'Due_Date__c' && f.type === 'date'));
    const made = await rest('POST', '/sobjects/Invoice__c', { Name: 'INV-R1', Amount__c: 12.5 });
    assert.equal(made.status, 201, made.text);
    assert.equal((await rest('GET', `/sobjects/Invoice__c/${made.json.id}`)).json.Status__c, 'Draft');
  });

  it('deploying again reports every component Unchanged', { timeout: 120000 }, async () => {
    const res = await sfDeploy(project(), ['start', '--source-dir', 'force-app']);
    assert.equal(res.code, 0, explain(res));
    assert.deepEqual([...new Set(res.json.result.files.map((f) => f.state))], ['Unchanged'], JSON.stringify(res.json.result.files));
  });

  it('a broken field fails the deploy and applies nothing', { timeout: 120000 }, async () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, 'force-app/main/default/objects/Account/fields/Warp__c.field-meta.xml'),
      '<?xml version="1.0" encoding="UTF-8"?><CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Warp__c</fullName><label>Warp</label><type>Hologram</type></CustomField>');
    fs.mkdirSync(path.join(dir, 'force-app/main/default/objects/Ship__c'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'force-app/main/default/objects/Ship__c/Ship__c.object-meta.xml'),
      '<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Ship</label><pluralLabel>Ships</pluralLabel><nameField><label>Ship Name</label><type>Text</type></nameField><deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel></CustomObject>');
    const res = await sfDeploy(dir, ['start', '--source-dir', 'force-app']);
    assert.equal(res.code, 1, explain(res));
    const failures = [res.json?.result?.details?.componentFailures].flat().filter(Boolean);
    assert.ok(failures.some((f) => /Hologram/.test(f.problem)), explain(res));
    assert.equal((await rest('GET', '/sobjects/Ship__c/describe')).status, 404, 'rolled back');
  });

  it('validate, then quick deploy the validation by its job id', { timeout: 180000 }, async () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, 'force-app/main/default/objects/Account/fields/Tier2__c.field-meta.xml'),
      '<?xml version="1.0" encoding="UTF-8"?><CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Tier2__c</fullName><label>Tier 2</label><type>Text</type><length>10</length></CustomField>');
    const v = await sfDeploy(dir, ['validate', '--source-dir', 'force-app']);
    assert.equal(v.code, 0, explain(v));
    assert.equal(v.json.result.checkOnly, true, explain(v));
    const described = async () => (await rest('GET', '/sobjects/Account/describe')).json.fields.map((f) => f.name);
    assert.ok(!(await described()).includes('Tier2__c'), 'a validation applies nothing');
    // `quick` sends deployRecentValidation and polls; SDR logs no "Deploying metadata source"
    // for it, but sf's log shows the new id polled at its REST URL.
    const q = await sfDeploy(dir, ['quick', '--job-id', v.json.result.id], { restLogged: false });
    assert.equal(q.code, 0, explain(q));
    assert.notEqual(q.json.result.id, v.json.result.id);
    assert.ok(sfLog(dir).includes(`metadata/deployRequest/${q.json.result.id}`), 'polled over REST');
    assert.equal(q.json.result.status, 'Succeeded', explain(q));
    const req = await rest('GET', `/metadata/deployRequest/${q.json.result.id}`);
    assert.equal(req.json.validatedDeployRequestId, v.json.result.id);
    assert.ok((await described()).includes('Tier2__c'));
  });
});

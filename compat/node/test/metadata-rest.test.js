'use strict';
// The Metadata API's REST deploy through jsforce: `conn.metadata.deployRest(zip, options)`
// (multipart POST to /services/data/vXX.X/metadata/deployRequest, the zip in the part
// `file`, the options in the JSON part `entity_content`), polled with
// `checkDeployStatus(id, true, true)` (GET .../deployRequest/{id}?includeDetails=true)
// until done; jsforce's own `complete()` polls the same id over SOAP. A failing component
// rolls the deploy back; an unknown id is a 404; a checkOnly validation is quick-deployed
// with `deployRecentValidation` (REST and SOAP) once; `cancelDeploy` of a finished deploy
// is refused as Salesforce refuses it; bad multipart bodies get 400s.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, rawRequest, API_VERSION } = require('./server');
const { zip } = require('./helpers/zip');

let srv;
let conn;

const MD = 'http://soap.sforce.com/2006/04/metadata';
const PACKAGE = (types) => `<?xml version="1.0" encoding="UTF-8"?><Package xmlns="${MD}">${
  Object.entries(types).map(([name, members]) => `<types>${members.map((m) => `<members>${m}</members>`).join('')}<name>${name}</name></types>`).join('')
}<version>${API_VERSION}</version></Package>`;
const TICKET = `<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="${MD}"><label>Ticket</label><pluralLabel>Tickets</pluralLabel><nameField><label>Ticket Name</label><type>Text</type></nameField><deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel><fields><fullName>Hours__c</fullName><label>Hours</label><type>Number</type><precision>6</precision><scale>1</scale></fields></CustomObject>`;
const ACCOUNT = (field, type) => `<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="${MD}"><fields><fullName>${field}</fullName><label>${field}</label><type>${type}</type><length>20</length></fields></CustomObject>`;

async function until(id) {
  for (let i = 0; i < 50; i += 1) {
    const r = await conn.metadata.checkDeployStatus(id, true, true);
    if (r.done) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`deploy ${id} never finished`);
}

async function fieldsOf(object) {
  const d = await conn.request(`/services/data/v${API_VERSION}/sobjects/${object}/describe`);
  return d.fields.map((f) => f.name);
}

before(async () => {
  srv = await startServer('metadata-rest');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});

after(async () => {
  await srv?.stop();
});

describe('jsforce conn.metadata.deployRest', () => {
  it('deploys a zip: 201 with the request, then a JSON DeployResult with details once done', async () => {
    const z = zip({
      'package.xml': PACKAGE({ CustomObject: ['Ticket__c'], CustomField: ['Account.Channel__c'] }),
      'objects/Ticket__c.object': TICKET,
      'objects/Account.object': ACCOUNT('Channel__c', 'Text'),
    });
    const req = await conn.metadata.deployRest(z, { rollbackOnError: true, singlePackage: true, testLevel: 'NoTestRun' });
    assert.match(req.id, /^0Af[0-9A-Za-z]{15}$/);
    assert.equal(req.url, `/services/data/v${API_VERSION}/metadata/deployRequest/${req.id}`);
    assert.equal(req.validatedDeployRequestId, null);
    assert.deepEqual([req.deployOptions.singlePackage, req.deployOptions.testLevel, req.deployOptions.checkOnly], [true, 'NoTestRun', false]);
    assert.equal(req.deployResult.status, 'Pending');

    const r = await until(req.id);
    assert.equal(r.status, 'Succeeded');
    assert.equal(r.success, true, 'a real boolean');
    assert.equal(r.done, true);
    assert.deepEqual([r.numberComponentsDeployed, r.numberComponentsTotal, r.numberComponentErrors], [3, 3, 0]);
    assert.match(r.createdDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    assert.deepEqual(r.details.componentFailures, []);
    const byKey = Object.fromEntries(r.details.componentSuccesses.map((m) => [`${m.componentType}#${m.fullName}`, m]));
    assert.deepEqual(Object.keys(byKey).sort(),
      ['#package.xml', 'CustomField#Account.Channel__c', 'CustomField#Ticket__c.Hours__c', 'CustomObject#Ticket__c']);
    assert.equal(byKey['#package.xml'].forPackageManifestFile, true);
    const hours = byKey['CustomField#Ticket__c.Hours__c'];
    assert.deepEqual([hours.created, hours.changed, hours.success, hours.fileName, hours.problem, hours.warning],
      [true, true, true, 'objects/Ticket__c.object', null, false]);
    assert.equal(r.details.runTestResult.numTestsRun, 0);

    assert.ok((await fieldsOf('Ticket__c')).includes('Hours__c'));
    assert.ok((await fieldsOf('Account')).includes('Channel__c'));
  });

  it("jsforce's complete() polls the same deploy over SOAP", async () => {
    const z = zip({ 'package.xml': PACKAGE({ CustomObject: ['Ticket__c'] }), 'objects/Ticket__c.object': TICKET });
    const r = await conn.metadata.deployRest(z, { singlePackage: true }).complete(true);
    assert.equal(r.status, 'Succeeded');
    assert.equal(r.success, true);
    const ticket = [r.details.componentSuccesses].flat().find((m) => m.fullName === 'Ticket__c');
    assert.equal(ticket.changed, false, 'deployed again: unchanged');
  });

  it('a failing component fails the deploy and applies nothing (rollbackOnError)', async () => {
    const z = zip({
      'package.xml': PACKAGE({ CustomField: ['Account.Warp__c', 'Account.Fine__c'] }),
      'objects/Account.object': ACCOUNT('Warp__c', 'Hologram').replace('</CustomObject>',
        '<fields><fullName>Fine__c</fullName><label>Fine</label><type>Text</type><length>5</length></fields></CustomObject>'),
    });
    const req = await conn.metadata.deployRest(z, { rollbackOnError: true });
    const r = await until(req.id);
    assert.equal(r.status, 'Failed');
    assert.equal(r.success, false);
    assert.equal(r.numberComponentErrors, 1);
    const [failure] = r.details.componentFailures;
    // The file's declaration fails to read as a whole (the bad type), so the failure
    // names the file's object.
    assert.equal(failure.fileName, 'objects/Account.object');
    assert.equal(failure.problemType, 'Error');
    assert.match(failure.problem, /Hologram/);
    const names = await fieldsOf('Account');
    assert.ok(!names.includes('Fine__c') && !names.includes('Warp__c'), 'rolled back');
  });

  it('an unknown id is a 404 NOT_FOUND', async () => {
    await assert.rejects(conn.metadata.checkDeployStatus('0Af000000000099AAA', true, true),
      (e) => e.errorCode === 'NOT_FOUND' && /does not exist/.test(e.message));
  });

  it('a checkOnly validation applies nothing and is quick-deployed once (REST), then over SOAP', async () => {
    const z = zip({ 'package.xml': PACKAGE({ CustomField: ['Account.Quick__c'] }), 'objects/Account.object': ACCOUNT('Quick__c', 'Text') });
    const validation = await conn.metadata.deployRest(z, { checkOnly: true });
    const v = await until(validation.id);
    assert.deepEqual([v.status, v.checkOnly], ['Succeeded', true]);
    assert.ok(!(await fieldsOf('Account')).includes('Quick__c'), 'checkOnly applies nothing');

    const quickId = await conn.metadata.deployRecentValidation({ id: validation.id, rest: true });
    assert.match(quickId, /^0Af/);
    assert.notEqual(quickId, validation.id);
    const q = await until(quickId);
    assert.deepEqual([q.status, q.checkOnly], ['Succeeded', false]);
    const req = await conn.request(`/services/data/v${API_VERSION}/metadata/deployRequest/${quickId}`);
    assert.equal(req.validatedDeployRequestId, validation.id);
    assert.ok((await fieldsOf('Account')).includes('Quick__c'));
    await assert.rejects(conn.metadata.deployRecentValidation({ id: validation.id, rest: true }),
      (e) => e.errorCode === 'INVALID_ID_FIELD');

    const again = zip({ 'package.xml': PACKAGE({ CustomField: ['Account.Soapy__c'] }), 'objects/Account.object': ACCOUNT('Soapy__c', 'Text') });
    const v2 = await conn.metadata.deployRest(again, { checkOnly: true });
    const soapQuick = await conn.metadata.deployRecentValidation({ id: v2.id });
    assert.equal(typeof soapQuick, 'string');
    assert.equal((await until(soapQuick)).status, 'Succeeded');
    assert.ok((await fieldsOf('Account')).includes('Soapy__c'));
  });

  it('cancelDeploy (SOAP) and PATCH Canceling of a finished deploy are refused', async () => {
    const z = zip({ 'package.xml': PACKAGE({ CustomObject: ['Ticket__c'] }), 'objects/Ticket__c.object': TICKET });
    const { id } = await conn.metadata.deployRest(z, {});
    await assert.rejects(conn.metadata.cancelDeploy(id), (e) => /INVALID_ID_FIELD/.test(`${e.name} ${e.errorCode} ${e.message}`)
      && /Deployment already completed/.test(e.message));
    await assert.rejects(conn.request({ method: 'PATCH', url: `/services/data/v${API_VERSION}/metadata/deployRequest/${id}`,
      body: JSON.stringify({ deployResult: { status: 'Canceling' } }), headers: { 'content-type': 'application/json' } }),
    (e) => e.errorCode === 'INVALID_ID_FIELD');
    assert.equal((await until(id)).status, 'Succeeded', 'left as it was');
  });

  it('bad requests are 400s with Salesforce error bodies', async () => {
    const url = `/services/data/v${API_VERSION}/metadata/deployRequest`;
    const auth = { Authorization: `Bearer ${conn.accessToken}` };
    const form = (parts) => {
      const b = 'forcebusBoundary42';
      const body = parts.map(([name, type, text]) => `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\nContent-Type: ${type}\r\n\r\n${text}\r\n`).join('') + `--${b}--\r\n`;
      return { headers: { ...auth, 'content-type': `multipart/form-data; boundary=${b}` }, body };
    };
    const noZip = await rawRequest(srv, 'POST', url, form([['json', 'application/json', '{"deployOptions":{}}']]));
    assert.equal(noZip.status, 400);
    assert.equal(noZip.json[0].errorCode, 'INVALID_INPUT');
    assert.match(noZip.json[0].message, /part named file/);
    const badJson = await rawRequest(srv, 'POST', url, form([['file', 'application/zip', 'PK'], ['json', 'application/json', '{"deployOptions":']]));
    assert.equal(badJson.status, 400);
    assert.equal(badJson.json[0].errorCode, 'JSON_PARSER_ERROR');
    const cut = await rawRequest(srv, 'POST', url, { headers: { ...auth, 'content-type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\nContent-Type: application/zip\r\n\r\nPK' });
    assert.equal(cut.status, 400);
    assert.match(cut.json[0].message, /closing boundary/);
    const notZip = await rawRequest(srv, 'POST', url, form([['file', 'application/zip', 'not a zip']]));
    assert.equal(notZip.status, 201, 'accepted, then failed whole like a SOAP deploy');
    const failed = await until(notZip.json.id);
    assert.equal(failed.status, 'Failed');
    assert.match(failed.errorMessage, /not a zip archive/);
  });
});

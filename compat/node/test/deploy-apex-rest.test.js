'use strict';
// jsforce's `conn.metadata.deployRest` of a package with an object, a trigger on it and
// a test class, as jsforce's own deploy test makes one: the deploy succeeds without running
// tests (NoTestRun), the trigger and the class are ApexTrigger / ApexClass records (data
// and Tooling API), `conn.metadata.retrieve` gives both back byte for byte, and a deploy
// that asks for the org's tests to run fails saying forcebus runs no Apex tests.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');
const { zip, unzip } = require('./helpers/zip');

let srv;
let conn;

const MD = 'http://soap.sforce.com/2006/04/metadata';
const PACKAGE = `<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="${MD}">
  <types><members>Job__c</members><name>CustomObject</name></types>
  <types><members>JobTrigger</members><name>ApexTrigger</name></types>
  <types><members>JobTriggerTest</members><name>ApexClass</name></types>
  <version>${API_VERSION}</version>
</Package>
`;
const JOB = `<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="${MD}"><label>Job</label><pluralLabel>Jobs</pluralLabel><nameField><label>Job Name</label><type>Text</type></nameField><deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel></CustomObject>`;
const TRIGGER = `trigger JobTrigger on Job__c (before insert, after update) {
    // Counts the jobs it sees.
    System.debug('jobs: ' + Trigger.new.size());
}
`;
const CLASS = `@isTest
private class JobTriggerTest {
    /* Makes a job, which fires the trigger. */
    @isTest static void makesAJob() {
        insert new Job__c(Name = 'First');
    }
}
`;
const META = (type) => `<?xml version="1.0" encoding="UTF-8"?>
<${type} xmlns="${MD}">
    <apiVersion>${API_VERSION}</apiVersion>
    <status>Active</status>
</${type}>
`;
const FILES = {
  'package.xml': PACKAGE,
  'objects/Job__c.object': JOB,
  'triggers/JobTrigger.trigger': TRIGGER,
  'triggers/JobTrigger.trigger-meta.xml': META('ApexTrigger'),
  'classes/JobTriggerTest.cls': CLASS,
  'classes/JobTriggerTest.cls-meta.xml': META('ApexClass'),
};

async function until(id) {
  for (let i = 0; i < 50; i += 1) {
    const r = await conn.metadata.checkDeployStatus(id, true, true);
    if (r.done) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`deploy ${id} never finished`);
}

before(async () => {
  srv = await startServer('deploy-apex-rest');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});

after(async () => {
  await srv?.stop();
});

describe('jsforce deployRest of an object, a trigger and a test class', () => {
  it('deploys without running tests, and the Apex is kept as records and files', async () => {
    const req = await conn.metadata.deployRest(zip(FILES), { rollbackOnError: true, singlePackage: true, testLevel: 'NoTestRun' });
    const r = await until(req.id);
    assert.equal(r.status, 'Succeeded', JSON.stringify(r.details?.componentFailures));
    assert.equal(r.success, true);
    const kinds = r.details.componentSuccesses.map((m) => `${m.componentType}#${m.fullName}`).sort();
    for (const k of ['ApexClass#JobTriggerTest', 'ApexTrigger#JobTrigger', 'CustomObject#Job__c']) {
      assert.ok(kinds.includes(k), `${k} in ${kinds}`);
    }
    assert.equal(r.details.runTestResult.numTestsRun, 0);

    const triggers = await conn.query("SELECT Name, Status, TableEnumOrId, UsageBeforeInsert, UsageAfterUpdate, Body FROM ApexTrigger WHERE Name = 'JobTrigger'");
    assert.equal(triggers.totalSize, 1);
    const t = triggers.records[0];
    assert.deepEqual([t.Status, t.TableEnumOrId, t.UsageBeforeInsert, t.UsageAfterUpdate, t.Body], ['Active', 'Job__c', true, true, TRIGGER]);
    const classes = await conn.tooling.query("SELECT Name, ApiVersion, Status, Body FROM ApexClass WHERE Name = 'JobTriggerTest'");
    assert.equal(classes.totalSize, 1);
    assert.deepEqual([classes.records[0].ApiVersion, classes.records[0].Status, classes.records[0].Body], [Number(API_VERSION), 'Active', CLASS]);
    // The object the trigger is on is there too.
    const created = await conn.sobject('Job__c').create({ Name: 'Runs nothing' });
    assert.equal(created.success, true);
  });

  it('retrieves the trigger and the class back byte for byte', async () => {
    const result = await conn.metadata.retrieve({
      apiVersion: API_VERSION,
      singlePackage: true,
      unpackaged: {
        types: [{ name: 'ApexTrigger', members: ['JobTrigger'] }, { name: 'ApexClass', members: ['*'] }],
        version: API_VERSION,
      },
    }).complete();
    const files = unzip(Buffer.from(result.zipFile, 'base64'));
    const got = (path) => Object.entries(files).find(([name]) => name === path || name.endsWith(`/${path}`))?.[1]?.toString('utf8');
    for (const path of ['triggers/JobTrigger.trigger', 'triggers/JobTrigger.trigger-meta.xml', 'classes/JobTriggerTest.cls', 'classes/JobTriggerTest.cls-meta.xml']) {
      assert.equal(got(path), FILES[path], `${path} in ${Object.keys(files)}`);
    }
  });

  it('refuses a deploy that asks for the tests to run', async () => {
    const req = await conn.metadata.deployRest(zip(FILES), { rollbackOnError: true, singlePackage: true, testLevel: 'RunLocalTests' });
    const r = await until(req.id);
    assert.equal(r.status, 'Failed');
    assert.equal(r.success, false);
    const said = JSON.stringify(r);
    assert.match(said, /forcebus runs no Apex tests/);
  });
});

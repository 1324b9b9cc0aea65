'use strict';
// What jsforce's own integration suite (its repository's test/*.test.ts, run against this
// server) found missing, as that suite's tests call it: REST /tabs and /theme
// (connection-meta.test.ts), the Tooling API's DebugLevel records (tooling.test.ts),
// updateMetadata of a custom object's label and description (metadata.test.ts), which
// was answered success and changed nothing, and renameMetadata's result (the old name).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');

let srv;
let conn;
before(async () => {
  srv = await startServer('jsforce-suite-gaps');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

const isString = (v) => typeof v === 'string';

describe('jsforce: what its own suite found', () => {
  it('tabs and theme', async () => {
    const tabs = await conn.tabs();
    assert.ok(Array.isArray(tabs) && tabs.length > 0);
    for (const tab of tabs) {
      assert.ok(isString(tab.label) && isString(tab.name) && isString(tab.url));
    }
    const theme = await conn.theme();
    assert.ok(Array.isArray(theme.themeItems) && theme.themeItems.length === tabs.length);
    for (const item of theme.themeItems) {
      assert.ok(isString(item.name));
      assert.ok(Array.isArray(item.colors) || item.colors === null);
      for (const icon of item.icons) {
        assert.ok(isString(icon.contentType) && isString(icon.url));
        assert.ok(typeof icon.height === 'number' && typeof icon.width === 'number');
      }
    }
  });

  it('a DebugLevel through the Tooling API: create, retrieve, update, delete', async () => {
    const DebugLevel = conn.tooling.sobject('DebugLevel');
    const levels = {
      ApexCode: 'ERROR', ApexProfiling: 'ERROR', Callout: 'ERROR', Database: 'ERROR',
      System: 'ERROR', Validation: 'ERROR', Visualforce: 'ERROR', Workflow: 'ERROR',
      Nba: 'ERROR',
    };
    const made = await DebugLevel.create({
      DeveloperName: 'jsforce_testing', MasterLabel: 'jsforce Testing', ...levels,
    });
    assert.ok(made.success && isString(made.id));
    const got = await DebugLevel.retrieve(made.id);
    assert.equal(got.MasterLabel, 'jsforce Testing');
    const updated = await DebugLevel.update({ Id: made.id, ApexCode: 'DEBUG' });
    assert.ok(updated.success);
    const found = await conn.tooling.query(`SELECT ApexCode FROM DebugLevel WHERE Id = '${made.id}'`);
    assert.equal(found.records[0].ApexCode, 'DEBUG');
    const gone = await DebugLevel.destroy(made.id);
    assert.ok(gone.success);
  });

  it("updateMetadata replaces a custom object's label and description", async () => {
    const created = await conn.metadata.create('CustomObject', {
      fullName: 'JSforceTestObjectSync1__c',
      label: 'Test Object Sync 1',
      pluralLabel: 'Test Object Sync 1',
      description: 'Created by jsforce',
      nameField: { type: 'AutoNumber', label: 'Sync Number', displayFormat: 'S-{000}' },
      deploymentStatus: 'InDevelopment',
      sharingModel: 'Private',
    });
    assert.ok(created.success, JSON.stringify(created));
    let read = await conn.metadata.read('CustomObject', 'JSforceTestObjectSync1__c');
    assert.equal(read.description, 'Created by jsforce');
    assert.equal(read.nameField.type, 'AutoNumber');
    assert.equal(read.nameField.displayFormat, 'S-{000}');
    assert.equal(read.sharingModel, 'Private');
    const updated = await conn.metadata.update('CustomObject', {
      fullName: 'JSforceTestObjectSync1__c',
      label: 'Updated Test Object Sync 2',
      pluralLabel: 'Updated Test Object Sync 2',
      description: null,
      nameField: { type: 'AutoNumber', label: 'Sync Number', displayFormat: 'S-{000}' },
      deploymentStatus: 'Deployed',
      sharingModel: 'ReadWrite',
    });
    assert.ok(updated.success, JSON.stringify(updated));
    read = await conn.metadata.read('CustomObject', 'JSforceTestObjectSync1__c');
    assert.equal(read.label, 'Updated Test Object Sync 2');
    assert.ok(read.description == null);
    assert.equal(read.deploymentStatus, 'Deployed');
    const made = await conn.sobject('JSforceTestObjectSync1__c').create({});
    const record = await conn.sobject('JSforceTestObjectSync1__c').retrieve(made.id);
    assert.equal(record.Name, 'S-001');
  });

  it('renameMetadata answers with the old name, as real orgs do', async () => {
    const result = await conn.metadata.rename(
      'CustomObject', 'JSforceTestObjectSync1__c', 'JSforceTestObjectSync1Updated__c',
    );
    assert.ok(result.success === true);
    assert.equal(result.fullName, 'JSforceTestObjectSync1__c');
    const read = await conn.metadata.read('CustomObject', 'JSforceTestObjectSync1Updated__c');
    assert.equal(read.fullName, 'JSforceTestObjectSync1Updated__c');
  });
});

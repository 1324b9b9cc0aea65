'use strict';
// The Metadata API's CRUD calls through jsforce's `conn.metadata` (SOAP at
// /services/Soap/m/{v}): describe, create (a CustomObject with a nested field, and
// CustomFields, one of them invalid: per-component results, not a fault), read (a
// missing name in its slot), list, delete; update answered per component as not yet
// served. Every change is seen at once by describe, SOQL and record writes.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');

let srv;
let conn;

before(async () => {
  srv = await startServer('metadata');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});

after(async () => {
  await srv?.stop();
});

describe('jsforce conn.metadata', () => {
  it('describe lists every metadata type: CustomObject with CustomField among its children, the channel types, Apex and the rest', async () => {
    const d = await conn.metadata.describe(API_VERSION);
    const byName = Object.fromEntries(d.metadataObjects.map((o) => [o.xmlName, o]));
    assert.ok(d.metadataObjects.length > 500, `${d.metadataObjects.length} types`);
    for (const t of ['CustomObject', 'PlatformEventChannel', 'PlatformEventChannelMember', 'ApexClass', 'ApexTrigger', 'Layout', 'PermissionSet', 'Flow', 'StaticResource']) {
      assert.ok(byName[t], `${t} is listed`);
    }
    const object = byName.CustomObject;
    assert.ok([object.childXmlNames].flat().includes('CustomField'), JSON.stringify(object.childXmlNames));
    assert.equal(object.directoryName, 'objects');
    assert.deepEqual([byName.ApexClass.directoryName, byName.ApexClass.suffix, String(byName.ApexClass.metaFile)], ['classes', 'cls', 'true']);
    assert.equal(d.partialSaveAllowed, true);
  });

  it('create: an object with a nested field is live at once', async () => {
    const r = await conn.metadata.create('CustomObject', {
      fullName: 'Project__c', label: 'Project', pluralLabel: 'Projects',
      nameField: { label: 'Project Name', type: 'Text' }, deploymentStatus: 'Deployed', sharingModel: 'ReadWrite',
      fields: [{ fullName: 'Budget__c', label: 'Budget', type: 'Currency', precision: 12, scale: 2 }],
    });
    assert.deepEqual(r, { fullName: 'Project__c', success: true, errors: [] });
    const d = await conn.request(`/services/data/v${API_VERSION}/sobjects/Project__c/describe`);
    assert.equal(d.labelPlural, 'Projects');
    const budget = d.fields.find((f) => f.name === 'Budget__c');
    assert.deepEqual([budget.type, budget.precision, budget.scale], ['currency', 12, 2]);
    const made = await conn.sobject('Project__c').create({ Name: 'Apollo', Budget__c: 1234.5 });
    assert.equal(made.success, true);
    const q = await conn.query('SELECT Name, Budget__c FROM Project__c');
    assert.deepEqual(q.records.map((x) => [x.Name, x.Budget__c]), [['Apollo', 1234.5]]);
  });

  it('create: one result per component, in order; a bad one fails alone', async () => {
    const r = await conn.metadata.create('CustomField', [
      { fullName: 'Account.Segment__c', label: 'Segment', type: 'Picklist',
        valueSet: { restricted: true, valueSetDefinition: { value: [
          { fullName: 'SMB', default: true, label: 'SMB' }, { fullName: 'Enterprise', default: false, label: 'Enterprise' }] } } },
      { fullName: 'Account.Bad Name', label: 'Bad', type: 'Text', length: 10 },
      { fullName: 'Account.Segment__c', label: 'Again', type: 'Text', length: 10 },
    ]);
    assert.deepEqual(r.map((x) => [x.fullName, x.success]),
      [['Account.Segment__c', true], ['Account.Bad Name', false], ['Account.Segment__c', false]]);
    assert.equal(r[1].errors[0].statusCode, 'FIELD_INTEGRITY_EXCEPTION');
    assert.equal(r[2].errors[0].statusCode, 'DUPLICATE_DEVELOPER_NAME');
    const acct = await conn.sobject('Account').create({ Name: 'Defaulted' });
    const back = await conn.sobject('Account').retrieve(acct.id);
    assert.equal(back.Segment__c, 'SMB', 'the picklist default');
    await assert.rejects(conn.sobject('Account').create({ Name: 'X', Segment__c: 'Nope' }),
      (e) => e.errorCode === 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');
  });

  it('read: the components asked for, a missing one in its slot', async () => {
    const [project, missing] = await conn.metadata.read('CustomObject', ['Project__c', 'Nope__c']);
    assert.equal(project.fullName, 'Project__c');
    assert.equal(project.label, 'Project');
    assert.deepEqual(project.fields.map((f) => [f.fullName, f.type, f.precision, f.scale]), [['Budget__c', 'Currency', 12, 2]]);
    assert.equal(missing.fullName, undefined, 'jsforce turns the nil record into an empty one');
    const field = await conn.metadata.read('CustomField', 'Account.Segment__c');
    assert.equal(field.type, 'Picklist');
    assert.deepEqual(field.valueSet.valueSetDefinition.value.map((v) => [v.fullName, v.default]), [['SMB', true], ['Enterprise', false]]);
  });

  it('list: custom fields with their ids and files', async () => {
    const list = await conn.metadata.list([{ type: 'CustomField' }], API_VERSION);
    const mine = list.filter((p) => ['Account.Segment__c', 'Project__c.Budget__c'].includes(p.fullName));
    assert.equal(mine.length, 2, JSON.stringify(list));
    for (const p of mine) {
      assert.match(p.id, /^00N[0-9A-Za-z]{15}$/);
      assert.equal(p.type, 'CustomField');
      assert.equal(p.fileName, `objects/${p.fullName.split('.')[0]}.object`);
    }
    const objects = await conn.metadata.list({ type: 'CustomObject' }, API_VERSION);
    const project = [objects].flat().find((p) => p.fullName === 'Project__c');
    assert.match(project.id, /^01I/);
  });

  it('delete: the field leaves describe and SOQL; a missing one fails alone', async () => {
    const r = await conn.metadata.delete('CustomField', ['Account.Segment__c', 'Account.Nope__c']);
    assert.deepEqual(r.map((x) => x.success), [true, false]);
    assert.equal(r[1].errors[0].statusCode, 'INVALID_CROSS_REFERENCE_KEY');
    await assert.rejects(conn.query('SELECT Segment__c FROM Account'), (e) => e.errorCode === 'INVALID_FIELD');
  });

  it('update replaces a field when every value fits, and refuses what would lose data', async () => {
    const r = await conn.metadata.update('CustomField', { fullName: 'Project__c.Budget__c', label: 'Budget (EUR)', type: 'Currency', precision: 14, scale: 2 });
    assert.deepEqual(r, { fullName: 'Project__c.Budget__c', success: true, errors: [] });
    const d = await conn.request(`/services/data/v${API_VERSION}/sobjects/Project__c/describe`);
    const budget = d.fields.find((f) => f.name === 'Budget__c');
    assert.deepEqual([budget.label, budget.precision], ['Budget (EUR)', 14]);
    const lossy = await conn.metadata.update('CustomField', { fullName: 'Project__c.Budget__c', label: 'B', type: 'Date' });
    assert.equal(lossy.success, false);
    assert.equal(lossy.errors[0].statusCode, 'FIELD_INTEGRITY_EXCEPTION');
    assert.match(lossy.errors[0].message, /Cannot change type due to existing data/);
    const missing = await conn.metadata.update('CustomField', { fullName: 'Project__c.Nope__c', label: 'N', type: 'Text', length: 5 });
    assert.equal(missing.errors[0].statusCode, 'INVALID_CROSS_REFERENCE_KEY');
  });

  it('a bad session is the INVALID_SESSION_ID fault', async () => {
    const bad = new jsforce.Connection({ instanceUrl: srv.baseUrl, accessToken: '00Dxx!nope', version: API_VERSION });
    await assert.rejects(bad.metadata.describe(API_VERSION), (e) => e.errorCode === 'sf:INVALID_SESSION_ID' || e.name === 'sf:INVALID_SESSION_ID' || /INVALID_SESSION_ID/.test(e.message));
  });
});

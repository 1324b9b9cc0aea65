'use strict';
// Live-schema Metadata API calls through jsforce's `conn.metadata` (SOAP at
// /services/Soap/m/{v}): `rename` of a CustomField (renameMetadata: a record's value
// follows the new name, the old name is gone from SOQL), `delete` of a CustomObject
// that has records (describe 404, SOQL INVALID_TYPE, the name free to be made again,
// empty), create/read/update/list/delete of PlatformEventChannel and
// PlatformEventChannelMember, the member's filtered, enriched change events on the
// custom channel `/data/Sales__chn` through jsforce's faye client, and a `deploy` whose
// destructiveChanges.xml names a missing field (the Warning `No CustomField named: …
// found` fails the deploy unless `ignoreWarnings`), and one deleting a platform event with
// its field.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { startServer, uniq, API_VERSION } = require('./server');
const { zip } = require('./helpers/zip');
const { TEST_TIMEOUT_MS, waitUntil, settle, withTimeout, findChange, summary } = require('./helpers/streaming');
const { disconnectFaye } = require('./helpers/faye');

const MD = 'http://soap.sforce.com/2006/04/metadata';
const PACKAGE = (types) => `<?xml version="1.0" encoding="UTF-8"?><Package xmlns="${MD}">${
  Object.entries(types).map(([name, members]) => `<types>${members.map((m) => `<members>${m}</members>`).join('')}<name>${name}</name></types>`).join('')
}<version>${API_VERSION}</version></Package>`;
const OBJECT = (name, fields = []) => ({
  fullName: name, label: name, pluralLabel: `${name}s`, nameField: { label: 'Name', type: 'Text' },
  deploymentStatus: 'Deployed', sharingModel: 'ReadWrite', fields,
});
const CHANNEL = { fullName: 'Sales__chn', channelType: 'data', label: 'Sales' };
const MEMBER = {
  fullName: 'Sales_chn_AccountChangeEvent', eventChannel: 'Sales__chn', selectedEntity: 'AccountChangeEvent',
  enrichedFields: [{ name: 'Industry' }], filterExpression: "Industry = 'Energy'",
};

let srv;
let conn;
const fayes = [];

before(async () => {
  srv = await startServer('metadata-live');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});

after(async () => {
  for (const f of fayes) await disconnectFaye(f);
  await srv?.stop();
});

const describeStatus = (object) => conn.request(`/services/data/v${API_VERSION}/sobjects/${object}/describe`)
  .then(() => 200, (e) => e.errorCode);

/** A faye client with the Replay extension subscribed to `channel`; returns the array events go into. */
async function subscribe(channel, replay = -1) {
  const got = [];
  const client = conn.streaming.createClient([new StreamingExtension.Replay(channel, replay)]);
  fayes.push(client);
  await withTimeout(client.subscribe(channel, (d) => got.push(d)), `subscribe ${channel} (${replay})`);
  return got;
}

describe('jsforce conn.metadata: rename and object delete', () => {
  it('rename: a record keeps its value under the new field name; the old name is gone', async () => {
    const made = await conn.metadata.create('CustomObject', OBJECT('Gadget__c', [{ fullName: 'Old__c', label: 'Old', type: 'Text', length: 40 }]));
    assert.equal(made.success, true, JSON.stringify(made));
    const rec = await conn.sobject('Gadget__c').create({ Name: 'g1', Old__c: 'kept value' });

    const r = await conn.metadata.rename('CustomField', 'Gadget__c.Old__c', 'Gadget__c.New__c');
    // The result names the old name, as real orgs answer (jsforce's own suite, run against
    // them, asserts it; the Metadata API guide says the new one).
    assert.deepEqual(r, { fullName: 'Gadget__c.Old__c', success: true, errors: [] });

    const back = await conn.sobject('Gadget__c').retrieve(rec.id);
    assert.equal(back.New__c, 'kept value');
    assert.ok(!('Old__c' in back), 'no Old__c on the record');
    const q = await conn.query('SELECT Name, New__c FROM Gadget__c');
    assert.deepEqual(q.records.map((x) => [x.Name, x.New__c]), [['g1', 'kept value']]);
    await assert.rejects(conn.query('SELECT Old__c FROM Gadget__c'), (e) => e.errorCode === 'INVALID_FIELD');
    const [now, old] = await conn.metadata.read('CustomField', ['Gadget__c.New__c', 'Gadget__c.Old__c']);
    assert.deepEqual([now.fullName, now.type, now.length], ['Gadget__c.New__c', 'Text', 40]);
    assert.equal(old.fullName, undefined, 'the old name reads as the nil record');
  });

  it('rename of a missing field, or onto a taken name, fails in its SaveResult', async () => {
    await conn.metadata.create('CustomField', { fullName: 'Gadget__c.Other__c', label: 'Other', type: 'Text', length: 5 });
    const missing = await conn.metadata.rename('CustomField', 'Gadget__c.Nope__c', 'Gadget__c.X__c');
    assert.equal(missing.success, false);
    assert.equal(missing.errors[0].statusCode, 'INVALID_CROSS_REFERENCE_KEY');
    const taken = await conn.metadata.rename('CustomField', 'Gadget__c.New__c', 'Gadget__c.Other__c');
    assert.equal(taken.success, false);
    assert.equal(taken.errors[0].statusCode, 'DUPLICATE_DEVELOPER_NAME');
    const back = await conn.query('SELECT New__c FROM Gadget__c');
    assert.equal(back.records[0].New__c, 'kept value', 'nothing changed');
  });

  it('delete of an object with records: describe 404, SOQL INVALID_TYPE; made again it is empty', async () => {
    const rec = await conn.sobject('Gadget__c').create({ Name: 'g2' });
    assert.equal((await conn.query('SELECT Id FROM Gadget__c')).totalSize, 2);

    const r = await conn.metadata.delete('CustomObject', 'Gadget__c');
    assert.deepEqual(r, { fullName: 'Gadget__c', success: true, errors: [] });
    assert.equal(await describeStatus('Gadget__c'), 'NOT_FOUND');
    await assert.rejects(conn.query('SELECT Id FROM Gadget__c'), (e) => e.errorCode === 'INVALID_TYPE');
    const list = await conn.metadata.list({ type: 'CustomObject' }, API_VERSION);
    assert.ok(![list].flat().some((p) => p.fullName === 'Gadget__c'), 'not listed');
    const again = await conn.metadata.delete('CustomObject', 'Gadget__c');
    assert.equal(again.errors[0].statusCode, 'INVALID_CROSS_REFERENCE_KEY');

    const remade = await conn.metadata.create('CustomObject', OBJECT('Gadget__c'));
    assert.equal(remade.success, true, JSON.stringify(remade));
    assert.equal((await conn.query('SELECT Id FROM Gadget__c')).totalSize, 0, 'the old records are gone');
    await assert.rejects(conn.sobject('Gadget__c').retrieve(rec.id), (e) => e.errorCode === 'NOT_FOUND');
    const d = await conn.request(`/services/data/v${API_VERSION}/sobjects/Gadget__c/describe`);
    assert.ok(!d.fields.some((f) => ['New__c', 'Other__c'].includes(f.name)), 'the old fields are gone');
  });
});

describe('jsforce conn.metadata: PlatformEventChannel and PlatformEventChannelMember', () => {
  it('describe lists both types', async () => {
    const d = await conn.metadata.describe(API_VERSION);
    const byName = Object.fromEntries(d.metadataObjects.map((o) => [o.xmlName, o]));
    assert.deepEqual([byName.PlatformEventChannel?.directoryName, byName.PlatformEventChannel?.suffix], ['platformEventChannels', 'platformEventChannel']);
    assert.deepEqual([byName.PlatformEventChannelMember?.directoryName, byName.PlatformEventChannelMember?.suffix],
      ['platformEventChannelMembers', 'platformEventChannelMember']);
  });

  it('create, read, list and update a channel and a member', async () => {
    assert.deepEqual(await conn.metadata.create('PlatformEventChannel', CHANNEL), { fullName: 'Sales__chn', success: true, errors: [] });
    assert.deepEqual(await conn.metadata.create('PlatformEventChannelMember', MEMBER),
      { fullName: 'Sales_chn_AccountChangeEvent', success: true, errors: [] });
    const dup = await conn.metadata.create('PlatformEventChannel', CHANNEL);
    assert.equal(dup.errors[0].statusCode, 'DUPLICATE_DEVELOPER_NAME');

    const chn = await conn.metadata.read('PlatformEventChannel', 'Sales__chn');
    assert.deepEqual([chn.fullName, chn.channelType, chn.label], ['Sales__chn', 'data', 'Sales']);
    const mem = await conn.metadata.read('PlatformEventChannelMember', 'Sales_chn_AccountChangeEvent');
    assert.deepEqual([mem.fullName, mem.eventChannel, mem.selectedEntity, mem.filterExpression],
      ['Sales_chn_AccountChangeEvent', 'Sales__chn', 'AccountChangeEvent', "Industry = 'Energy'"]);
    // One enrichedFields element: jsforce gives an object, not a one-element array.
    assert.deepEqual([mem.enrichedFields].flat(), [{ name: 'Industry' }]);

    const list = [await conn.metadata.list([{ type: 'PlatformEventChannel' }, { type: 'PlatformEventChannelMember' }], API_VERSION)].flat();
    const byType = Object.fromEntries(list.map((p) => [p.type, p]));
    assert.deepEqual([byType.PlatformEventChannel?.fullName, byType.PlatformEventChannel?.fileName],
      ['Sales__chn', 'platformEventChannels/Sales__chn.platformEventChannel']);
    assert.deepEqual([byType.PlatformEventChannelMember?.fullName, byType.PlatformEventChannelMember?.fileName],
      ['Sales_chn_AccountChangeEvent', 'platformEventChannelMembers/Sales_chn_AccountChangeEvent.platformEventChannelMember']);
    assert.match(byType.PlatformEventChannel.id, /^0YL[0-9A-Za-z]{15}$/);

    const upd = await conn.metadata.update('PlatformEventChannel', { ...CHANNEL, label: 'Sales Events' });
    assert.equal(upd.success, true, JSON.stringify(upd));
    assert.equal((await conn.metadata.read('PlatformEventChannel', 'Sales__chn')).label, 'Sales Events');
    const moved = await conn.metadata.update('PlatformEventChannelMember', { ...MEMBER, selectedEntity: 'ContactChangeEvent' });
    assert.equal(moved.success, false, 'selectedEntity cannot change');
    assert.equal((await conn.metadata.read('PlatformEventChannelMember', MEMBER.fullName)).selectedEntity, 'AccountChangeEvent');
  });

  it("the member's events arrive on /data/Sales__chn: filtered on Industry, Industry enriched", { timeout: TEST_TIMEOUT_MS }, async () => {
    const got = await subscribe('/data/Sales__chn');
    const energy = await conn.sobject('Account').create({ Name: uniq('energy'), Industry: 'Energy' });
    const banking = await conn.sobject('Account').create({ Name: uniq('banking'), Industry: 'Banking' });
    await conn.sobject('Account').update({ Id: energy.id, Phone: '555-0100' });
    await waitUntil(() => findChange(got, energy.id, 'UPDATE'), 'the Energy UPDATE', { describe: () => summary(got) });
    await settle();
    assert.ok(findChange(got, energy.id, 'CREATE'), `the Energy CREATE: ${summary(got)}`);
    assert.equal(got.filter((d) => d.payload.ChangeEventHeader.recordIds.includes(banking.id)).length, 0,
      `nothing for the Banking Account: ${summary(got)}`);
    const upd = findChange(got, energy.id, 'UPDATE');
    assert.equal(upd.payload.ChangeEventHeader.entityName, 'Account');
    assert.deepEqual(upd.payload.ChangeEventHeader.changedFields.sort(), ['LastModifiedDate', 'Phone']);
    assert.equal(upd.payload.Industry, 'Energy', 'the enriched field, unchanged, in the UPDATE');
  });

  it('/event/Sales__chn is not a channel for a data channel', { timeout: TEST_TIMEOUT_MS }, async () => {
    const client = conn.streaming.createClient([]);
    fayes.push(client);
    await assert.rejects(withTimeout(client.subscribe('/event/Sales__chn', () => {}), 'subscribe /event/Sales__chn'),
      (e) => /does not exist/.test(String(e.message || e)));
  });

  it('a subscriber connected before a member is added gets its events', { timeout: TEST_TIMEOUT_MS }, async () => {
    const got = await subscribe('/data/Sales__chn');
    const member = { fullName: 'Sales_chn_ContactChangeEvent', eventChannel: 'Sales__chn', selectedEntity: 'ContactChangeEvent' };
    assert.equal((await conn.metadata.create('PlatformEventChannelMember', member)).success, true);
    try {
      const contact = await conn.sobject('Contact').create({ LastName: uniq('chn') });
      await waitUntil(() => findChange(got, contact.id), 'the Contact CREATE on the channel', { ms: 5000, describe: () => summary(got) });
    } finally {
      assert.equal((await conn.metadata.delete('PlatformEventChannelMember', member.fullName)).success, true);
    }
  });

  it('deleting the member stops its events; then the channel goes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const got = await subscribe('/data/Sales__chn');
    const r = await conn.metadata.delete('PlatformEventChannelMember', MEMBER.fullName);
    assert.deepEqual(r, { fullName: MEMBER.fullName, success: true, errors: [] });
    const quiet = await conn.sobject('Account').create({ Name: uniq('after'), Industry: 'Energy' });
    await settle(1000);
    assert.equal(findChange(got, quiet.id), undefined, `no event once the member is gone: ${summary(got)}`);

    assert.equal((await conn.metadata.delete('PlatformEventChannel', 'Sales__chn')).success, true);
    const list = await conn.metadata.list([{ type: 'PlatformEventChannel' }, { type: 'PlatformEventChannelMember' }], API_VERSION);
    assert.deepEqual([list].flat().filter(Boolean), []);
    const [missing] = await conn.metadata.read('PlatformEventChannel', ['Sales__chn']);
    assert.equal(missing.fullName, undefined);
  });
});

describe('jsforce conn.metadata.deploy with destructiveChanges.xml', () => {
  const destructive = (fields) => zip({
    'package.xml': PACKAGE({}),
    'destructiveChanges.xml': PACKAGE({ CustomField: fields }),
  });
  const fieldNames = async () => (await conn.request(`/services/data/v${API_VERSION}/sobjects/Account/describe`)).fields.map((f) => f.name);

  before(async () => {
    const r = await conn.metadata.create('CustomField', [
      { fullName: 'Account.Doomed__c', label: 'Doomed', type: 'Text', length: 10 },
      { fullName: 'Account.Doomed2__c', label: 'Doomed2', type: 'Text', length: 10 },
    ]);
    assert.deepEqual(r.map((x) => x.success), [true, true]);
  });

  it('a missing field is a Warning that fails the deploy; nothing is deleted', async () => {
    const r = await conn.metadata.deploy(destructive(['Account.Doomed__c', 'Account.Ghost__c']), { singlePackage: true, rollbackOnError: true })
      .complete(true);
    assert.equal(r.status, 'Failed');
    assert.equal(r.success, false);
    const [warning] = [r.details.componentFailures].flat();
    assert.deepEqual([warning.componentType, warning.fullName, warning.fileName, warning.problemType, warning.problem],
      ['CustomField', 'destructiveChanges.xml', 'destructiveChanges.xml', 'Warning', 'No CustomField named: Account.Ghost__c found']);
    assert.ok((await fieldNames()).includes('Doomed__c'), 'rolled back: Doomed__c is still there');
  });

  it('with ignoreWarnings the deploy succeeds and deletes the field that exists', async () => {
    const r = await conn.metadata.deploy(destructive(['Account.Doomed__c', 'Account.Ghost__c']).toString('base64'),
      { singlePackage: true, rollbackOnError: true, ignoreWarnings: true }).complete(true);
    assert.equal(r.status, 'Succeeded');
    assert.equal(r.success, true);
    assert.equal(r.ignoreWarnings, true);
    const msgs = [r.details.componentSuccesses].flat();
    const deleted = msgs.find((m) => m.fullName === 'Account.Doomed__c');
    assert.deepEqual([deleted?.componentType, deleted?.deleted, deleted?.success], ['CustomField', true, true]);
    const warning = msgs.find((m) => m.problemType === 'Warning');
    assert.equal(warning?.problem, 'No CustomField named: Account.Ghost__c found');
    const names = await fieldNames();
    assert.ok(!names.includes('Doomed__c') && names.includes('Doomed2__c'), JSON.stringify(names.filter((n) => n.endsWith('__c'))));
    await assert.rejects(conn.query('SELECT Doomed__c FROM Account'), (e) => e.errorCode === 'INVALID_FIELD');
  });

  it('destructiveChangesPre naming a platform event and its field removes the event', async () => {
    const made = await conn.metadata.create('CustomObject', {
      fullName: 'Cargo_Loaded__e', label: 'Cargo Loaded', pluralLabel: 'Cargo Loaded', deploymentStatus: 'Deployed',
      eventType: 'HighVolume', publishBehavior: 'PublishAfterCommit', fields: [{ fullName: 'Weight__c', label: 'Weight', type: 'Number', precision: 9, scale: 0 }],
    });
    assert.equal(made.success, true, JSON.stringify(made));
    // What SDR sends for an event deleted from a project: the object and its fields.
    const z = zip({
      'package.xml': PACKAGE({}),
      'destructiveChangesPre.xml': PACKAGE({ CustomField: ['Cargo_Loaded__e.Weight__c'], CustomObject: ['Cargo_Loaded__e'] }),
    });
    const r = await conn.metadata.deploy(z, { singlePackage: true, rollbackOnError: true }).complete(true);
    assert.equal(r.status, 'Succeeded', JSON.stringify(r.details));
    assert.deepEqual([r.details.componentSuccesses].flat().filter((m) => m.deleted).map((m) => m.fullName).sort(),
      ['Cargo_Loaded__e', 'Cargo_Loaded__e.Weight__c']);
    assert.equal(await describeStatus('Cargo_Loaded__e'), 'NOT_FOUND', 'the event is gone, not left without its fields');
    await assert.rejects(conn.sobject('Cargo_Loaded__e').create({}), (e) => e.errorCode === 'NOT_FOUND', 'nothing to publish');
  });
});

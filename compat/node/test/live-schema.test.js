'use strict';
// Live schema through jsforce's Tooling API calls: a CustomField made
// with `conn.tooling.sobject('CustomField').create({FullName, Metadata})` is at once
// in describe, SOQL and record writes (picklist default, restricted values), read
// back with `retrieve(id)` and removed with `destroy(id)`; Account's change-event
// schema gets a new id (old ids keep resolving), and CometD subscribers connected
// BEFORE the change — a `createClient([Replay -1])` faye client and
// `conn.streaming.topic('/data/AccountChangeEvent')` (no ext.replay) — receive the
// next events with the new id in `data.schema` and the field in the payload, while
// a -2 replay still shows the earlier event under the old id. A CustomObject made
// the same way, with Lookup and defaulted Text fields; bad changes as jsforce
// errors carrying the errorCode (a field a PushTopic query names is kept until the
// topic goes); and a server on a data dir killed with SIGKILL and
// restarted keeps the object, the fields, their records and the schema ids.
//
// jsforce caches describe results per Connection: `describe()` always asks the
// server (and refreshes the cache), `describe$()` answers from the cache once
// something is in it — so a `describe$()` from before a schema change stays stale,
// and so does what jsforce derives from it (`find(…, '*')`, `retrieve` of several
// ids), until `describe()` is called again.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { startServer, uniq, API_VERSION } = require('./server');
const {
  TEST_TIMEOUT_MS, waitUntil, withTimeout, findChange, summary, checkChangeEvent,
} = require('./helpers/streaming');
const { disconnectFaye, topicClients } = require('./helpers/faye');

const CHANNEL = '/data/AccountChangeEvent';
const FIELD_ID = /^00N[0-9A-Za-z]{15}$/;
const OBJECT_ID = /^01I[0-9A-Za-z]{15}$/;

const TIER = {
  FullName: 'Account.Tier__c',
  Metadata: {
    label: 'Tier',
    type: 'Picklist',
    valueSet: {
      restricted: true,
      valueSetDefinition: { value: [{ fullName: 'Gold', default: true }, { fullName: 'Silver' }] },
    },
  },
};

let srv;
let conn;
const conns = [];
const fayes = [];
before(async () => {
  srv = await startServer('live-schema');
  conn = connectionTo(srv);
});
after(async () => {
  for (const f of fayes) await disconnectFaye(f);
  for (const c of conns) for (const f of topicClients(c)) await disconnectFaye(f);
  await srv?.stop();
});

function connectionTo(server) {
  const c = new jsforce.Connection({ instanceUrl: server.baseUrl, accessToken: server.info.access_token, version: API_VERSION });
  conns.push(c);
  return c;
}

/** The change-event schema id Account's events are written with now (`GET /sobjects/AccountChangeEvent/eventSchema`). */
async function schemaId(c, event = 'AccountChangeEvent') {
  const s = await c.request(`/services/data/v${API_VERSION}/sobjects/${event}/eventSchema`);
  assert.match(s.uuid, /^[\w-]{22}$/, `eventSchema uuid: ${JSON.stringify(s).slice(0, 200)}`);
  return s.uuid;
}

/** The names of the Payload record's fields in an eventSchema JSON. */
function payloadFields(schema) {
  const walk = (t) => {
    if (!t || typeof t !== 'object') return null;
    if (Array.isArray(t)) return t.map(walk).find(Boolean) || null;
    if (t.type === 'record' && t.name === 'Payload') return t.fields.map((f) => f.name);
    for (const f of t.fields || []) {
      const r = walk(f.type);
      if (r) return r;
    }
    return null;
  };
  const names = walk(schema);
  assert.ok(names, `no Payload record in ${JSON.stringify(schema).slice(0, 300)}`);
  return names;
}

const fieldOf = (d, name) => d.fields.find((f) => f.name === name);

/** A promise that rejects: resolves with the error (fails if it resolved). */
async function rejection(promise, what) {
  return promise.then((v) => assert.fail(`${what} succeeded: ${JSON.stringify(v)}`), (e) => e);
}

describe('jsforce: a CustomField made through the Tooling API is live at once', () => {
  // Carried between the tests of this describe (they run in order).
  const st = {};

  it('create: describe (jsforce\'s cache aside), SOQL, picklist default and restriction; connected CometD subscribers get the new schema id and the field', { timeout: TEST_TIMEOUT_MS }, async () => {
    // jsforce's describe cache, filled before the change.
    const cached = await conn.sobject('Account').describe$();
    assert.equal(fieldOf(cached, 'Tier__c'), undefined, 'no Tier__c before');
    const oldSchema = await schemaId(conn);

    // Two subscribers connected before the change: a faye client with the Replay
    // extension at -1, and jsforce's topic() (its shared client sends no ext.replay).
    const viaReplay = [];
    const failures = [];
    const client = conn.streaming.createClient([
      new StreamingExtension.Replay(CHANNEL, -1),
      new StreamingExtension.AuthFailure((m) => failures.push(m)),
    ]);
    fayes.push(client);
    await withTimeout(client.subscribe(CHANNEL, (d) => viaReplay.push(d)), `subscribe ${CHANNEL} (-1)`);
    const topicConn = connectionTo(srv);
    const viaTopic = [];
    await withTimeout(topicConn.streaming.topic(CHANNEL).subscribe((d) => viaTopic.push(d)), `topic(${CHANNEL}).subscribe`);

    // One event before the change, in the old schema.
    const before1 = await conn.sobject('Account').create({ Name: uniq('ls-before') });
    for (const got of [viaReplay, viaTopic]) {
      await waitUntil(() => findChange(got, before1.id), 'the CREATE from before the change', { describe: () => summary(got) });
      const e = findChange(got, before1.id);
      assert.equal(e.schema, oldSchema, 'before the change: the old schema id');
      assert.ok(!('Tier__c' in e.payload), 'before the change: no Tier__c in the payload');
    }

    // The change.
    const made = await conn.tooling.sobject('CustomField').create(TIER);
    assert.equal(made.success, true, JSON.stringify(made));
    assert.match(made.id, FIELD_ID, JSON.stringify(made));
    assert.deepEqual(made.errors, []);

    // jsforce: describe$() answers from its cache (still without the field);
    // describe() asks the server, sees the field and refreshes the cache.
    const stale = await conn.sobject('Account').describe$();
    assert.equal(fieldOf(stale, 'Tier__c'), undefined, 'jsforce\'s describe$() is its cached, pre-change describe');
    const fresh = await conn.sobject('Account').describe();
    const f = fieldOf(fresh, 'Tier__c');
    assert.ok(f, 'describe() sees Tier__c at once');
    assert.equal(f.type, 'picklist');
    assert.equal(f.label, 'Tier');
    assert.equal(f.custom, true);
    assert.equal(f.restrictedPicklist, true);
    assert.equal(f.nillable, true);
    assert.deepEqual(f.picklistValues.map((v) => [v.value, v.label, v.active]), [['Gold', 'Gold', true], ['Silver', 'Silver', true]]);
    assert.ok(fieldOf(await conn.sobject('Account').describe$(), 'Tier__c'), 'describe() refreshed jsforce\'s cache');

    // A new schema id; the old one still resolves, without the field.
    const newSchema = await schemaId(conn);
    assert.notEqual(newSchema, oldSchema, 'Account\'s change-event schema has a new id');
    const oldJson = await conn.request(`/services/data/v${API_VERSION}/event/eventSchema/${oldSchema}`);
    assert.equal(oldJson.uuid, oldSchema);
    assert.ok(!payloadFields(oldJson).includes('Tier__c'), 'the old schema has no Tier__c');
    const newJson = await conn.request(`/services/data/v${API_VERSION}/event/eventSchema/${newSchema}`);
    assert.ok(payloadFields(newJson).includes('Tier__c'), 'the new schema has Tier__c');

    // Writes: the picklist default, an explicit value, a value outside the restricted set.
    const gold = await conn.sobject('Account').create({ Name: uniq('ls-gold') });
    const silver = await conn.sobject('Account').create({ Name: uniq('ls-silver'), Tier__c: 'Silver' });
    const bronze = await rejection(conn.sobject('Account').create({ Name: uniq('ls-bronze'), Tier__c: 'Bronze' }), 'a restricted value');
    assert.equal(bronze.errorCode, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', bronze.message);
    assert.deepEqual(bronze.data?.fields, ['Tier__c']);
    assert.equal((await conn.sobject('Account').retrieve(gold.id)).Tier__c, 'Gold', 'the default value');

    // SOQL, and jsforce's '*' (expanded from the now refreshed describe cache).
    const q = await conn.query(`SELECT Id, Tier__c FROM Account WHERE Tier__c = 'Silver' AND Id IN ('${gold.id}', '${silver.id}')`);
    assert.deepEqual(q.records.map((r) => [r.Id, r.Tier__c]), [[silver.id, 'Silver']]);
    const star = await conn.sobject('Account').find({ Id: gold.id }, '*');
    assert.equal(star[0]?.Tier__c, 'Gold', 'find(…, \'*\') selects Tier__c');
    const before1Row = await conn.sobject('Account').retrieve(before1.id);
    assert.equal(before1Row.Tier__c, null, 'a record from before the field has no value');

    // An update of the new field.
    await conn.sobject('Account').update({ Id: gold.id, Tier__c: 'Silver' });

    // Both connected subscribers: the new schema id and the field.
    const userId = srv.info.user_id;
    for (const [name, got] of [['Replay -1', viaReplay], ['topic()', viaTopic]]) {
      await waitUntil(() => findChange(got, gold.id, 'UPDATE'), `${name}: the UPDATE of Tier__c`, { describe: () => summary(got) });
      const cg = findChange(got, gold.id);
      const cs = findChange(got, silver.id);
      const ug = findChange(got, gold.id, 'UPDATE');
      for (const e of [cg, cs, ug]) assert.equal(e.schema, newSchema, `${name}: data.schema is the new id`);
      checkChangeEvent(cg, { entityName: 'Account', recordId: gold.id, changeType: 'CREATE', userId, fields: { Tier__c: 'Gold' } });
      checkChangeEvent(cs, { entityName: 'Account', recordId: silver.id, changeType: 'CREATE', userId, fields: { Tier__c: 'Silver' } });
      checkChangeEvent(ug, { entityName: 'Account', recordId: gold.id, changeType: 'UPDATE', userId, fields: { Tier__c: 'Silver' } });
      assert.ok(ug.payload.ChangeEventHeader.changedFields.includes('Tier__c'), `${name}: changedFields names Tier__c`);
      assert.equal(got.filter((d) => d.payload.ChangeEventHeader.recordIds.includes(gold.id)).length, 2, `${name}: ${summary(got)}`);
    }
    assert.deepEqual(failures, []);

    // A -2 subscriber after the change: the retained events keep their schema ids.
    const all = [];
    const replayAll = conn.streaming.createClient([new StreamingExtension.Replay(CHANNEL, -2)]);
    fayes.push(replayAll);
    await withTimeout(replayAll.subscribe(CHANNEL, (d) => all.push(d)), `subscribe ${CHANNEL} (-2)`);
    await waitUntil(() => findChange(all, gold.id, 'UPDATE'), 'the UPDATE replayed with -2', { describe: () => summary(all) });
    assert.equal(findChange(all, before1.id).schema, oldSchema, '-2: the earlier event keeps the old schema id');
    assert.equal(findChange(all, gold.id).schema, newSchema);
    await disconnectFaye(replayAll);

    Object.assign(st, {
      id: made.id, oldSchema, newSchema, viaReplay, viaTopic, gold: gold.id, silver: silver.id,
    });
  });

  it('retrieve(id) reads it back as the Tooling API shows it', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(st.id, 'the previous test made the field');
    const back = await conn.tooling.sobject('CustomField').retrieve(st.id);
    assert.equal(back.Id, st.id);
    assert.equal(back.attributes?.type, 'CustomField');
    assert.equal(back.FullName, 'Account.Tier__c');
    assert.equal(back.DeveloperName, 'Tier');
    assert.equal(back.TableEnumOrId, 'Account');
    assert.equal(back.Metadata.label, 'Tier');
    assert.equal(back.Metadata.type, 'Picklist');
    assert.equal(back.Metadata.valueSet.restricted, true);
    assert.deepEqual(back.Metadata.valueSet.valueSetDefinition.value.map((v) => [v.fullName, v.default]), [['Gold', true], ['Silver', false]]);
  });

  it('describe marks the default picklist value (picklistValues[].defaultValue)', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const f = fieldOf(await conn.sobject('Account').describe(), 'Tier__c');
    assert.ok(f, 'Tier__c is described');
    assert.deepEqual(f.picklistValues.map((v) => [v.value, v.defaultValue]), [['Gold', true], ['Silver', false]]);
  });

  it('destroy(id): gone from describe and SOQL at once, its values cleared; events in a newer schema', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(st.id, 'the first test made the field');
    const res = await conn.tooling.sobject('CustomField').destroy(st.id);
    // 204: jsforce makes up its own result.
    assert.deepEqual(res, { id: st.id, success: true, errors: [] });

    assert.equal(fieldOf(await conn.sobject('Account').describe(), 'Tier__c'), undefined, 'describe() no longer has Tier__c');
    const soql = await rejection(conn.query(`SELECT Tier__c FROM Account WHERE Id = '${st.gold}'`), 'SOQL on a deleted field');
    assert.equal(soql.errorCode, 'INVALID_FIELD', soql.message);
    const write = await rejection(conn.sobject('Account').update({ Id: st.gold, Tier__c: 'Gold' }), 'writing a deleted field');
    assert.equal(write.errorCode, 'INVALID_FIELD', write.message);
    const gone = await rejection(conn.tooling.sobject('CustomField').retrieve(st.id), 'retrieve of a deleted field');
    assert.equal(gone.errorCode, 'NOT_FOUND', gone.message);

    const afterDelete = await schemaId(conn);
    assert.notEqual(afterDelete, st.newSchema, 'a schema without the field has another id');
    const { uuid } = await conn.request(`/services/data/v${API_VERSION}/event/eventSchema/${st.newSchema}`);
    assert.equal(uuid, st.newSchema, 'the id with the field still resolves');

    // The subscribers still connected from the first test.
    await conn.sobject('Account').update({ Id: st.silver, Phone: '555-0160' });
    for (const got of [st.viaReplay, st.viaTopic]) {
      const u = await waitUntil(() => findChange(got, st.silver, 'UPDATE'), 'the UPDATE after the delete', { describe: () => summary(got) });
      assert.equal(u.schema, afterDelete);
      assert.equal(u.payload.Phone, '555-0160');
      assert.ok(!('Tier__c' in u.payload), 'no Tier__c in the payload');
    }

    // A field made again under the same name starts empty: the old values went with the delete.
    const again = await conn.tooling.sobject('CustomField').create({
      FullName: 'Account.Tier__c', Metadata: { label: 'Tier again', type: 'Text', length: 20 },
    });
    assert.match(again.id, FIELD_ID);
    assert.notEqual(again.id, st.id, 'a new field id');
    const rows = await conn.query(`SELECT Id, Tier__c FROM Account WHERE Id IN ('${st.gold}', '${st.silver}') ORDER BY Id`);
    assert.deepEqual(rows.records.map((r) => r.Tier__c), [null, null], 'no value survived the delete');
    assert.equal(fieldOf(await conn.sobject('Account').describe(), 'Tier__c')?.type, 'string', 'now a Text field');
    await conn.tooling.sobject('CustomField').destroy(again.id);
  });
});

describe('jsforce: a CustomObject made through the Tooling API', () => {
  it('create, fields (Lookup with a relationship, Text with a default), records, relationship queries, retrieve', { timeout: TEST_TIMEOUT_MS }, async () => {
    const made = await conn.tooling.sobject('CustomObject').create({
      FullName: 'Employee__c', Metadata: { label: 'Employee', pluralLabel: 'Employees' },
    });
    assert.equal(made.success, true, JSON.stringify(made));
    assert.match(made.id, OBJECT_ID);

    const d = await conn.sobject('Employee__c').describe();
    assert.equal(d.name, 'Employee__c');
    assert.equal(d.label, 'Employee');
    assert.equal(d.labelPlural, 'Employees');
    assert.equal(d.custom, true);
    assert.equal(d.createable, true);
    for (const n of ['Id', 'Name', 'OwnerId', 'CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById', 'SystemModstamp', 'IsDeleted']) {
      assert.ok(fieldOf(d, n), `Employee__c has ${n}`);
    }
    const global = await conn.describeGlobal();
    assert.ok(global.sobjects.some((s) => s.name === 'Employee__c'), 'describeGlobal() lists it');

    const lookup = await conn.tooling.sobject('CustomField').create({
      FullName: 'Employee__c.Employer__c',
      Metadata: { label: 'Employer', type: 'Lookup', referenceTo: 'Account', relationshipName: 'Employees' },
    });
    const status = await conn.tooling.sobject('CustomField').create({
      FullName: 'Employee__c.Status__c', Metadata: { label: 'Status', type: 'Text', length: 20, defaultValue: '"Draft"' },
    });
    assert.match(lookup.id, FIELD_ID);
    assert.match(status.id, FIELD_ID);
    const d2 = await conn.sobject('Employee__c').describe();
    const emp = fieldOf(d2, 'Employer__c');
    assert.equal(emp?.type, 'reference');
    assert.deepEqual(emp.referenceTo, ['Account']);
    assert.equal(emp.relationshipName, 'Employer__r');
    assert.equal(fieldOf(d2, 'Status__c')?.length, 20);
    const accountDescribe = await conn.sobject('Account').describe();
    const child = accountDescribe.childRelationships.find((r) => r.childSObject === 'Employee__c');
    assert.equal(child?.relationshipName, 'Employees__r', JSON.stringify(child));
    assert.equal(child.field, 'Employer__c');

    const employer = uniq('ls-employer');
    const acct = await conn.sobject('Account').create({ Name: employer });
    const ada = await conn.sobject('Employee__c').create({ Name: 'Ada', Employer__c: acct.id });
    const bob = await conn.sobject('Employee__c').create({ Name: 'Bob', Employer__c: acct.id, Status__c: 'Active' });
    assert.equal(ada.success, true);
    const rows = await conn.query(`SELECT Name, Status__c, Employer__r.Name FROM Employee__c WHERE Employer__c = '${acct.id}' ORDER BY Name`);
    assert.deepEqual(rows.records.map((r) => [r.Name, r.Status__c, r.Employer__r?.Name]),
      [['Ada', 'Draft', employer], ['Bob', 'Active', employer]], 'the Text default and the parent path');
    const parent = await conn.query(`SELECT Id, (SELECT Name FROM Employees__r ORDER BY Name) FROM Account WHERE Id = '${acct.id}'`);
    assert.deepEqual(parent.records[0].Employees__r.records.map((r) => r.Name), ['Ada', 'Bob']);
    // The lookup is checked like a declared one: an id of another object, an Account that is not there.
    const wrongType = await rejection(conn.sobject('Employee__c').create({ Name: 'Eve', Employer__c: bob.id }), 'a lookup to the wrong object');
    assert.equal(wrongType.errorCode, 'FIELD_INTEGRITY_EXCEPTION', wrongType.message);
    assert.match(wrongType.message, /id value of incorrect type/);
    const missing = '001000000000000AAA';
    const noParent = await rejection(conn.sobject('Employee__c').create({ Name: 'Eve', Employer__c: missing }), 'a lookup to a missing Account');
    assert.equal(noParent.errorCode, 'INVALID_CROSS_REFERENCE_KEY', noParent.message);

    const back = await conn.tooling.sobject('CustomObject').retrieve(made.id);
    assert.equal(back.Id, made.id);
    assert.equal(back.FullName, 'Employee__c');
    assert.equal(back.DeveloperName, 'Employee');
    assert.equal(back.Metadata.label, 'Employee');
    assert.equal(back.Metadata.pluralLabel, 'Employees');

    // Deleting the object (DELETE → 204) takes its describe, SOQL and records with it.
    const del = await conn.tooling.sobject('CustomObject').destroy(made.id);
    assert.equal(del.success, true, JSON.stringify(del));
    await assert.rejects(conn.request(`/services/data/v${API_VERSION}/sobjects/Employee__c/describe`), (e) => e.errorCode === 'NOT_FOUND');
    await assert.rejects(conn.query('SELECT Id FROM Employee__c'), (e) => e.errorCode === 'INVALID_TYPE');
    await assert.rejects(conn.tooling.sobject('CustomObject').retrieve(made.id), (e) => e.errorCode === 'NOT_FOUND');
  });
});

describe('jsforce: bad schema changes are jsforce errors with the errorCode', () => {
  it('duplicate, bad name, unknown object, unsupported type, bad length, a refused PATCH; nothing changes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const fields = conn.tooling.sobject('CustomField');
    const dup = { FullName: 'Account.Dup_Check__c', Metadata: { label: 'Dup', type: 'Checkbox' } };
    const first = await fields.create(dup);
    assert.match(first.id, FIELD_ID);
    const before1 = await schemaId(conn);
    const cases = [
      [dup, 'DUPLICATE_DEVELOPER_NAME', /Dup_Check__c/],
      [{ FullName: 'Account.Bad__Name__c', Metadata: { label: 'B', type: 'Text', length: 5 } }, 'FIELD_INTEGRITY_EXCEPTION', /Bad__Name__c/],
      [{ FullName: 'Account.Trailing_c', Metadata: { label: 'B', type: 'Text', length: 5 } }, 'FIELD_INTEGRITY_EXCEPTION', /Trailing_c/],
      [{ FullName: 'Account.1st__c', Metadata: { label: 'B', type: 'Text', length: 5 } }, 'FIELD_INTEGRITY_EXCEPTION', /1st__c/],
      [{ FullName: 'Nope__c.X__c', Metadata: { label: 'X', type: 'Text', length: 5 } }, 'INVALID_TYPE', /Nope__c/],
      [{ FullName: 'Account.F__c', Metadata: { label: 'F', type: 'Formula' } }, 'INVALID_INPUT', /Formula/],
      [{ FullName: 'Account.T__c', Metadata: { label: 'T', type: 'Text' } }, 'INVALID_INPUT', /length/],
      [{ FullName: 'Account.T__c', Metadata: { label: 'T', type: 'Text', length: 256 } }, 'INVALID_INPUT', /length/],
      [{ FullName: 'Account.L__c', Metadata: { label: 'L', type: 'LongTextArea', length: 100 } }, 'INVALID_INPUT', /length/],
    ];
    for (const [body, code, msg] of cases) {
      const err = await rejection(fields.create(body), `${body.FullName} ${body.Metadata.type}`);
      assert.equal(err.errorCode, code, `${JSON.stringify(body)}: ${err.message}`);
      assert.equal(err.name, code, 'jsforce names the error after the errorCode');
      assert.match(err.message, msg);
    }
    const objectErr = await rejection(conn.tooling.sobject('CustomObject').create({ FullName: 'Account', Metadata: { label: 'A' } }), 'a CustomObject named Account');
    assert.equal(objectErr.errorCode, 'FIELD_INTEGRITY_EXCEPTION', objectErr.message);

    // A checkbox never becomes a relationship: refused, the field unchanged.
    const patch = await rejection(fields.update({ Id: first.id, Metadata: { label: 'Renamed', type: 'Lookup', referenceTo: 'Contact', relationshipName: 'Dups' } }), 'PATCH of a CustomField');
    assert.equal(patch.errorCode, 'FIELD_INTEGRITY_EXCEPTION', patch.message);
    assert.match(patch.message, /Cannot update a field to a Lookup, MasterDetail, or Hierarchy from something else/);
    assert.equal((await fields.retrieve(first.id)).Metadata.label, 'Dup');

    assert.equal(await schemaId(conn), before1, 'no refused change gave Account a new schema');
    // A label change is a change that keeps every value: done.
    await fields.update({ Id: first.id, Metadata: { label: 'Renamed', type: 'Checkbox' } });
    assert.equal((await fields.retrieve(first.id)).Metadata.label, 'Renamed');
    const d = await conn.sobject('Account').describe();
    for (const n of ['Bad__Name__c', 'T__c', 'F__c', 'L__c', 'Trailing_c']) assert.equal(fieldOf(d, n), undefined, `no ${n}`);
    assert.equal(fieldOf(d, 'Dup_Check__c')?.type, 'boolean');
    const unknown = await rejection(fields.retrieve('00N000000000000AAA'), 'an unknown CustomField id');
    assert.equal(unknown.errorCode, 'NOT_FOUND');
    await fields.destroy(first.id);
  });

  it('a field a PushTopic query names cannot be deleted until the topic goes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const fields = conn.tooling.sobject('CustomField');
    const made = await fields.create({ FullName: 'Account.Watched__c', Metadata: { label: 'Watched', type: 'Text', length: 30 } });
    const topic = await conn.sobject('PushTopic').create({
      Name: 'WatchedTopic', Query: 'SELECT Id, Watched__c FROM Account WHERE Watched__c != null', ApiVersion: 59.0,
    });
    assert.equal(topic.success, true, JSON.stringify(topic));
    const refused = await rejection(fields.destroy(made.id), 'deleting a field a PushTopic uses');
    assert.equal(refused.errorCode, 'FIELD_INTEGRITY_EXCEPTION', refused.message);
    assert.match(refused.message, /WatchedTopic/);
    assert.ok(fieldOf(await conn.sobject('Account').describe(), 'Watched__c'), 'the field stays');
    await conn.sobject('PushTopic').destroy(topic.id);
    assert.deepEqual(await fields.destroy(made.id), { id: made.id, success: true, errors: [] });
    assert.equal(fieldOf(await conn.sobject('Account').describe(), 'Watched__c'), undefined);
  });
});

describe('jsforce: live schema across a SIGKILL and a restart', () => {
  let dataDir;
  let s1;
  let s2;
  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-jsforce-live-schema-'));
    s1 = await startServer('live-schema-restart-1', { dataDir, inMemory: false });
  });
  after(async () => {
    for (const c of conns) for (const f of topicClients(c)) await disconnectFaye(f);
    await s1?.stop();
    await s2?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('the object, its fields, an Account field, their records and the schema ids survive', { timeout: TEST_TIMEOUT_MS }, async () => {
    const c1 = connectionTo(s1);
    const oldSchema = await schemaId(c1);
    const object = await c1.tooling.sobject('CustomObject').create({ FullName: 'Project__c', Metadata: { label: 'Project', pluralLabel: 'Projects' } });
    const level = await c1.tooling.sobject('CustomField').create({
      FullName: 'Project__c.Level__c',
      Metadata: { label: 'Level', type: 'Picklist', valueSet: { restricted: true, valueSetDefinition: { value: [{ fullName: 'Junior', default: true }, { fullName: 'Senior' }] } } },
    });
    const budget = await c1.tooling.sobject('CustomField').create({
      FullName: 'Account.Budget__c', Metadata: { label: 'Budget', type: 'Currency', precision: 10, scale: 2 },
    });
    const newSchema = await schemaId(c1);
    assert.notEqual(newSchema, oldSchema);
    const p = await c1.sobject('Project__c').create({ Name: 'Apollo' });
    const a = await c1.sobject('Account').create({ Name: uniq('ls-budget'), Budget__c: 1234.5 });

    assert.equal((await s1.kill('SIGKILL')).signal, 'SIGKILL');
    s2 = await startServer('live-schema-restart-2', { dataDir, inMemory: false });
    const c2 = connectionTo(s2);

    const pd = await c2.sobject('Project__c').describe();
    assert.equal(pd.labelPlural, 'Projects');
    assert.deepEqual(fieldOf(pd, 'Level__c')?.picklistValues.map((v) => v.value), ['Junior', 'Senior']);
    assert.equal(fieldOf(await c2.sobject('Account').describe(), 'Budget__c')?.type, 'currency');
    const pr = await c2.sobject('Project__c').retrieve(p.id);
    assert.deepEqual([pr.Name, pr.Level__c], ['Apollo', 'Junior']);
    const ar = await c2.query(`SELECT Budget__c FROM Account WHERE Id = '${a.id}'`);
    assert.equal(ar.records[0]?.Budget__c, 1234.5);
    assert.equal((await c2.tooling.sobject('CustomField').retrieve(level.id)).FullName, 'Project__c.Level__c');
    assert.equal((await c2.tooling.sobject('CustomField').retrieve(budget.id)).Metadata.type, 'Currency');
    assert.equal((await c2.tooling.sobject('CustomObject').retrieve(object.id)).FullName, 'Project__c');
    const restricted = await rejection(c2.sobject('Project__c').create({ Name: 'Gemini', Level__c: 'Chief' }), 'a restricted value after the restart');
    assert.equal(restricted.errorCode, 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST');

    // The same schema id after the restart; the earlier one still resolves; the
    // retained CREATE keeps the id it was written with.
    assert.equal(await schemaId(c2), newSchema, 'the schema id survives the restart');
    const { uuid } = await c2.request(`/services/data/v${API_VERSION}/event/eventSchema/${oldSchema}`);
    assert.equal(uuid, oldSchema);
    const got = [];
    const client = c2.streaming.createClient([new StreamingExtension.Replay(CHANNEL, -2)]);
    fayes.push(client);
    await withTimeout(client.subscribe(CHANNEL, (d) => got.push(d)), `subscribe ${CHANNEL} (-2)`);
    const e = await waitUntil(() => findChange(got, a.id), 'the retained CREATE', { describe: () => summary(got) });
    assert.equal(e.schema, newSchema);
    assert.equal(e.payload.Budget__c, 1234.5);
    await disconnectFaye(client);

    // The field can still be removed after the restart.
    await c2.tooling.sobject('CustomField').destroy(budget.id);
    assert.equal(fieldOf(await c2.sobject('Account').describe(), 'Budget__c'), undefined);
  });
});

'use strict';
// The small REST resources jsforce 3 has helpers for (data-apis.md §6):
//   sobject(X).layouts([name])   GET {base}/sobjects/X/describe/layouts | describe/namedLayouts/{name}
//   sobject(X).compactLayouts()  GET {base}/sobjects/X/describe/compactLayouts
//   sobject(X).approvalLayouts() GET {base}/sobjects/X/describe/approvalLayouts
//   sobject(X).listviews()       GET {base}/sobjects/X/listviews
//   sobject(X).listview(id).describe() / .results()   .../listviews/{id}/describe | /results
//   sobject(X).listview(id).explain() and conn.query(soql).explain()   GET {base}/query/?explain=...
//   conn.recent([limit])         GET {base}/recent[?limit=n] (a bare array: what FOR VIEW / FOR REFERENCE marked)
//   sobject(X).recent()          GET {base}/sobjects/X, its `recentItems`
//   conn.tooling.describeGlobal() / describe(X)   GET {base}/tooling/sobjects[/X/describe]
// each returning the parsed body as is. Plus the Organization sObject through
// query / retrieve, and a bad token on a path forcebus does not serve.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');

const BASE = `/services/data/v${API_VERSION}`;
const MASTER_RECORD_TYPE = '012000000000000AAA';

let srv;
let conn;
const accountIds = [];

before(async () => {
  srv = await startServer('small-resources');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
  for (const Name of ['Listview Beta', 'Listview Alpha', 'Listview Gamma']) {
    const r = await conn.sobject('Account').create({ Name, BillingCity: 'Springfield' });
    assert.equal(r.success, true, JSON.stringify(r));
    accountIds.push(r.id);
  }
});
after(async () => {
  await srv?.stop();
});

/** Every layout item's field names (`layoutComponents` of type Field) in a DescribeLayout section list. */
function fieldsOf(sections) {
  return sections.flatMap((s) =>
    s.layoutRows.flatMap((row) =>
      row.layoutItems.flatMap((item) => item.layoutComponents.filter((c) => c.type === 'Field').map((c) => c.value)),
    ),
  );
}

describe('layouts', () => {
  it("sobject('Account').layouts(): one layout, the master record type mapping", async () => {
    const res = await conn.sobject('Account').layouts();
    assert.deepEqual(Object.keys(res).sort(), ['layouts', 'recordTypeMappings', 'recordTypeSelectorRequired']);
    assert.equal(res.layouts.length, 1);
    const [layout] = res.layouts;
    assert.match(layout.id, /^00h\w{15}$/);
    for (const key of ['buttonLayoutSection', 'detailLayoutSections', 'editLayoutSections', 'relatedLists', 'quickActionList']) {
      assert.ok(key in layout, `DescribeLayout has ${key}`);
    }
    const detail = fieldsOf(layout.detailLayoutSections);
    assert.ok(detail.includes('Name') && detail.includes('BillingCity') && detail.includes('Phone'), detail.join(','));
    const edit = fieldsOf(layout.editLayoutSections);
    assert.ok(edit.includes('Name'), edit.join(','));
    const nameItem = layout.detailLayoutSections
      .flatMap((s) => s.layoutRows.flatMap((r) => r.layoutItems))
      .find((i) => i.layoutComponents.some((c) => c.value === 'Name'));
    assert.equal(nameItem.label, 'Account Name');
    assert.equal(nameItem.required, true, 'Name is required on Account');

    assert.equal(res.recordTypeMappings.length, 1);
    const [mapping] = res.recordTypeMappings;
    assert.equal(mapping.recordTypeId, MASTER_RECORD_TYPE);
    assert.equal(mapping.master, true);
    assert.equal(mapping.defaultRecordTypeMapping, true);
    assert.equal(mapping.layoutId, layout.id);
    assert.equal(mapping.urls.layout, `${BASE}/sobjects/Account/describe/layouts/${MASTER_RECORD_TYPE}`);
    assert.ok(mapping.picklistsForRecordType.some((p) => p.picklistName === 'Industry'), 'picklists per record type');
    assert.deepEqual(res.recordTypeSelectorRequired, [false]);
  });

  it('the layout of the master record type is that one DescribeLayout (conn.request on mapping.urls.layout)', async () => {
    const all = await conn.sobject('Account').layouts();
    const one = await conn.request(all.recordTypeMappings[0].urls.layout);
    assert.equal(one.id, all.layouts[0].id);
    assert.deepEqual(fieldsOf(one.detailLayoutSections), fieldsOf(all.layouts[0].detailLayoutSections));
  });

  it("sobject('User').layouts('UserAlt'): describe/namedLayouts/UserAlt", async () => {
    const res = await conn.sobject('User').layouts('UserAlt');
    assert.ok(Array.isArray(res.layouts) && res.layouts.length === 1, JSON.stringify(Object.keys(res)));
    const fields = fieldsOf(res.layouts[0].detailLayoutSections);
    assert.ok(fields.includes('Username') && fields.includes('Email'), fields.join(','));
  });

  it('an unknown named layout, an unknown object → NOT_FOUND', async () => {
    const named = await conn.sobject('Account').layouts('NoSuchLayout').then(() => null, (e) => e);
    assert.equal(named?.errorCode, 'NOT_FOUND', String(named));
    const object = await conn.sobject('Nope__c').layouts().then(() => null, (e) => e);
    assert.equal(object?.errorCode, 'NOT_FOUND', String(object));
  });

  it("sobject('Account').compactLayouts(): the system default with Name", async () => {
    const res = await conn.sobject('Account').compactLayouts();
    assert.deepEqual(Object.keys(res).sort(), ['compactLayouts', 'defaultCompactLayoutId', 'recordTypeCompactLayoutMappings']);
    assert.ok(res.compactLayouts.length >= 1);
    const [compact] = res.compactLayouts;
    assert.equal(compact.objectType, 'Account');
    assert.ok(compact.fieldItems.some((i) => i.layoutComponents.some((c) => c.value === 'Name')), JSON.stringify(compact.fieldItems.map((i) => i.label)));
    assert.equal(res.recordTypeCompactLayoutMappings[0].recordTypeId, MASTER_RECORD_TYPE);
    assert.equal(res.recordTypeCompactLayoutMappings[0].compactLayoutName, compact.name);
  });

  it("sobject('Account').approvalLayouts(): none", async () => {
    assert.deepEqual(await conn.sobject('Account').approvalLayouts(), { approvalLayouts: [] });
  });

  it('every layout and list view URL a describe advertises answers (each layoutable sObject of describeGlobal)', async () => {
    const global = await conn.describeGlobal();
    const failures = [];
    for (const { name, layoutable } of global.sobjects) {
      if (!layoutable) continue;
      const d = await conn.sobject(name).describe();
      const calls = {
        layouts: () => conn.sobject(name).layouts(),
        compactLayouts: () => conn.sobject(name).compactLayouts(),
        approvalLayouts: () => conn.sobject(name).approvalLayouts(),
        listviews: () => conn.sobject(name).listviews(),
      };
      for (const [key, call] of Object.entries(calls)) {
        if (!d.urls[key]) continue;
        await call().catch((e) => failures.push(`${name}: ${key}() (GET ${d.urls[key]}) → ${e.errorCode}: ${e.message}`));
      }
    }
    assert.deepEqual(failures, []);
  });
});

describe('list views', () => {
  let all; // the AllAccounts entry

  it("sobject('Account').listviews(): All Accounts and Recently Viewed Accounts", async () => {
    const res = await conn.sobject('Account').listviews();
    assert.equal(res.done, true);
    assert.equal(res.sobjectType, 'Account');
    assert.equal(res.nextRecordsUrl, null);
    assert.equal(res.size, res.listviews.length);
    const byName = Object.fromEntries(res.listviews.map((v) => [v.developerName, v]));
    assert.ok(byName.AllAccounts && byName.RecentlyViewedAccounts, JSON.stringify(res.listviews.map((v) => v.developerName)));
    all = byName.AllAccounts;
    assert.match(all.id, /^00B\w{15}$/);
    assert.equal(all.label, 'All Accounts');
    assert.equal(all.soqlCompatible, true);
    assert.equal(all.url, `${BASE}/sobjects/Account/listviews/${all.id}`);
    assert.equal(all.describeUrl, `${all.url}/describe`);
    assert.equal(all.resultsUrl, `${all.url}/results`);
  });

  it('listview(id).describe(): columns and the SOQL the view runs', async () => {
    const res = await conn.sobject('Account').listview(all.id).describe();
    assert.equal(res.id, all.id.slice(0, 15));
    assert.equal(res.sobjectType, 'Account');
    assert.match(res.query, /^SELECT .*\bName\b.* FROM Account\b/);
    const name = res.columns.find((c) => c.fieldNameOrPath === 'Name');
    assert.equal(name.label, 'Account Name');
    assert.equal(name.hidden, false);
    assert.ok(res.columns.some((c) => c.fieldNameOrPath === 'Id' && c.hidden), 'a hidden Id column');
    assert.ok(Array.isArray(res.orderBy) && res.orderBy.length > 0);
    // the query runs as it is
    const q = await conn.query(res.query);
    assert.deepEqual(q.records.map((r) => r.Name), ['Listview Alpha', 'Listview Beta', 'Listview Gamma']);
  });

  it('listview(id).results(): the rows as columns of {fieldNameOrPath, value}', async () => {
    const res = await conn.sobject('Account').listview(all.id).results();
    assert.equal(res.developerName, 'AllAccounts');
    assert.equal(res.label, 'All Accounts');
    assert.equal(res.done, true);
    assert.equal(res.size, 3);
    const rows = res.records.map((r) => Object.fromEntries(r.columns.map((c) => [c.fieldNameOrPath, c.value])));
    assert.deepEqual(rows.map((r) => r.Name), ['Listview Alpha', 'Listview Beta', 'Listview Gamma'], 'ordered by Name');
    assert.deepEqual(rows.map((r) => r.Id).sort(), [...accountIds].sort());
    assert.equal(rows[0].BillingCity, 'Springfield');
    assert.match(rows[0].CreatedDate, /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} GMT \d{4}$/, 'list view datetimes');
    assert.deepEqual(res.columns.map((c) => c.fieldNameOrPath), res.records[0].columns.map((c) => c.fieldNameOrPath));
  });

  it('listview(id).explain() and conn.query(soql).explain(): query plans', async () => {
    const viewPlan = await conn.sobject('Account').listview(all.id).explain();
    assert.ok(Array.isArray(viewPlan.plans) && viewPlan.plans.length >= 1, JSON.stringify(viewPlan));
    assert.equal(viewPlan.plans[0].sobjectType, 'Account');
    assert.equal(viewPlan.plans[0].leadingOperationType, 'TableScan');

    const byId = await conn.query(`SELECT Id FROM Account WHERE Id = '${accountIds[0]}'`).explain();
    assert.equal(byId.plans[0].leadingOperationType, 'Index', JSON.stringify(byId));
    assert.equal(byId.plans[0].sobjectCardinality, 3);
    const byCity = await conn.sobject('Account').find({ BillingCity: 'Springfield' }, ['Id']).explain();
    assert.equal(byCity.plans[0].leadingOperationType, 'TableScan', JSON.stringify(byCity));
    for (const p of [...byId.plans, ...byCity.plans]) {
      for (const key of ['cardinality', 'fields', 'leadingOperationType', 'notes', 'relativeCost', 'sobjectCardinality', 'sobjectType']) {
        assert.ok(key in p, `plan has ${key}: ${JSON.stringify(p)}`);
      }
    }
  });

  it('explain of a malformed query → MALFORMED_QUERY', async () => {
    const err = await conn.query('SELECT FROM Account').explain().then(() => null, (e) => e);
    assert.equal(err?.errorCode, 'MALFORMED_QUERY', String(err));
  });
});

describe('recent items', () => {
  const pause = () => new Promise((r) => setTimeout(r, 5));

  it('conn.recent(): nothing for records only created or changed through the API', async () => {
    const res = await conn.recent();
    assert.deepEqual(res, [], JSON.stringify(res));
  });

  it('SOQL FOR VIEW marks a record viewed: LastViewedDate and LastReferencedDate set, first in conn.recent()', async () => {
    const viewed = accountIds[2];
    const q = await conn.query(`SELECT Id, Name FROM Account WHERE Id = '${viewed}' FOR VIEW`);
    assert.deepEqual(q.records.map((r) => r.Id), [viewed]);
    const [row] = (await conn.query(`SELECT LastViewedDate, LastReferencedDate FROM Account WHERE Id = '${viewed}'`)).records;
    assert.match(String(row.LastViewedDate), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/, JSON.stringify(row));
    assert.equal(row.LastReferencedDate, row.LastViewedDate);
    const res = await conn.recent();
    assert.deepEqual(res, [{
      attributes: { type: 'Account', url: `${BASE}/sobjects/Account/${viewed}` },
      Id: viewed,
      Name: 'Listview Gamma',
    }]);
  });

  it('conn.recent(): what this user viewed or referenced, newest first; conn.recent(n) asks for ?limit=n', async () => {
    await pause();
    const c = await conn.sobject('Contact').create({ LastName: 'Recentson' });
    assert.equal(c.success, true);
    await conn.query(`SELECT Id FROM Contact WHERE Id = '${c.id}' FOR REFERENCE`);
    const [contact] = (await conn.query(`SELECT LastViewedDate, LastReferencedDate FROM Contact WHERE Id = '${c.id}'`)).records;
    assert.equal(contact.LastViewedDate, null, 'FOR REFERENCE does not view');
    assert.notEqual(contact.LastReferencedDate, null);
    await pause();
    await conn.query(`SELECT Id FROM Account WHERE Id IN ('${accountIds[0]}', '${accountIds[1]}') FOR VIEW`);

    const res = await conn.recent();
    assert.equal(res.length, 4, JSON.stringify(res));
    assert.deepEqual(new Set(res.slice(0, 2).map((r) => r.Id)), new Set([accountIds[0], accountIds[1]]), JSON.stringify(res));
    assert.deepEqual(res.slice(2).map((r) => r.Id), [c.id, accountIds[2]], JSON.stringify(res));
    assert.equal(res[2].Name, 'Recentson');
    assert.equal(res[2].attributes.type, 'Contact');

    const two = await conn.recent(2);
    assert.deepEqual(two, res.slice(0, 2));
  });

  it("sobject('Account').recent(): the Accounts among them (recentItems of GET /sobjects/Account)", async () => {
    const res = await conn.sobject('Account').recent();
    assert.ok(res.every((r) => r.attributes.type === 'Account'), JSON.stringify(res));
    assert.deepEqual(res.map((r) => r.Id).sort(), [...accountIds].sort());
    assert.equal(res[2].Id, accountIds[2], 'the earliest viewed is last');
  });
});

describe('tooling', () => {
  it('conn.tooling.describeGlobal(): the tooling sObjects', async () => {
    const res = await conn.tooling.describeGlobal();
    assert.equal(res.encoding, 'UTF-8');
    assert.equal(typeof res.maxBatchSize, 'number');
    const names = res.sobjects.map((s) => s.name);
    for (const n of ['PushTopic', 'PlatformEventChannel', 'PlatformEventChannelMember', 'ManagedEventSubscription']) {
      assert.ok(names.includes(n), `${n} in ${names.join(',')}`);
    }
    const pt = res.sobjects.find((s) => s.name === 'PushTopic');
    assert.equal(pt.keyPrefix, '0IF');
    assert.equal(pt.urls.describe, `${BASE}/tooling/sobjects/PushTopic/describe`);
  });

  it("conn.tooling.describe('PushTopic'): its fields", async () => {
    const res = await conn.tooling.describe('PushTopic');
    assert.equal(res.name, 'PushTopic');
    const fields = Object.fromEntries(res.fields.map((f) => [f.name, f]));
    for (const n of ['Id', 'Name', 'Query', 'ApiVersion', 'NotifyForFields', 'NotifyForOperationCreate']) {
      assert.ok(fields[n], `${n} in ${Object.keys(fields).join(',')}`);
    }
    assert.equal(fields.Query.type, 'string');
    assert.equal(fields.NotifyForOperationCreate.type, 'boolean');
  });

  it('PushTopic, which describeGlobal lists as createable, made through conn.tooling.sobject().create, found by a tooling query', async () => {
    const listed = (await conn.tooling.describeGlobal()).sobjects.find((s) => s.name === 'PushTopic');
    assert.equal(listed.createable, true);
    const r = await conn.tooling.sobject('PushTopic').create({
      Name: 'SmallResTopic', Query: 'SELECT Id, Name FROM Account', ApiVersion: 59.0,
    });
    assert.equal(r.success, true, JSON.stringify(r));
    const q = await conn.tooling.query("SELECT Id, Name FROM PushTopic WHERE Name = 'SmallResTopic'");
    assert.deepEqual(q.records.map((x) => x.Id), [r.id]);
  });
});

describe('Organization', () => {
  it('one row through conn.query, the same through sobject(Organization).retrieve', async () => {
    const q = await conn.query(
      'SELECT Id, Name, IsSandbox, TrialExpirationDate, OrganizationType, InstanceName, NamespacePrefix, LanguageLocaleKey FROM Organization',
    );
    assert.equal(q.totalSize, 1);
    const [org] = q.records;
    assert.equal(org.Id, conn.userInfo.organizationId);
    assert.equal(org.Id, srv.info.org_id);
    assert.equal(org.IsSandbox, false);
    assert.equal(org.TrialExpirationDate, null);
    assert.equal(org.OrganizationType, 'Developer Edition');
    assert.equal(org.NamespacePrefix, null);
    assert.equal(typeof org.InstanceName, 'string');
    assert.equal(org.LanguageLocaleKey, 'en_US');
    const rec = await conn.sobject('Organization').retrieve(org.Id);
    assert.equal(rec.Name, org.Name);
    assert.equal(rec.OrganizationType, 'Developer Edition');
  });

  it('not createable, updateable or deletable', async () => {
    const d = await conn.sobject('Organization').describe();
    assert.equal(d.keyPrefix, '00D');
    assert.deepEqual([d.createable, d.updateable, d.deletable, d.queryable], [false, false, false, true]);
    const upd = await conn.sobject('Organization').update({ Id: srv.info.org_id, Name: 'Renamed' }).then((r) => r, (e) => e);
    assert.ok(upd instanceof Error || upd.success === false, JSON.stringify(upd));
    const [org] = (await conn.query('SELECT Name FROM Organization')).records;
    assert.notEqual(org.Name, 'Renamed');
  });
});

describe('paths and sessions', () => {
  it('a Connection on an instance URL ending in "/": layouts, list views and recent through //services/data/...', async () => {
    const slashed = new jsforce.Connection({ instanceUrl: `${srv.baseUrl}/`, accessToken: conn.accessToken, version: API_VERSION });
    const layouts = await slashed.sobject('Account').layouts();
    assert.equal(layouts.layouts.length, 1);
    const views = await slashed.sobject('Account').listviews();
    assert.ok(views.listviews.length >= 2);
    const recent = await slashed.recent(1);
    assert.equal(recent.length, 1);
  });

  it('a bad token on a path forcebus does not serve → INVALID_SESSION_ID (not NOT_FOUND)', async () => {
    const bad = new jsforce.Connection({ instanceUrl: srv.baseUrl, accessToken: `${srv.info.org_id}!nope`, version: API_VERSION });
    const err = await bad.request('/no/such/resource').then((r) => assert.fail(JSON.stringify(r)), (e) => e);
    assert.equal(err.errorCode, 'INVALID_SESSION_ID', String(err));
    const known = await bad.sobject('Account').listviews().then((r) => assert.fail(JSON.stringify(r)), (e) => e);
    assert.equal(known.errorCode, 'INVALID_SESSION_ID', String(known));
  });
});

'use strict';
// jsforce's SOAP calls beyond login, as jsforce's own integration suite (test/soap.test.ts)
// makes them: describeTabs, convertLead with the converted status read from the Metadata
// API at 37.0 (the last version whose standard picklist fields carry their values), a
// conversion into an existing account without an opportunity, and a merge of leads; then
// what the org holds afterwards, and getUserInfo / getServerTimestamp.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, API_VERSION } = require('./server');

let srv;
let conn;
before(async () => {
  srv = await startServer('soap-convert-merge');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

const isString = (v) => typeof v === 'string';
const isBoolean = (v) => typeof v === 'boolean';

describe('jsforce SOAP calls', () => {
  it('describeTabs returns apps with their tabs', async () => {
    const apps = await conn.soap.describeTabs();
    assert.ok(apps.length > 0);
    for (const app of apps) {
      assert.ok(isString(app.label));
      assert.ok(isString(app.logoUrl));
      assert.ok(isBoolean(app.selected));
      assert.ok(Array.isArray(app.tabs));
      for (const tab of app.tabs) {
        assert.ok(Array.isArray(tab.icons));
        assert.ok(isBoolean(tab.custom));
        assert.ok(isString(tab.name));
        assert.ok(isString(tab.label));
        assert.ok(isString(tab.url));
        assert.ok(isString(tab.miniIconUrl));
        assert.ok(isString(tab.sobjectName));
      }
    }
    assert.ok(apps[0].tabs.some((t) => t.sobjectName === 'Lead'));
  });

  describe('convert and merge', () => {
    const leads = [
      { FirstName: 'Convert Test #1', LastName: 'Lead', Company: 'JSforce Test' },
      { FirstName: 'Convert Test #2', LastName: 'Lead', Company: 'JSforce Test' },
      { FirstName: 'Merge Test (Master)', LastName: 'Lead', Company: 'JSforce Test' },
      { FirstName: 'Merge Test (Merging #1)', LastName: 'Lead', Company: 'JSforce Test' },
      { FirstName: 'Merge Test (Merging #2)', LastName: 'Lead', Company: 'JSforce Test' },
    ];
    let leadIds;
    let convertedStatus;
    let accountId;

    before(async () => {
      const conn370 = new jsforce.Connection({ version: '37.0' });
      conn370.accessToken = conn.accessToken;
      conn370.instanceUrl = conn.instanceUrl;
      const [rets, statusField] = await Promise.all([
        conn.sobject('Lead').create(leads),
        conn370.metadata.read('CustomField', 'Lead.Status'),
      ]);
      leadIds = rets.map((r) => r.id);
      convertedStatus = statusField.picklist.picklistValues
        .filter((pv) => pv.converted === 'true')
        .map((pv) => pv.fullName)[0];
      assert.equal(convertedStatus, 'Closed - Converted');
    });

    it('converts a lead into a new account, contact and opportunity', async () => {
      const ret = await conn.soap.convertLead({ leadId: leadIds[0], convertedStatus });
      assert.ok(ret.success, JSON.stringify(ret));
      assert.ok(isString(ret.accountId) && isString(ret.contactId) && isString(ret.opportunityId));
      accountId = ret.accountId;
      const account = await conn.sobject('Account').retrieve(ret.accountId);
      assert.equal(account.Name, 'JSforce Test');
      const contact = await conn.sobject('Contact').retrieve(ret.contactId);
      assert.deepEqual([contact.FirstName, contact.LastName, contact.AccountId], ['Convert Test #1', 'Lead', ret.accountId]);
      const lead = await conn.sobject('Lead').retrieve(leadIds[0]);
      assert.deepEqual(
        [lead.IsConverted, lead.ConvertedOpportunityId, lead.Status],
        [true, ret.opportunityId, convertedStatus],
      );
    });

    it('converts a lead into an existing account without an opportunity', async () => {
      const ret = await conn.soap.convertLead({
        leadId: leadIds[1],
        accountId,
        convertedStatus,
        doNotCreateOpportunity: true,
      });
      assert.ok(ret.success, JSON.stringify(ret));
      assert.equal(ret.accountId, accountId);
      assert.ok(isString(ret.contactId));
      assert.ok(ret.opportunityId == null);
      const contacts = await conn.query(`SELECT Id FROM Contact WHERE AccountId = '${accountId}'`);
      assert.equal(contacts.totalSize, 2);
    });

    it('refuses to convert with a status that does not convert', async () => {
      const lead = await conn.sobject('Lead').create({ LastName: 'Not yet', Company: 'X' });
      const ret = await conn.soap.convertLead({ leadId: lead.id, convertedStatus: 'Working - Contacted' });
      assert.equal(ret.success, false);
      assert.equal(ret.errors.statusCode ?? ret.errors[0]?.statusCode, 'INVALID_STATUS', JSON.stringify(ret));
    });

    it('merges two leads into a master', async () => {
      const masterRecord = Object.assign({ type: 'Lead' }, { Id: leadIds[2] }, leads[2], { Title: 'Merged' });
      const recordToMergeIds = [leadIds[3], leadIds[4]];
      const ret = await conn.soap.merge({ masterRecord, recordToMergeIds });
      assert.ok(ret.success, JSON.stringify(ret));
      assert.ok(ret.id === leadIds[2]);
      assert.ok(ret.mergedRecordIds.length === 2);
      const master = await conn.sobject('Lead').retrieve(leadIds[2]);
      assert.equal(master.Title, 'Merged');
      const left = await conn.query(`SELECT Id FROM Lead WHERE Id IN ('${leadIds[3]}', '${leadIds[4]}')`);
      assert.equal(left.totalSize, 0);
      const gone = await conn.query(
        `SELECT MasterRecordId FROM Lead WHERE IsDeleted = true AND Id IN ('${leadIds[3]}', '${leadIds[4]}')`,
        { scanAll: true },
      );
      assert.deepEqual(gone.records.map((r) => r.MasterRecordId), [leadIds[2], leadIds[2]]);
    });
  });

  it('getUserInfo and getServerTimestamp describe the session', async () => {
    const info = await conn.soap.getUserInfo();
    assert.equal(info.userName, srv.info.username);
    assert.equal(info.organizationId, srv.info.org_id);
    const stamp = await conn.soap.getServerTimestamp();
    assert.ok(Math.abs(Date.parse(stamp.timestamp) - Date.now()) < 60_000, JSON.stringify(stamp));
  });
});

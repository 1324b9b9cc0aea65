'use strict';
// The standard objects beyond the core seven through jsforce: a campaign and its
// members, an event on a contact and an account (WhoId / WhatId), and a 10 MB file
// uploaded with jsforce's multipartFileFields and downloaded back from VersionData.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const jsforce = require('jsforce');
const { startServer, uniq, API_VERSION } = require('./server');

let srv;
let conn;
before(async () => {
  srv = await startServer('standard-objects');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

describe('standard objects through jsforce', () => {
  it('a campaign with a contact and a lead as members, queried through CampaignMembers', async () => {
    const name = uniq('campaign');
    const campaign = await conn.sobject('Campaign').create({ Name: name, Type: 'Webinar', Status: 'Planned', IsActive: true });
    assert.match(campaign.id, /^701\w{15}$/);
    const contact = await conn.sobject('Contact').create({ LastName: 'Member' });
    const lead = await conn.sobject('Lead').create({ LastName: 'Prospect', Company: 'Leads Inc' });
    const members = await conn.sobject('CampaignMember').create([
      { CampaignId: campaign.id, ContactId: contact.id, Status: 'Sent' },
      { CampaignId: campaign.id, LeadId: lead.id, Status: 'Responded' },
    ]);
    assert.deepEqual(members.map((m) => m.success), [true, true], JSON.stringify(members));
    const res = await conn.query(
      `SELECT Name, Type, (SELECT ContactId, LeadId, Status FROM CampaignMembers ORDER BY Status) FROM Campaign WHERE Id = '${campaign.id}'`,
    );
    const [c] = res.records;
    assert.deepEqual([c.Name, c.Type], [name, 'Webinar']);
    assert.deepEqual(
      c.CampaignMembers.records.map((m) => [m.ContactId, m.LeadId, m.Status]),
      [[null, lead.id, 'Responded'], [contact.id, null, 'Sent']],
    );
  });

  it('an event on a contact (WhoId) and an account (WhatId), read back through Who and What', async () => {
    const account = await conn.sobject('Account').create({ Name: uniq('evented') });
    const contact = await conn.sobject('Contact').create({ LastName: 'Attendee', AccountId: account.id });
    const event = await conn.sobject('Event').create({
      Subject: 'Kick-off',
      WhoId: contact.id,
      WhatId: account.id,
      StartDateTime: '2026-12-01T09:00:00.000Z',
      EndDateTime: '2026-12-01T10:00:00.000Z',
      DurationInMinutes: 60,
    });
    assert.match(event.id, /^00U\w{15}$/);
    const res = await conn.query(`SELECT Subject, WhoId, WhatId, Who.Name, What.Name FROM Event WHERE Id = '${event.id}'`);
    const [e] = res.records;
    assert.deepEqual([e.Subject, e.WhoId, e.WhatId], ['Kick-off', contact.id, account.id]);
    assert.equal(e.Who.Name, 'Attendee');
    assert.equal(e.What.Name.startsWith('evented'), true, JSON.stringify(e.What));
  });

  it('the Tooling API: ApexClass describes, and findOne finds nothing in an org without Apex (jsforce\'s tooling tests)', async () => {
    const so = await conn.tooling.sobject('ApexClass').describe();
    assert.equal(so.name, 'ApexClass');
    assert.ok(so.fields.some((f) => f.name === 'Body'), 'its fields');
    assert.equal(await conn.tooling.sobject('ApexClass').findOne(), null);
    const global = await conn.tooling.describeGlobal();
    assert.ok(global.sobjects.some((o) => o.name === 'ApexClass'));
  });

  it("the queries of jsforce's standard-schema test: finds with sorts, parent fields, ActivityHistories, counts", async () => {
    const acc = await conn.sobject('Account').create({ Name: uniq('A-schema'), Type: 'Customer' });
    await conn.sobject('Task').create({ Subject: 'Closed call', Status: 'Completed', WhatId: acc.id });
    await conn.sobject('Task').create({ Subject: 'Open call', Status: 'Not Started', WhatId: acc.id });
    assert.ok((await conn.query('SELECT Id, Name FROM Account')).totalSize >= 1);
    const owned = await conn.sobject('Account').find({ OwnerId: { $ne: null } }).sort('LastModifiedDate', 'DESC').limit(10);
    assert.ok(owned.length >= 1);
    await conn.sobject('Account').find(null, ['Id', 'Name', 'NumberOfEmployees']).sort({ LastActivityDate: 'DESC' }).limit(10);
    assert.equal(await conn.sobject('Contact').findOne({ Email: 'abc@example.org' }), null);
    await conn.sobject('Contact').findOne({ Email: 'abc@example.org' }, ['Id', 'LastName', 'FirstName', 'Email', 'MailingAddress', 'CreatedDate']);
    const open = await conn
      .sobject('Task')
      .select(['Id', 'Subject', 'ActivityDate', 'IsClosed', { Owner: ['Id', 'Username', 'Email'], What: ['Name'] }])
      .where({ IsClosed: false })
      .limit(10);
    const call = open.find((t) => t.Subject === 'Open call');
    assert.equal(call.What.Name, (await conn.sobject('Account').retrieve(acc.id)).Name);
    const withHistory = await conn
      .sobject('Account')
      .find({ Type: ['Customer', 'Partner'] })
      .include('ActivityHistories')
      .select(['Id', 'Subject', 'ActivityDate', 'IsClosed', { Owner: ['Id', 'Username', 'Email'], What: ['Name'] }])
      .end();
    const mine = withHistory.find((a) => a.Id === acc.id);
    assert.equal(mine.ActivityHistories.totalSize, 1, JSON.stringify(mine));
    assert.equal(mine.ActivityHistories.records[0].Subject, 'Closed call');
    await conn.sobject('Account').find({ Name: { $like: 'A%' } }, ['Id', 'Name', { Owner: ['Id', 'Username'] }]);
    assert.ok((await conn.sobject('Task').count({ IsClosed: false })) >= 1);
  });

  it('a 10 MB ContentVersion through multipart, downloaded back byte for byte', async () => {
    const bytes = crypto.randomBytes(10 * 1024 * 1024);
    const created = await conn.sobject('ContentVersion').create(
      { Title: 'Big', PathOnClient: 'big.bin', VersionData: bytes.toString('base64') },
      { multipartFileFields: { VersionData: { filename: 'big.bin' } } },
    );
    assert.equal(created.success, true, JSON.stringify(created));
    const cv = await conn.sobject('ContentVersion').retrieve(created.id);
    assert.match(cv.ContentDocumentId, /^069\w{15}$/);
    assert.equal(cv.ContentSize, bytes.length);
    assert.equal(cv.VersionData, `/services/data/v${API_VERSION}/sobjects/ContentVersion/${created.id}/VersionData`);
    const res = await fetch(conn.instanceUrl + cv.VersionData, { headers: { Authorization: `Bearer ${conn.accessToken}` } });
    assert.equal(res.status, 200);
    const back = Buffer.from(await res.arrayBuffer());
    assert.ok(back.equals(bytes), 'the same 10 MB');
  });
});

'use strict';
// The standard objects a sales integration touches, through the sf CLI: a price book
// plan imported with `sf data import tree --plan` (Product2 -> its standard price ->
// Pricebook2 -> PricebookEntry -> Opportunity -> OpportunityLineItem), and a file
// uploaded with `sf data create file` (plugin-data posts it as multipart/form-data, the
// binary part first, no Title) and downloaded back byte for byte from its VersionData.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer } = require('../../node/test/server');
const { runSfOk } = require('./sf');

let srv;
let token;
let home;
const sfOk = (args) => runSfOk(args, { home, instanceUrl: srv.baseUrl });

async function rest(urlPath) {
  const res = await fetch(`${srv.baseUrl}/services/data/v66.0${urlPath}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, `${urlPath}: ${res.status}`);
  return res;
}

before(async () => {
  srv = await startServer('sales-files', { prefix: 'sf' });
  token = srv.info.access_token;
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-home-'));
});
after(async () => {
  await srv?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('sf and the standard sales objects', () => {
  it('import tree --plan: a product, its standard and custom prices, an opportunity with a line item', async () => {
    const q = encodeURIComponent('SELECT Id FROM Pricebook2 WHERE IsStandard = true');
    const standard = (await (await rest(`/query?q=${q}`)).json()).records[0].Id;
    const dir = path.join(home, 'sales');
    fs.mkdirSync(dir, { recursive: true });
    const write = (name, records) => fs.writeFileSync(path.join(dir, name), JSON.stringify({ records }));
    write('Product2.json', [{ attributes: { type: 'Product2', referenceId: 'Product2Ref1' }, Name: 'Gadget', ProductCode: 'G-1', IsActive: true }]);
    write('StandardPrice.json', [
      { attributes: { type: 'PricebookEntry', referenceId: 'PricebookEntryRef1' }, Pricebook2Id: standard, Product2Id: '@Product2Ref1', UnitPrice: 100, IsActive: true },
    ]);
    write('Pricebook2.json', [{ attributes: { type: 'Pricebook2', referenceId: 'Pricebook2Ref1' }, Name: 'Resellers', IsActive: true }]);
    write('PricebookEntry.json', [
      { attributes: { type: 'PricebookEntry', referenceId: 'PricebookEntryRef2' }, Pricebook2Id: '@Pricebook2Ref1', Product2Id: '@Product2Ref1', UnitPrice: 90, IsActive: true },
    ]);
    write('Opportunity.json', [
      { attributes: { type: 'Opportunity', referenceId: 'OpportunityRef1' }, Name: 'Reseller deal', StageName: 'Prospecting', CloseDate: '2026-12-31' },
    ]);
    write('OpportunityLineItem.json', [
      { attributes: { type: 'OpportunityLineItem', referenceId: 'OpportunityLineItemRef1' }, OpportunityId: '@OpportunityRef1', PricebookEntryId: '@PricebookEntryRef2', Quantity: 3, UnitPrice: 90 },
    ]);
    fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify([
      { sobject: 'Product2', files: ['Product2.json'] },
      { sobject: 'PricebookEntry', files: ['StandardPrice.json'] },
      { sobject: 'Pricebook2', files: ['Pricebook2.json'] },
      { sobject: 'PricebookEntry', files: ['PricebookEntry.json'] },
      { sobject: 'Opportunity', files: ['Opportunity.json'] },
      { sobject: 'OpportunityLineItem', files: ['OpportunityLineItem.json'] },
    ]));
    const result = await sfOk(['data', 'import', 'tree', '--plan', path.join(dir, 'plan.json'), '-o', token]);
    assert.deepEqual(result.map((r) => r.type), ['Product2', 'PricebookEntry', 'Pricebook2', 'PricebookEntry', 'Opportunity', 'OpportunityLineItem']);
    const id = Object.fromEntries(result.map((r) => [r.refId, r.id]));
    const opp = await sfOk([
      'data', 'query', '-q',
      `SELECT Amount, HasOpportunityLineItem, Pricebook2Id, (SELECT Quantity, UnitPrice, TotalPrice, Product2Id, ListPrice FROM OpportunityLineItems) FROM Opportunity WHERE Id = '${id.OpportunityRef1}'`,
      '-o', token,
    ]);
    const [o] = opp.records;
    assert.deepEqual([o.Amount, o.HasOpportunityLineItem, o.Pricebook2Id], [270, true, id.Pricebook2Ref1], JSON.stringify(o));
    const [line] = o.OpportunityLineItems.records;
    assert.deepEqual(
      [line.Quantity, line.UnitPrice, line.TotalPrice, line.Product2Id, line.ListPrice],
      [3, 90, 270, id.Product2Ref1, 90],
    );
  });

  it('data create file: a binary file goes up as multipart and comes back byte for byte', async () => {
    const bytes = crypto.randomBytes(1536 * 1024);
    const file = path.join(home, 'report.bin');
    fs.writeFileSync(file, bytes);
    const account = await sfOk(['data', 'create', 'record', '-s', 'Account', '-v', "Name='Files Inc'", '-o', token]);
    const cv = await sfOk(['data', 'create', 'file', '--file', file, '--parent-id', account.id, '-o', token]);
    assert.match(cv.Id, /^068\w{15}$/);
    assert.match(cv.ContentDocumentId, /^069\w{15}$/);
    assert.deepEqual([cv.Title, cv.FileExtension], ['report', 'bin']);
    const back = Buffer.from(await (await rest(`/sobjects/ContentVersion/${cv.Id}/VersionData`)).arrayBuffer());
    assert.equal(back.length, bytes.length);
    assert.ok(back.equals(bytes), 'the same bytes');
    const links = await sfOk([
      'data', 'query', '-q', `SELECT ContentDocumentId, ShareType FROM ContentDocumentLink WHERE LinkedEntityId = '${account.id}'`, '-o', token,
    ]);
    assert.deepEqual(links.records.map((l) => [l.ContentDocumentId, l.ShareType]), [[cv.ContentDocumentId, 'V']]);
  });
});

'use strict';
// `sf project deploy start --manifest package.xml` with `--pre-destructive-changes` and
// `--post-destructive-changes` against forcebus: after the sample project
// (compat/fixtures/sfdx-project) is deployed, a deploy of an empty package.xml deletes a
// field (post), an object and a platform event (pre); sf's JSON output shows each as `Deleted` (SDR lists a
// deleted component as a file only when package.xml is empty and the source is still in
// the project), and the REST describe no longer has them. A destructive manifest naming a field the org does not have fails
// the deploy with the Warning `No CustomField named: … found` (which SDR parses) unless
// `--ignore-warnings`. Then a PlatformEventChannel and a PlatformEventChannelMember in
// source format (platformEventChannels/*.platformEventChannel-meta.xml,
// platformEventChannelMembers/*.platformEventChannelMember-meta.xml, as SDR's registry
// has them) deploy as Created and come back with
// `sf project retrieve start --metadata PlatformEventChannelMember`.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest } = require('../../node/test/server');
const { runSf, explain } = require('./sf');

const SAMPLE = path.resolve(__dirname, '../../fixtures/sfdx-project');
const VERSION = '62.0';
const MD = 'http://soap.sforce.com/2006/04/metadata';
const TIMEOUT = { timeout: 120000 };

const manifest = (types) => `<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="${MD}">\n${
  Object.entries(types).map(([name, members]) => `    <types>\n${members.map((m) => `        <members>${m}</members>\n`).join('')}        <name>${name}</name>\n    </types>\n`).join('')
}    <version>${VERSION}</version>\n</Package>\n`;

let srv;
let dir;

/** `sf project deploy start <args> --json` in the project `dir`. */
function sfDeploy(args, cwd = dir) {
  return runSf(['project', 'deploy', 'start', ...args, '-o', srv.info.access_token, '--json'], { home: cwd, instanceUrl: srv.baseUrl });
}

async function describeFields(object) {
  const res = await rawRequest(srv, 'GET', `/services/data/v${VERSION}/sobjects/${object}/describe`, {
    headers: { Authorization: `Bearer ${srv.info.access_token}` },
  });
  return res.status === 200 ? res.json.fields.map((f) => f.name) : res.status;
}

/** sf's `files` as `Type#fullName` → state. */
const states = (res) => Object.fromEntries((res.json?.result?.files || []).map((f) => [`${f.type}#${f.fullName}`, f.state]));

before(async () => {
  srv = await startServer('destructive', { prefix: 'sf' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-destructive-'));
  fs.cpSync(SAMPLE, dir, { recursive: true });
});

after(async () => {
  await srv?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('sf project deploy start with destructive changes', () => {
  it('the sample project deploys first', TIMEOUT, async () => {
    const res = await sfDeploy(['--source-dir', 'force-app']);
    assert.equal(res.code, 0, explain(res));
    assert.ok((await describeFields('Invoice__c')).includes('Notes__c'));
  });

  it('--post-destructive-changes deletes a field: Deleted in the JSON, gone from describe', TIMEOUT, async () => {
    // An empty package.xml: SDR then resolves the destructive members from the project's
    // source (still there) and reports them as files; with members in package.xml it would not.
    fs.writeFileSync(path.join(dir, 'package.xml'), manifest({}));
    fs.writeFileSync(path.join(dir, 'destructiveChangesPost.xml'), manifest({ CustomField: ['Invoice__c.Notes__c'] }));
    const res = await sfDeploy(['--manifest', 'package.xml', '--post-destructive-changes', 'destructiveChangesPost.xml']);
    assert.equal(res.code, 0, explain(res));
    assert.equal(res.json.result.status, 'Succeeded', explain(res));
    const byKey = states(res);
    assert.equal(byKey['CustomField#Invoice__c.Notes__c'], 'Deleted', JSON.stringify(byKey));
    const raw = [res.json.result.details.componentSuccesses].flat().find((m) => m.fullName === 'Invoice__c.Notes__c');
    assert.deepEqual([raw?.componentType, raw?.deleted], ['CustomField', true], JSON.stringify(res.json.result.details));
    const fields = await describeFields('Invoice__c');
    assert.ok(!fields.includes('Notes__c') && fields.includes('Amount__c'), JSON.stringify(fields));
  });

  it('a field the org does not have: the Warning fails the deploy, --ignore-warnings lets it through', TIMEOUT, async () => {
    fs.writeFileSync(path.join(dir, 'destructiveChangesPost.xml'),
      manifest({ CustomField: ['Invoice__c.Ghost__c', 'Invoice__c.Billing_Email__c'] }));
    const failed = await sfDeploy(['--manifest', 'package.xml', '--post-destructive-changes', 'destructiveChangesPost.xml']);
    assert.equal(failed.code, 1, explain(failed));
    assert.equal(failed.json?.result?.status, 'Failed', explain(failed));
    const problems = [failed.json.result.details?.componentFailures].flat().filter(Boolean);
    assert.ok(problems.some((p) => p.problemType === 'Warning' && p.problem === 'No CustomField named: Invoice__c.Ghost__c found'),
      JSON.stringify(problems));
    assert.ok((await describeFields('Invoice__c')).includes('Billing_Email__c'), 'rolled back');

    const ok = await sfDeploy(['--manifest', 'package.xml', '--post-destructive-changes', 'destructiveChangesPost.xml', '--ignore-warnings']);
    assert.equal(ok.code, 0, explain(ok));
    assert.equal(states(ok)['CustomField#Invoice__c.Billing_Email__c'], 'Deleted', JSON.stringify(states(ok)));
    assert.ok(!(await describeFields('Invoice__c')).includes('Billing_Email__c'));
  });

  // The deleted fields leave the project too (as `sf project delete source` would), or SDR
  // would name them again with their object below.
  const forget = (...files) => files.forEach((f) => fs.rmSync(path.join(dir, 'force-app/main/default/objects', f), { recursive: true }));

  it('--pre-destructive-changes deletes an object with its fields: Deleted in the JSON, describe 404', TIMEOUT, async () => {
    forget('Invoice__c/fields/Notes__c.field-meta.xml', 'Invoice__c/fields/Billing_Email__c.field-meta.xml');
    fs.writeFileSync(path.join(dir, 'destructiveChangesPre.xml'), manifest({ CustomObject: ['Invoice__c'] }));
    const res = await sfDeploy(['--manifest', 'package.xml', '--pre-destructive-changes', 'destructiveChangesPre.xml']);
    assert.equal(res.code, 0, explain(res));
    const byKey = states(res);
    assert.equal(byKey['CustomObject#Invoice__c'], 'Deleted', JSON.stringify(byKey));
    assert.equal(byKey['CustomField#Invoice__c.Amount__c'], 'Deleted', 'SDR names the fields in the project with it');
    assert.equal(await describeFields('Invoice__c'), 404);
  });

  it('--pre-destructive-changes deletes a platform event with its fields: describe 404', TIMEOUT, async () => {
    fs.writeFileSync(path.join(dir, 'destructiveChangesPre.xml'), manifest({ CustomObject: ['Invoice_Paid__e'] }));
    const res = await sfDeploy(['--manifest', 'package.xml', '--pre-destructive-changes', 'destructiveChangesPre.xml']);
    assert.equal(res.code, 0, explain(res));
    const byKey = states(res);
    assert.equal(byKey['CustomObject#Invoice_Paid__e'], 'Deleted', JSON.stringify(byKey));
    assert.equal(byKey['CustomField#Invoice_Paid__e.Invoice_Number__c'], 'Deleted', JSON.stringify(byKey));
    assert.equal(await describeFields('Invoice_Paid__e'), 404, 'the event is gone, not left without its fields');
  });
});

describe('PlatformEventChannel and PlatformEventChannelMember in source format', () => {
  it('deploy start creates them; retrieve start --metadata PlatformEventChannelMember brings the member back', TIMEOUT, async () => {
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-channels-'));
    fs.copyFileSync(path.join(SAMPLE, 'sfdx-project.json'), path.join(src, 'sfdx-project.json'));
    const base = path.join(src, 'force-app/main/default');
    fs.mkdirSync(path.join(base, 'platformEventChannels'), { recursive: true });
    fs.mkdirSync(path.join(base, 'platformEventChannelMembers'), { recursive: true });
    fs.writeFileSync(path.join(base, 'platformEventChannels/Sales__chn.platformEventChannel-meta.xml'),
      `<?xml version="1.0" encoding="UTF-8"?>\n<PlatformEventChannel xmlns="${MD}">\n    <channelType>data</channelType>\n    <label>Sales</label>\n</PlatformEventChannel>\n`);
    fs.writeFileSync(path.join(base, 'platformEventChannelMembers/Sales_chn_AccountChangeEvent.platformEventChannelMember-meta.xml'),
      `<?xml version="1.0" encoding="UTF-8"?>\n<PlatformEventChannelMember xmlns="${MD}">\n    <enrichedFields>\n        <name>Industry</name>\n    </enrichedFields>\n    <eventChannel>Sales__chn</eventChannel>\n    <filterExpression>Industry = 'Energy'</filterExpression>\n    <selectedEntity>AccountChangeEvent</selectedEntity>\n</PlatformEventChannelMember>\n`);
    const res = await sfDeploy(['--source-dir', 'force-app'], src);
    assert.equal(res.code, 0, explain(res));
    assert.deepEqual(states(res), {
      'PlatformEventChannel#Sales__chn': 'Created',
      'PlatformEventChannelMember#Sales_chn_AccountChangeEvent': 'Created',
    });

    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-channels-back-'));
    fs.copyFileSync(path.join(SAMPLE, 'sfdx-project.json'), path.join(out, 'sfdx-project.json'));
    fs.mkdirSync(path.join(out, 'force-app'));
    const back = await runSf(['project', 'retrieve', 'start', '--metadata', 'PlatformEventChannelMember', '-o', srv.info.access_token, '--json'],
      { home: out, instanceUrl: srv.baseUrl });
    assert.equal(back.code, 0, explain(back));
    const files = (back.json.result.files || []).map((f) => `${f.type}#${f.fullName}`);
    assert.deepEqual(files, ['PlatformEventChannelMember#Sales_chn_AccountChangeEvent'], explain(back));
    const file = path.join(out, 'force-app/main/default/platformEventChannelMembers/Sales_chn_AccountChangeEvent.platformEventChannelMember-meta.xml');
    assert.ok(fs.existsSync(file), explain(back));
    // Salesforce writes ' as &apos; in retrieved text (formulas too); either spelling is the same XML.
    const xml = fs.readFileSync(file, 'utf8').replaceAll('&apos;', "'");
    for (const want of ['<eventChannel>Sales__chn</eventChannel>', '<selectedEntity>AccountChangeEvent</selectedEntity>',
      "<filterExpression>Industry = 'Energy'</filterExpression>", '<name>Industry</name>']) {
      assert.ok(xml.includes(want), `${want} in\n${xml}`);
    }
    fs.rmSync(src, { recursive: true, force: true });
    fs.rmSync(out, { recursive: true, force: true });
  });
});

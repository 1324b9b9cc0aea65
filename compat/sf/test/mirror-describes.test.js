'use strict';
// The README's way to mirror an org offline, with the real sf CLI: `sf sobject list
// --sobject all` names the objects, `sf sobject describe --sobject X` dumps each one, and a
// second server started on that folder (config `describes`) has the first one's custom
// fields, record types and standard picklist values. Dumping every object takes one sf run
// per object, so this test dumps the objects it changed.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer } = require('../../node/test/server');
const { runSfOk } = require('./sf');

let source;
let mirror;
let home;

async function api(srv, method, urlPath, body) {
  const res = await fetch(`${srv.baseUrl}/services/data/v66.0${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${srv.info.access_token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

before(async () => {
  source = await startServer('mirror-source', { prefix: 'sf' });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'forcebus-sf-mirror-'));
});
after(async () => {
  await source?.stop();
  await mirror?.stop();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe('sf sobject list / describe into --describes', () => {
  it('mirrors custom fields, record types and standard picklist values', async () => {
    const made = await api(source, 'POST', '/sobjects/RecordType', {
      Name: 'Key Account', DeveloperName: 'Key_Account', SobjectType: 'Account', IsActive: true,
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const sfOk = (args) => runSfOk(args, { home, instanceUrl: source.baseUrl });

    const listed = await sfOk(['sobject', 'list', '--sobject', 'all', '-o', source.info.access_token]);
    assert.ok(Array.isArray(listed), JSON.stringify(listed).slice(0, 300));
    for (const name of ['Account', 'Campaign', 'LeadStatus', 'RecordType']) {
      assert.ok(listed.includes(name), `${name} listed`);
    }

    const dir = path.join(home, 'describes');
    fs.mkdirSync(dir);
    for (const name of ['Account', 'Lead']) {
      const described = await sfOk(['sobject', 'describe', '--sobject', name, '-o', source.info.access_token]);
      assert.equal(described.name, name);
      fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify({ status: 0, result: described }));
    }
    const sourceAccount = JSON.parse(fs.readFileSync(path.join(dir, 'Account.json'))).result;
    const custom = sourceAccount.fields.filter((f) => f.custom).map((f) => f.name).sort();
    assert.ok(custom.length > 0, 'the suite config gives Account custom fields');

    const config = path.join(home, 'mirror.toml');
    fs.writeFileSync(config, `describes = ${JSON.stringify(dir)}\n`);
    mirror = await startServer('mirror-copy', { prefix: 'sf', config });
    const account = (await api(mirror, 'GET', '/sobjects/Account/describe')).body;
    assert.deepEqual(account.fields.filter((f) => f.custom).map((f) => f.name).sort(), custom);
    assert.deepEqual(
      account.recordTypeInfos.map((i) => [i.developerName, i.defaultRecordTypeMapping]),
      [['Key_Account', true], ['Master', false]],
    );
    const made2 = await api(mirror, 'POST', '/sobjects/Account', { Name: 'Mirrored' });
    const got = await api(mirror, 'GET', `/sobjects/Account/${made2.body.id}`);
    assert.equal(got.body.RecordTypeId, account.recordTypeInfos[0].recordTypeId);
    const statuses = (await api(mirror, 'GET', `/query?q=${encodeURIComponent('SELECT ApiName FROM LeadStatus ORDER BY SortOrder')}`)).body;
    assert.deepEqual(
      statuses.records.map((r) => r.ApiName),
      ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'],
    );
  });
});

'use strict';
// `forcebus tail`, forcebus's own Pub/Sub client, beside the other clients: a change event
// made through jsforce and a platform event published through jsforce arrive decoded, as
// JSON documents (--json) and as lines for people (dates as dates, not Avro's numbers).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const jsforce = require('jsforce');
const { startServer, API_VERSION, BIN } = require('./server');

const run = promisify(execFile);

let srv;
let conn;
before(async () => {
  srv = await startServer('tail');
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
});
after(async () => {
  await srv?.stop();
});

/** `forcebus tail ARGS` against the test's server, its output. */
async function tail(...args) {
  const { stdout } = await run(BIN, [
    'tail', '--grpc', srv.info.grpc, '--token', srv.info.access_token,
    '--tenant', srv.info.org_id, ...args,
  ], { timeout: 30000 });
  return stdout.trim().split('\n').filter((l) => l);
}

describe('forcebus tail', () => {
  it('prints a change event and a platform event, decoded', async () => {
    const account = await conn.sobject('Account').create({ Name: 'Tailed', Industry: 'Energy' });
    assert.ok(account.success);
    const published = await conn.sobject('Order_Shipped__e').create({
      Order_Number__c: 'A-42', Weight__c: 12.5, Shipped__c: true,
    });
    assert.ok(published.success);

    const docs = (await tail('/data/AccountChangeEvent', '/event/Order_Shipped__e', '--replay', '-2', '--json'))
      .map((l) => JSON.parse(l));
    const change = docs.find((d) => d.channel === '/data/AccountChangeEvent');
    assert.ok(change, JSON.stringify(docs));
    assert.equal(change.event.ChangeEventHeader.changeType, 'CREATE');
    assert.deepEqual(change.event.ChangeEventHeader.recordIds, [account.id]);
    assert.equal(change.event.Name, 'Tailed');
    assert.equal(typeof change.event.CreatedDate, 'number', 'JSON keeps Avro values');
    const shipped = docs.find((d) => d.channel === '/event/Order_Shipped__e');
    assert.ok(shipped, JSON.stringify(docs));
    assert.equal(shipped.event.Order_Number__c, 'A-42');
    assert.equal(shipped.event.Weight__c, 12.5);
    assert.ok(shipped.replayId > change.replayId);

    const lines = await tail('/data/AccountChangeEvent', '--replay', '-2');
    const created = lines.find((l) => l.includes(' CREATE Account '));
    assert.ok(created, lines.join('\n'));
    assert.match(created, /"Name":"Tailed"/);
    assert.match(created, /"CreatedDate":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"/);
  });
});

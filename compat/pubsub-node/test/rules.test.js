// Validation rules and change events through the Salesforce Pub/Sub API client for Node
// (npm salesforce-pubsub-api-client): a write that a validation rule refuses publishes no
// change event, while the accepted writes around it do; an allOrNone collection with one
// refused record publishes nothing for either record; a Bulk API 2.0 insert publishes its
// accepted row only. The formula field Health__c is in
// no change event (Salesforce leaves formula fields out of change events). The server
// loads compat/fixtures/sfdx-rules-project with `--project`; the client runs in a child
// process (test/helpers/rules.mjs) that trusts the server's CA.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenario } from './helpers/scenario.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
process.env.COMPAT_FORCEBUS_CONFIG ??= path.join(HERE, '..', '..', 'fixtures', 'forcebus-pubsub.toml');
const require = createRequire(import.meta.url);
// The server harness shared with the jsforce suite (Node built-ins only).
const { startServer } = require('../../node/test/server.js');
const CLIENT = path.join(HERE, 'helpers', 'rules.mjs');
const FIXTURE = path.join(HERE, '..', '..', 'fixtures', 'sfdx-rules-project');
const VALIDATION = 'FIELD_CUSTOM_VALIDATION_EXCEPTION';

let srv;
before(async () => {
  srv = await startServer('pubsub-rules', { prefix: 'pubsub', extraArgs: ['--project', FIXTURE] });
});
after(async () => {
  await srv?.stop();
});

describe('Pub/Sub API: validation rules', () => {
  it('a refused write publishes no change event; the accepted ones around it do', async () => {
    const lines = await runScenario(CLIENT, srv, 'refused');
    const bad = lines.find((l) => ['error', 'failed', 'unparsable'].includes(l.type));
    assert.equal(bad, undefined, JSON.stringify(bad));

    const writes = Object.fromEntries(lines.filter((l) => l.type === 'write').map((l) => [l.label, l]));
    assert.equal(writes['accepted create'].status, 201, JSON.stringify(writes));
    assert.equal(writes['accepted update'].status, 204, JSON.stringify(writes));
    for (const label of ['refused create', 'refused update']) {
      assert.equal(writes[label].status, 400, label);
      assert.equal(writes[label].body[0].errorCode, VALIDATION, label);
    }
    const collection = writes['refused collection'];
    assert.equal(collection.status, 200);
    assert.deepEqual(collection.body.map((r) => r.success), [false, false]);
    assert.equal(collection.body[1].errors[0].statusCode, VALIDATION);

    const bulk = lines.find((l) => l.type === 'bulk');
    assert.ok(bulk, 'the bulk job finished');
    assert.deepEqual([bulk.state, bulk.processed, bulk.failedRecords], ['JobComplete', 2, 1], JSON.stringify(bulk));
    assert.match(bulk.failed, /"Bulk refused"/);

    const id = writes['accepted create'].body.id;
    const events = lines.filter((l) => l.type === 'event');
    assert.deepEqual(events.map((e) => [e.changeType, e.name]),
      [['CREATE', 'Kept'], ['CREATE', 'Bulk kept'], ['UPDATE', 'Kept again']], JSON.stringify(events));
    const [created, bulkCreated, updated] = events;
    assert.deepEqual(created.recordIds, [id]);
    assert.deepEqual(updated.recordIds, [id]);
    assert.equal(bulkCreated.score, 40);
    assert.equal(created.score, 10);
    assert.equal(updated.score, 20, 'the refused update left the score at 10, so 20 is a change from 10');
    assert.deepEqual([...updated.changedFields].sort(), ['LastModifiedDate', 'Name', 'Score__c']);
    assert.ok(created.hasScoreField, 'the stored field Score__c is in the event');
    assert.ok(events.every((e) => !e.hasFormulaField), 'the formula field Health__c is in no change event');
  });
});

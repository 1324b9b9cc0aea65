// Live schema through the Salesforce Pub/Sub API client for Node (npm
// salesforce-pubsub-api-client) over TLS: a client subscribed to /data/AccountChangeEvent
// BEFORE a CustomField is made (Tooling API over https REST) receives the next events
// under the NEW schema id — which it has never seen, so it fetches it with GetSchema —
// decoded with the new field's value, and its changedFields bitmap expanded against the
// new schema names the field; the event from before the change decodes under the old
// id. After the field is deleted, events come under a third id without it. A second
// client (empty schema cache) replaying from the earliest event decodes all of them,
// each under the schema id it was written with. The scenario runs in a child process
// (test/helpers/live-schema.mjs) that trusts the server's CA.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { runScenario } from './helpers/scenario.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
process.env.COMPAT_FORCEBUS_CONFIG ??= path.join(HERE, '..', '..', 'fixtures', 'forcebus-pubsub.toml');
const require = createRequire(import.meta.url);
// The server harness shared with the jsforce suite (Node built-ins only).
const { startServer } = require('../../node/test/server.js');
const CLIENT = path.join(HERE, 'helpers', 'live-schema.mjs');

/** Runs one scenario; resolves with the parsed JSON lines. */
function run(srv, scenario, extra = {}) {
  return runScenario(CLIENT, srv, scenario, extra);
}

const line = (lines, pred, what) => {
  const l = lines.find(pred);
  assert.ok(l, `no ${what} line in ${JSON.stringify(lines)}`);
  return l;
};

let srv;
before(async () => {
  srv = await startServer('pubsub-live-schema', { prefix: 'pubsub' });
});
after(async () => {
  await srv?.stop();
});

describe('Pub/Sub API: a subscriber connected before a schema change', () => {
  it('gets the next events in the new schema (GetSchema by id) with the field; older events keep the old id', async () => {
    const lines = await run(srv, 'change');
    const bad = lines.find((l) => ['error', 'failed', 'subscribeError', 'unparsable'].includes(l.type));
    assert.equal(bad, undefined, JSON.stringify(bad));

    const schema = (stage) => line(lines, (l) => l.type === 'schema' && l.stage === stage, `schema ${stage}`).uuid;
    const [s0, s1, s2] = [schema('before'), schema('with'), schema('without')];
    for (const s of [s0, s1, s2]) assert.match(s, /^[\w-]{22}$/);
    assert.notEqual(s1, s0, 'adding the field gives a new schema id');
    assert.notEqual(s2, s1, 'deleting it gives another');
    const field = line(lines, (l) => l.type === 'field', 'field');
    assert.equal(field.status, 201);
    assert.match(field.body.id, /^00N[0-9A-Za-z]{15}$/);
    assert.equal(line(lines, (l) => l.type === 'deleted', 'deleted').status, 204);
    const before1 = line(lines, (l) => l.type === 'schema' && l.stage === 'before', 'before').recordId;
    const after1 = line(lines, (l) => l.type === 'record', 'record').recordId;

    const byPhase = (phase) => lines.filter((l) => l.type === 'event' && l.phase === phase)
      .sort((a, b) => a.replayId - b.replayId);
    const expected = [
      // [record, changeType, schema id, has the field, value]
      [before1, 'CREATE', s0, false, null],
      [after1, 'CREATE', s1, true, 4.5],
      [after1, 'UPDATE', s1, true, 7.25],
      [after1, 'UPDATE', s2, false, null],
    ];
    for (const phase of ['live', 'replay']) {
      const got = byPhase(phase);
      assert.deepEqual(
        got.map((e) => [e.recordIds[0], e.changeType, e.schemaId, e.hasField, e.field]),
        expected,
        `${phase}: ${JSON.stringify(got)}`,
      );
      // The UPDATE's changedFields bitmap, expanded against the new schema, names the new field.
      assert.deepEqual([...got[2].changedFields].sort(), ['LastModifiedDate', 'Score__c'], `${phase}: ${JSON.stringify(got[2])}`);
      assert.deepEqual([...got[3].changedFields].sort(), ['LastModifiedDate', 'Name'], `${phase}: ${JSON.stringify(got[3])}`);
      assert.equal(got[3].name, 'Field deleted');
      assert.deepEqual(got[0].changedFields, [], 'a CREATE lists no changed fields');
    }
    // The live client got the same events (replay ids) as the replay.
    assert.deepEqual(byPhase('live').map((e) => e.replayId), byPhase('replay').map((e) => e.replayId));
  });
});

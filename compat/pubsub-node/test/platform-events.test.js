// Platform events through the Salesforce Pub/Sub API client for Node (npm
// salesforce-pubsub-api-client) against forcebus over TLS: Order_Shipped__e (declared in
// fixtures/forcebus-pubsub.toml) published with `publish` and `publishBatch` and
// received with a subscription on /event/Order_Shipped__e, fields and event ids intact;
// a refused event fails alone; an event published over REST arrives on the same kind of
// subscription with the REST response's EventUuid. Each scenario runs in a child process
// (test/helpers/platform-events.mjs) that trusts the server's CA. The tests share one
// server and run in order (the second subscribes after the first one's last event).

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
const CLIENT = path.join(HERE, 'helpers', 'platform-events.mjs');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 24 * 60 * 60 * 1000;
// Date fields are Avro `int` days since the epoch, DateTime fields `long` epoch ms.
const SHIP_DATE = '2024-05-02';
const SHIP_DAYS = Date.parse(SHIP_DATE) / DAY_MS;
const SHIPPED_AT = '2024-05-02T09:15:27.481Z';
const SHIPPED_MS = Date.parse(SHIPPED_AT);

/** Runs one scenario; resolves with the parsed JSON lines. */
function run(srv, scenario, extra = {}) {
  return runScenario(CLIENT, srv, scenario, extra);
}

const events = (lines) => lines.filter((l) => l.type === 'event');
const line = (lines, type) => {
  const l = lines.find((x) => x.type === type);
  assert.ok(l, `no ${type} line in ${JSON.stringify(lines)}`);
  return l;
};
function assertDone(lines) {
  const bad = lines.find((l) => ['error', 'failed', 'subscribeError', 'unparsable'].includes(l.type));
  assert.equal(bad, undefined, JSON.stringify(bad));
}

describe('Pub/Sub API: platform events on /event/Order_Shipped__e', () => {
  let srv;
  let lastReplayId;
  before(async () => {
    srv = await startServer('pubsub-platform-events', { prefix: 'pubsub' });
  });
  after(async () => {
    await srv?.stop();
  });

  /** The server's stamps: its own user id and CreatedDate in ms, whatever was sent. */
  function checkStamped(e) {
    assert.equal(e.payload.CreatedById, srv.info.user_id, 'CreatedById is the publishing user');
    const ms = e.payload.CreatedDate;
    assert.ok(Number.isSafeInteger(ms) && Math.abs(ms - Date.now()) < 10 * 60 * 1000, `CreatedDate ${ms} is now in ms`);
  }

  it('publish and publishBatch: per-event results, a refused event alone, subscribe gets the fields and ids', async () => {
    const lines = await run(srv, 'publish', { shipDate: SHIP_DAYS, shippedAt: SHIPPED_MS });
    assertDone(lines);

    // publish(): the whole PublishResult, replay id decoded, the correlation key given.
    const single = line(lines, 'published');
    assert.equal(single.result.correlationKey, single.key);
    assert.equal(single.result.error, undefined, JSON.stringify(single.result));
    assert.ok(Number.isSafeInteger(single.result.replayId) && single.result.replayId > 0, JSON.stringify(single.result));

    // A refused event: a PUBLISH error (enum number 1 with the client's proto-loader
    // defaults) in its result, with its correlation key; replay id 0 (decodable).
    const refused = line(lines, 'refused');
    assert.equal(refused.result.rejected, undefined, `publish() rejected: ${JSON.stringify(refused.result)}`);
    assert.equal(refused.result.correlationKey, refused.key);
    assert.equal(refused.result.error?.code, 1, JSON.stringify(refused.result));
    assert.match(refused.result.error.msg, /STRING_TOO_LONG/);
    assert.equal(refused.result.replayId, 0);

    // publishBatch: one result per event in request order; the client keeps only
    // { replayId, correlationKey } of each, so the event without Order_Number__c shows
    // as replay id 0 (its error is dropped by the client).
    const batch = line(lines, 'batch');
    const results = batch.response.results;
    assert.equal(results.length, 4, JSON.stringify(batch));
    assert.equal(results[0].correlationKey, batch.ids[0]);
    assert.match(results[1].correlationKey, UUID, 'the client made up an id for the event without one');
    assert.equal(results[2].correlationKey, batch.ids[2]);
    assert.equal(results[3].correlationKey, batch.ids[3]);
    assert.equal(results[2].replayId, 0, 'the event without its required field failed');
    const ok = [single.result.replayId, results[0].replayId, results[1].replayId, results[3].replayId];
    for (const id of ok) assert.ok(Number.isSafeInteger(id) && id > 0, `replay id ${id}`);
    assert.deepEqual([...ok].sort((a, b) => a - b), ok, 'replay ids increase in publish order');
    assert.equal(new Set(ok).size, 4);

    // The subscription: exactly the four accepted events, id = the correlation key
    // (the EventUuid), replay ids as published, fields as the client decodes them.
    const got = events(lines);
    assert.equal(got.length, 4, JSON.stringify(got));
    assert.equal(line(lines, 'received').count, 4, 'no refused event is delivered');
    assert.deepEqual(
      got.map((e) => e.id),
      [single.key, batch.ids[0], results[1].correlationKey, batch.ids[3]],
    );
    assert.deepEqual(
      got.map((e) => e.replayId),
      ok,
    );
    for (const e of got) {
      assert.match(e.id, UUID);
      assert.equal(e.schemaId, batch.response.schemaId, 'delivered in the schema it was published with');
      assert.equal(e.schemaId.length, 22);
      checkStamped(e);
    }
    const fields = got.map(({ payload: { CreatedDate, CreatedById, ...rest } }) => rest);
    assert.deepEqual(fields, [
      { Order_Number__c: 'ORD-1', Weight__c: 12.5, Shipped__c: true, Ship_Date__c: SHIP_DAYS, Shipped_At__c: SHIPPED_MS },
      // A checkbox published as null arrives as false (a Checkbox is never null).
      { Order_Number__c: 'ORD-2', Weight__c: 0.25, Shipped__c: false, Ship_Date__c: null, Shipped_At__c: null },
      { Order_Number__c: 'ORD-3', Weight__c: null, Shipped__c: false, Ship_Date__c: SHIP_DAYS, Shipped_At__c: null },
      { Order_Number__c: 'ORD-4', Weight__c: null, Shipped__c: false, Ship_Date__c: null, Shipped_At__c: SHIPPED_MS },
    ]);
    lastReplayId = ok[ok.length - 1];
  });

  it('an event published over REST arrives with the OPERATION_ENQUEUED EventUuid', async () => {
    assert.ok(lastReplayId, 'needs the replay id of the previous test');
    const lines = await run(srv, 'rest', {
      after: lastReplayId,
      fields: {
        Order_Number__c: 'ORD-REST',
        Weight__c: 3.75,
        Shipped__c: true,
        Ship_Date__c: SHIP_DATE,
        Shipped_At__c: SHIPPED_AT,
      },
    });
    assertDone(lines);
    const rest = line(lines, 'rest');
    assert.equal(rest.status, 201, JSON.stringify(rest));
    assert.equal(rest.body.success, true);
    assert.equal(rest.body.errors.length, 1, JSON.stringify(rest.body));
    const [enqueued] = rest.body.errors;
    assert.equal(enqueued.statusCode, 'OPERATION_ENQUEUED');
    assert.match(enqueued.message, UUID);

    const got = events(lines);
    assert.equal(got.length, 1, JSON.stringify(got));
    assert.equal(line(lines, 'received').count, 1);
    const [e] = got;
    assert.equal(e.id, enqueued.message, 'the event id is the EventUuid of the REST response');
    assert.ok(e.replayId > lastReplayId, `${e.replayId} after ${lastReplayId}`);
    assert.equal(e.schemaId.length, 22);
    checkStamped(e);
    const { CreatedDate, CreatedById, ...fields } = e.payload;
    assert.deepEqual(fields, {
      Order_Number__c: 'ORD-REST',
      Weight__c: 3.75,
      Shipped__c: true,
      Ship_Date__c: SHIP_DAYS,
      Shipped_At__c: SHIPPED_MS,
    });
  });
});

// What the Salesforce Pub/Sub API client for Node (npm salesforce-pubsub-api-client)
// does when forcebus's test controls (/forcebus/v1/control) make Salesforce's Pub/Sub
// failures happen: a failure armed for Subscribe, GetSchema or GetTopic, a server-side end
// of every open stream, keepalives held back, an event delay, and a stored replay id aged
// out by the org clock. One server (fixtures/forcebus-pubsub-controls.toml: keepalives
// every second, tokens that outlive the clock jump); each scenario runs in a child process
// (test/helpers/controls.mjs) that prints every callback the client made. The tests run in
// order; the clock one is last (its jump purges every retained event).

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { runScenario } from './helpers/scenario.mjs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONFIG = path.join(HERE, '..', '..', 'fixtures', 'forcebus-pubsub-controls.toml');
const require = createRequire(import.meta.url);
// The server harness shared with the jsforce suite (Node built-ins only).
const { startServer } = require('../../node/test/server.js');
const CLIENT = path.join(HERE, 'helpers', 'controls.mjs');
const TOPIC = '/data/AccountChangeEvent';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PREFIX = 'sfdc.platform.eventbus.grpc.';

/** Runs one scenario; resolves with the parsed JSON lines. */
function run(srv, scenario, extra = {}) {
  return runScenario(CLIENT, srv, scenario, extra, 30000);
}

function assertDone(lines) {
  const bad = lines.find((l) => ['error', 'failed', 'unparsable'].includes(l.type));
  assert.equal(bad, undefined, JSON.stringify(bad));
}

/** The callbacks one subscription (by the helper's label) got, in order. */
const callbacks = (lines, label = 'sub') => lines.filter((l) => l.type === 'cb' && l.label === label);
const kinds = (cbs) => cbs.map((c) => c.cb);

async function http(srv, method, urlPath, body, token) {
  const res = await fetch(`${srv.baseUrl}${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${urlPath}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const rest = (srv, method, p, body) => http(srv, method, `/services/data/v59.0${p}`, body, srv.info.access_token);
const control = (srv, method, p, body) => http(srv, method, `/forcebus/v1/control${p}`, body, srv.info.admin_key);

/**
 * Asserts a gRPC error as the client hands it over (grpc-js's ServiceError, or the status
 * object of `grpcStatus`): code, details = Salesforce's text + ` rpcId: <rpc-id trailer>`,
 * the `error-code` trailer (or none), and for an Error the message grpc-js builds.
 */
function assertGrpcError(data, { code, status, text, errorCode }) {
  assert.equal(data.code, code, JSON.stringify(data));
  const rpcId = data.metadata['rpc-id'];
  assert.match(rpcId, UUID);
  assert.equal(data.details, `${text} rpcId: ${rpcId}`);
  assert.equal(data.metadata['error-code'], errorCode, JSON.stringify(data.metadata));
  if (data.name === 'Error') assert.equal(data.message, `${code} ${status}: ${data.details}`);
}

describe('Pub/Sub API test controls: what the npm client reports', () => {
  let srv;
  let seed;
  before(async () => {
    srv = await startServer('pubsub-controls', { prefix: 'pubsub', config: CONFIG });
    // The two oldest events: the earliest subscriptions below start with them.
    seed = (await rest(srv, 'POST', '/sobjects/Account', { Name: 'Seed' })).id;
    await rest(srv, 'POST', '/sobjects/Account', { Name: 'Seed 2' });
  });
  after(async () => {
    await srv?.stop();
  });
  afterEach(async () => {
    // Every control but the clock (which DELETE leaves where it is).
    await control(srv, 'DELETE', '');
  });

  const FAILURES = {
    'replayid.corrupted': {
      code: 3,
      status: 'INVALID_ARGUMENT',
      text: 'The Replay ID validation failed. Ensure that the Replay ID is valid.',
      errorCode: `${PREFIX}subscription.fetch.replayid.corrupted`,
    },
    RESOURCE_EXHAUSTED: {
      code: 8,
      status: 'RESOURCE_EXHAUSTED',
      text: "The service received too many connections and doesn't have the resources to accept new connections.",
      errorCode: undefined,
    },
    UNAVAILABLE: {
      code: 14,
      status: 'UNAVAILABLE',
      text: 'upstream connect error or disconnect/reset before headers. reset reason: remote reset',
      errorCode: undefined,
    },
    'service.unavailable': {
      code: 13,
      status: 'INTERNAL',
      text: 'The service is unavailable. Try again later',
      errorCode: `${PREFIX}service.unavailable`,
    },
    'auth.error': {
      code: 16,
      status: 'UNAUTHENTICATED',
      text: 'An authentication exception occurred. Provide valid authentication via metadata headers.',
      errorCode: `${PREFIX}service.auth.error`,
    },
    'topic.not.found': {
      code: 5,
      status: 'NOT_FOUND',
      text: (orgId, topic) =>
        `The topic information for org ${orgId} and topic ${topic} not found. Ensure the topic name is correct and that the topic exists.`,
      errorCode: `${PREFIX}topic.not.found`,
    },
  };
  const expected = (fail, topic = TOPIC) => {
    const f = FAILURES[fail];
    return { ...f, text: typeof f.text === 'function' ? f.text(srv.info.org_id, topic) : f.text };
  };

  for (const fail of Object.keys(FAILURES)) {
    it(`${fail} on Subscribe: error, grpcStatus, end; a subscribe after end works`, async () => {
      await control(srv, 'POST', '/pubsub', { fail, rpc: 'Subscribe', times: 1 });
      const lines = await run(srv, 'subscribeFail');
      assertDone(lines);
      const failed = callbacks(lines, 'failed');
      // No event, no keepalive, no retry: error, grpcStatus (the same status), end.
      assert.deepEqual(kinds(failed), ['error', 'grpcStatus', 'end'], JSON.stringify(failed));
      const [err, status] = failed;
      assertGrpcError(err.data, expected(fail));
      assert.equal(err.data.name, 'Error');
      assertGrpcError(status.data, expected(fail));
      assert.equal(status.data.details, err.data.details);
      // The client forgot the failed stream: the same client subscribes again and gets the
      // oldest event.
      const again = callbacks(lines, 'again');
      assert.deepEqual(kinds(again), ['event', 'lastEvent']);
      assert.deepEqual([again[0].name, again[0].recordIds], ['Seed', [seed]]);
      const state = await control(srv, 'GET', '');
      assert.deepEqual(state.pubsub.fail, [], 'the one armed failure was spent');
    });
  }

  it('resubscribing from the error callback is lost: the client writes to the failed stream', async () => {
    await control(srv, 'POST', '/pubsub', { fail: 'service.unavailable', rpc: 'Subscribe', times: 1 });
    const lines = await run(srv, 'resubscribeInError');
    assertDone(lines);
    // subscribeFromEarliestEvent inside `error` neither throws nor subscribes: the failed
    // stream is still cached under the topic (it is dropped on `end`), so the client
    // re-arms that stream's listeners with the ORIGINAL callback and writes the request to
    // it. The new callback never hears anything; `grpcStatus` and `end` go to the first one.
    assert.ok(lines.some((l) => l.type === 'resubscribed'), JSON.stringify(lines));
    assert.deepEqual(kinds(callbacks(lines, 'failed')), ['error', 'grpcStatus', 'end']);
    assert.deepEqual(callbacks(lines, 'inError'), [], 'the resubscribe in `error` got nothing within 1.5 s');
    // The same resubscribe after `end` works.
    const after = callbacks(lines, 'afterEnd');
    assert.deepEqual(kinds(after), ['event', 'lastEvent']);
    assert.equal(after[0].name, 'Seed');
  });

  it('GetSchema failing while events are decoded: the event is dropped as an EventParseError, and lastEvent never comes', async () => {
    await control(srv, 'POST', '/pubsub', { fail: 'service.unavailable', rpc: 'GetSchema', times: 1 });
    await control(srv, 'POST', '/pubsub', { fail: 'service.unavailable', rpc: 'GetTopic', times: 1 });
    const lines = await run(srv, 'getSchemaFail', { count: 2 });
    assertDone(lines);
    const cbs = callbacks(lines);
    // Two events requested and delivered: the first one's schema lookup fails and it
    // reaches the callback only as an `error`; the second decodes (GetSchema is retried,
    // as nothing was cached). The client counts only decoded events, so 1 of 2: no
    // `lastEvent` (the subscription then waits for an event the server already sent).
    assert.deepEqual(kinds(cbs), ['error', 'event'], JSON.stringify(cbs));
    const [err, ev] = cbs;
    assert.equal(err.data.name, 'EventParseError');
    assert.equal(err.data.message, `Failed to parse event with replay ID ${err.data.replayId}`);
    assert.match(err.data.cause.message, /^Failed to load schema with ID [A-Za-z0-9_-]{22}$/);
    assertGrpcError(err.data.cause.cause, expected('service.unavailable'));
    assert.equal(ev.name, 'Seed 2');
    assert.ok(ev.replayId > err.data.replayId, `${ev.replayId} after ${err.data.replayId}`);
    // Subscribing never called GetTopic: its armed failure is still there.
    const state = await control(srv, 'GET', '');
    assert.deepEqual(state.pubsub.fail, [{ fail: 'service.unavailable', rpc: 'GetTopic', remaining: 1 }]);
  });

  it('GetTopic failing under publish(): the promise rejects with the gRPC error as its cause; the next publish works', async () => {
    await control(srv, 'POST', '/pubsub', { fail: 'topic.not.found', rpc: 'GetTopic', times: 1 });
    const lines = await run(srv, 'getTopicFail');
    assertDone(lines);
    const failed = lines.find((l) => l.type === 'publishError');
    assert.ok(failed, JSON.stringify(lines));
    assert.equal(failed.attempt, 1);
    assert.equal(failed.error.message, 'Failed to publish event for topic /event/Order_Shipped__e');
    assert.equal(failed.error.code, null);
    assertGrpcError(failed.error.cause, expected('topic.not.found', '/event/Order_Shipped__e'));
    const ok = lines.find((l) => l.type === 'published');
    assert.ok(ok, JSON.stringify(lines));
    assert.equal(ok.attempt, 2);
    assert.equal(ok.correlationKey, 'attempt-2');
    assert.equal(ok.error, null);
    assert.ok(ok.replayId > 0);
  });

  it('end_streams on an open subscription: error (INTERNAL, service.unavailable), grpcStatus, end', async () => {
    const lines = await run(srv, 'endStreams');
    assertDone(lines);
    const cbs = callbacks(lines).filter((c) => c.cb !== 'grpcKeepAlive');
    const ctl = lines.findIndex((l) => l.type === 'control');
    assert.ok(ctl > 0);
    // Events first (the stream was open), then the three callbacks of a failed stream.
    const tail = cbs.slice(-3);
    assert.deepEqual(kinds(tail), ['error', 'grpcStatus', 'end'], JSON.stringify(cbs));
    assert.ok(kinds(cbs.slice(0, -3)).every((k) => k === 'event') && cbs.length > 3);
    assertGrpcError(tail[0].data, expected('service.unavailable'));
    assertGrpcError(tail[1].data, expected('service.unavailable'));
    assert.ok(tail[0].t >= lines[ctl].t, 'the error follows the control');
  });

  it('reset_streams on an open subscription: grpc-js reports the RST_STREAM as 13 INTERNAL, no error-code', async () => {
    const lines = await run(srv, 'resetStreams');
    assertDone(lines);
    const cbs = callbacks(lines).filter((c) => c.cb !== 'grpcKeepAlive');
    const tail = cbs.slice(-3);
    assert.deepEqual(kinds(tail), ['error', 'grpcStatus', 'end'], JSON.stringify(cbs));
    assert.ok(kinds(cbs.slice(0, -3)).every((k) => k === 'event') && cbs.length > 3);
    const err = tail[0].data;
    assert.equal(err.code, 13, JSON.stringify(err));
    assert.match(err.details, /^Received RST_STREAM with code 2/, JSON.stringify(err));
    assert.equal(JSON.stringify(err).includes('error-code'), false, 'a transport reset has no trailers');
  });

  it('suppress_keepalives: grpcKeepAlive callbacks stop (events still come), and resume after DELETE /control', async () => {
    const lines = await run(srv, 'keepalives');
    assertDone(lines);
    const [suppress, clear] = lines.filter((l) => l.type === 'control');
    assert.deepEqual(suppress.body, { suppress_keepalives: true });
    assert.equal(clear.method, 'DELETE');
    const keep = callbacks(lines).filter((c) => c.cb === 'grpcKeepAlive');
    const before = keep.filter((k) => k.t < suppress.t);
    const during = keep.filter((k) => k.t > suppress.t + 100 && k.t <= clear.t);
    const afterClear = keep.filter((k) => k.t > clear.t);
    assert.ok(before.length >= 2, JSON.stringify(keep));
    assert.ok(clear.t - suppress.t >= 2500, 'suppressed for more than two keepalive intervals');
    assert.deepEqual(during, [], 'no keepalive while suppressed');
    assert.ok(afterClear.length >= 2, JSON.stringify(keep));
    // The client hands no data with a keepalive (its README says it does); the latest
    // replay id is only in subscription.lastReplayId.
    assert.ok(keep.every((k) => k.hasData === false));
    const ev = callbacks(lines).find((c) => c.cb === 'event');
    assert.equal(ev.name, 'While suppressed');
    assert.ok(ev.t > suppress.t && ev.t < clear.t, 'the event came while keepalives were suppressed');
    assert.ok(afterClear[0].lastReplayId >= ev.replayId);
  });

  it('delivery_delay_ms 1500: the event arrives no sooner than 1.5 s after the create, and at once without it', async () => {
    await control(srv, 'POST', '/streaming', { delivery_delay_ms: 1500 });
    const lines = await run(srv, 'delay');
    assertDone(lines);
    const [delayed, undelayed] = lines.filter((l) => l.type === 'timing');
    assert.equal(delayed.name, 'Delayed');
    // Delivery is held until 1500 ms after the commit, which happens after the request
    // was sent (the create returned ~at the commit: arrived - returned is about 1500 too).
    assert.ok(delayed.arrived - delayed.sent >= 1500, JSON.stringify(delayed));
    assert.equal(undelayed.name, 'Undelayed');
    assert.ok(undelayed.arrived - undelayed.returned < 1000, JSON.stringify(undelayed));
  });

  it('a stored replay id aged out by the clock: INVALID_ARGUMENT replayid.corrupted, then the fall-back to the earliest event', async () => {
    const started = Date.now();
    const lines = await run(srv, 'agedOut');
    const ended = Date.now();
    assertDone(lines);
    const stored = callbacks(lines, 'stored');
    assert.deepEqual(kinds(stored), ['event', 'lastEvent']);
    assert.equal(stored[0].name, 'Seed');
    const clock = lines.find((l) => l.type === 'control');
    assert.deepEqual(clock.body, { advance_secs: 73 * 3600 });
    // subscribeFromReplayId with the aged-out id (the token still works: the config's
    // session timeout is a week).
    const resumed = callbacks(lines, 'fromReplayId');
    assert.deepEqual(kinds(resumed), ['error', 'grpcStatus', 'end'], JSON.stringify(resumed));
    assertGrpcError(resumed[0].data, expected('replayid.corrupted'));
    // The recovery (subscribeFromEarliestEvent on `end`, same client): only the event
    // created after the jump; every older one was purged.
    const fresh = lines.find((l) => l.type === 'record');
    // (Keepalives come every second on this server; the one left of the two asked for
    // keeps the stream open.)
    const recovered = callbacks(lines, 'recovery').filter((c) => c.cb !== 'grpcKeepAlive');
    assert.deepEqual(kinds(recovered), ['event'], JSON.stringify(recovered));
    assert.deepEqual([recovered[0].name, recovered[0].recordIds], ['Fresh', [fresh.id]]);
    assert.ok(recovered[0].replayId > stored[0].replayId);
    // Its commitTimestamp is on the org clock: 73 hours ahead of the machine's.
    const ahead = recovered[0].commitTimestamp - 73 * 3600 * 1000;
    assert.ok(ahead >= started && ahead <= ended, `${recovered[0].commitTimestamp} vs ${started}..${ended}`);
    const state = await control(srv, 'GET', '');
    assert.equal(state.clock.offset_secs, 73 * 3600);
  });
});

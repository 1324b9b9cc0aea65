'use strict';
// The test controls (/forcebus/v1/control, admin key from the ready line) against
// jsforce's faye client on /data/AccountChangeEvent: sessions dropped (faye
// re-handshakes and resubscribes by itself, the Replay extension re-sending its
// last replay id), delivery delayed, gap and overflow events, and the org clock
// moved past the 72 h retention so that faye's automatic resubscribe meets the
// invalid-replay-id error (faye swallows it: the subscription stays dead and
// nothing tells the application), then the recovery that works.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { uniq, API_VERSION } = require('./server');
const {
  TEST_TIMEOUT_MS, waitUntil, withTimeout, findChange, summary, checkChangeEvent, invalidReplayError, settle,
} = require('./helpers/streaming');
const { disconnectFaye } = require('./helpers/faye');
const { startControlsServer, control, PAST_RETENTION_SECS } = require('./helpers/controls');

const CHANNEL = '/data/AccountChangeEvent';
/** Salesforce's empty id: the recordIds of a GAP_OVERFLOW event. */
const EMPTY_ID = '000000000000000AAA';

let srv;
let conn;
const clients = [];
before(async () => {
  srv = await startControlsServer('controls');
  conn = new jsforce.Connection({ instanceUrl: srv.baseUrl, accessToken: srv.info.access_token, version: API_VERSION });
});
after(async () => {
  for (const c of clients) await disconnectFaye(c);
  await srv?.stop();
});

/**
 * A jsforce faye client with a Replay extension from `replayFrom`, an AuthFailure
 * extension recording into `authFailures`, and a wire log (`wire.in`, `wire.out`:
 * copies of every message, after the Replay extension wrote ext.replay; `wire.all`
 * both in order as `{dir, m}`).
 */
function fayeClient(replayFrom) {
  const replay = new StreamingExtension.Replay(CHANNEL, replayFrom);
  const authFailures = [];
  const wire = { in: [], out: [], all: [] };
  const log = (dir, m) => {
    const c = JSON.parse(JSON.stringify(m));
    wire[dir].push(c);
    wire.all.push({ dir, m: c });
  };
  const client = conn.streaming.createClient([
    replay,
    new StreamingExtension.AuthFailure((m) => authFailures.push(m)),
    {
      incoming(m, cb) { log('in', m); cb(m); },
      outgoing(m, cb) { log('out', m); cb(m); },
    },
  ]);
  clients.push(client);
  return { client, replay, authFailures, wire };
}

async function createAccount(fields) {
  const res = await conn.sobject('Account').create(fields);
  assert.equal(res.success, true, `create Account: ${JSON.stringify(res)}`);
  return res.id;
}

const meta = (wire, dir, channel) => wire[dir].filter((m) => m.channel === channel);

describe('jsforce (faye) and the test controls', () => {
  it('drop_sessions: faye handshakes again and resubscribes from its last replay id; the same callback gets later events', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { client, replay, authFailures, wire } = fayeClient(-1);
    const received = [];
    await withTimeout(client.subscribe(CHANNEL, (d) => received.push(d)), 'subscribe');
    const idBefore = await createAccount({ Name: uniq('drop-before') });
    const before1 = await waitUntil(() => findChange(received, idBefore), 'the event before the drop',
      { describe: () => summary(received) });
    const firstClientId = client._dispatcher.clientId;
    assert.equal(meta(wire, 'in', '/meta/handshake')[0]?.clientId, firstClientId);

    const was = await control(srv, 'GET');
    const view = await control(srv, 'POST', '/streaming', { drop_sessions: true });
    assert.equal(view.streaming.session_drops, was.streaming.session_drops + 1, 'the drop is counted');

    // faye: 403::Unknown client with advice handshake → forget the clientId,
    // handshake, force-resubscribe every channel it knows.
    const resubscribed = await waitUntil(
      () => meta(wire, 'in', '/meta/subscribe').find((m, i) => i > 0 && m.successful),
      'the automatic resubscribe after the drop',
      { describe: () => JSON.stringify(wire.in.filter((m) => m.channel.startsWith('/meta/'))) },
    );
    const unknown = wire.in.filter((m) => m.successful === false);
    assert.equal(unknown.length, 1, `one refused request: ${JSON.stringify(unknown)}`);
    assert.equal(unknown[0].channel, '/meta/connect');
    assert.equal(unknown[0].error, '403::Unknown client');
    assert.deepEqual(unknown[0].advice, { interval: 0, reconnect: 'handshake' });
    const handshakes = meta(wire, 'in', '/meta/handshake');
    assert.deepEqual(handshakes.map((m) => m.successful), [true, true], 'a second handshake');
    assert.notEqual(handshakes[1].clientId, firstClientId, 'a new clientId');
    assert.equal(client._dispatcher.clientId, handshakes[1].clientId, 'faye uses the new clientId');
    assert.deepEqual(handshakes[1].ext, { replay: true, 'payload.format': true });
    const subsOut = meta(wire, 'out', '/meta/subscribe');
    assert.equal(subsOut.length, 2, 'the subscribe and one resubscribe');
    assert.equal(subsOut[1].clientId, handshakes[1].clientId);
    assert.deepEqual(subsOut[1].ext.replay, { [CHANNEL]: before1.event.replayId },
      'the Replay extension re-sent the last replay id it saw');
    assert.equal(resubscribed.subscription, CHANNEL);

    const idAfter = await createAccount({ Name: uniq('drop-after') });
    await waitUntil(() => findChange(received, idAfter), 'the event after the drop on the same callback',
      { describe: () => summary(received) });
    await settle();
    assert.deepEqual(received.map((d) => d.payload.ChangeEventHeader.recordIds[0]), [idBefore, idAfter],
      `each event once: ${summary(received)}`);
    assert.equal(replay._replay, findChange(received, idAfter).event.replayId);
    assert.deepEqual(authFailures, []);
    await disconnectFaye(client);
  });

  it('delivery_delay_ms: an event comes no sooner than the delay after its commit; DELETE /control makes delivery prompt again', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const DELAY = 2000;
    const { client } = fayeClient(-1);
    const received = [];
    const at = new Map();
    await withTimeout(client.subscribe(CHANNEL, (d) => {
      received.push(d);
      at.set(d.payload.ChangeEventHeader.recordIds[0], Date.now());
    }), 'subscribe');

    const on = await control(srv, 'POST', '/streaming', { delivery_delay_ms: DELAY });
    assert.equal(on.streaming.delivery_delay_ms, DELAY);
    assert.ok(on.active.includes('streaming.delivery_delay_ms'), `active: ${JSON.stringify(on.active)}`);
    // The commit happens between the send and the answer; the delay runs from the commit.
    const sent = Date.now();
    const slowId = await createAccount({ Name: uniq('delayed') });
    const returned = Date.now();
    assert.equal(at.has(slowId), false, 'not delivered when the create returned');
    const slow = await waitUntil(() => findChange(received, slowId), 'the delayed event',
      { describe: () => summary(received) });
    const commit = slow.payload.ChangeEventHeader.commitTimestamp;
    assert.ok(commit >= sent - 5 && commit <= returned + 5, `commitTimestamp ${commit} within the create (${sent}..${returned})`);
    const measured = `received ${at.get(slowId) - commit} ms after the commit, `
      + `${at.get(slowId) - returned} ms after the create returned`;
    t.diagnostic(measured);
    assert.ok(at.get(slowId) - commit >= DELAY, measured);

    const off = await control(srv, 'DELETE');
    assert.deepEqual(off.active, []);
    assert.equal(off.streaming.delivery_delay_ms, 0);
    const sent2 = Date.now();
    const fastId = await createAccount({ Name: uniq('prompt') });
    await waitUntil(() => findChange(received, fastId), 'the event after DELETE /control',
      { describe: () => summary(received) });
    // Only bound: the delay that was switched off.
    assert.ok(at.get(fastId) - sent2 < DELAY, `received ${at.get(fastId) - sent2} ms after the create was sent`);
    assert.deepEqual(received.map((d) => d.payload.ChangeEventHeader.recordIds[0]), [slowId, fastId]);
    await disconnectFaye(client);
  });

  it('gap and overflow events reach the subscriber with Salesforce\'s header and no record fields', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { client } = fayeClient(-1);
    const received = [];
    await withTimeout(client.subscribe(CHANNEL, (d) => received.push(d)), 'subscribe');
    const id1 = await createAccount({ Name: uniq('gap-1') });
    const id2 = await createAccount({ Name: uniq('gap-2') });
    const contact = await conn.sobject('Contact').create({ LastName: uniq('gap-contact') });
    assert.equal(contact.success, true);
    await waitUntil(() => findChange(received, id2), 'the two CREATEs', { describe: () => summary(received) });

    // A Contact gap first: the Account channel must not show it.
    const other = await control(srv, 'POST', '/gap', { object: 'Contact', changeType: 'GAP_UPDATE', recordIds: [contact.id] }, 201);
    assert.equal(other.events[0].ChangeEventHeader.entityName, 'Contact');
    const overflow = await control(srv, 'POST', '/gap', { object: 'Account', overflow: true }, 201);
    const gap = await control(srv, 'POST', '/gap', { object: 'Account', changeType: 'GAP_UPDATE', recordIds: [id1, id2] }, 201);
    assert.equal(overflow.events.length, 1);
    assert.equal(gap.events.length, 1, 'one gap event for both records');
    const isGap = (d) => d.payload.ChangeEventHeader.changeType.startsWith('GAP_');
    await waitUntil(() => received.filter(isGap).length >= 2, 'the two gap events', { describe: () => summary(received) });
    await settle();

    const gaps = received.filter(isGap);
    assert.deepEqual(gaps.map((d) => d.event.replayId), [overflow.events[0].replayId, gap.events[0].replayId],
      `the overflow then the GAP_UPDATE, nothing else (no Contact gap): ${summary(received)}`);
    assert.equal(received.length, 4, `two CREATEs and two gap events: ${summary(received)}`);
    const userId = srv.info.user_id;
    for (const [d, served, changeType, recordIds] of [
      [gaps[0], overflow.events[0], 'GAP_OVERFLOW', [EMPTY_ID]],
      [gaps[1], gap.events[0], 'GAP_UPDATE', [id1, id2]],
    ]) {
      assert.deepEqual(Object.keys(d.payload), ['ChangeEventHeader'], `${changeType}: header only, no record fields`);
      assert.deepEqual(Object.keys(d).sort(), ['event', 'payload', 'schema']);
      assert.match(d.schema, /^[\w-]{22}$/);
      const h = d.payload.ChangeEventHeader;
      assert.equal(h.changeType, changeType);
      assert.equal(h.entityName, 'Account');
      assert.deepEqual(h.recordIds, recordIds);
      assert.equal(h.changeOrigin, '');
      assert.equal(h.sequenceNumber, 1);
      assert.equal(h.commitUser, userId);
      assert.deepEqual(h.changedFields, []);
      assert.equal(typeof h.transactionKey, 'string');
      assert.ok(h.transactionKey.length > 0);
      assert.ok(Number.isSafeInteger(h.commitNumber));
      assert.ok(Math.abs(h.commitTimestamp - Date.now()) < 10 * 60 * 1000, 'commitTimestamp is about now');
      // What the control answered is what was delivered.
      for (const [k, v] of Object.entries(h)) assert.deepEqual(v, served.ChangeEventHeader[k], `header ${k}`);
    }
    assert.notEqual(gaps[0].payload.ChangeEventHeader.transactionKey, gaps[1].payload.ChangeEventHeader.transactionKey,
      'each its own transaction');
    await disconnectFaye(client);
  });

  it('a stored replay id aged out: faye\'s automatic resubscribe gets the 400, tells nobody, and no event arrives again; a new -2 subscription recovers', { timeout: TEST_TIMEOUT_MS }, async () => {
    // An earlier session stored the replay id of event A.
    const first = fayeClient(-1);
    const firstSeen = [];
    await withTimeout(first.client.subscribe(CHANNEL, (d) => firstSeen.push(d)), 'first subscribe');
    const idA = await createAccount({ Name: uniq('aged-a') });
    await waitUntil(() => findChange(firstSeen, idA), 'event A', { describe: () => summary(firstSeen) });
    await disconnectFaye(first.client);
    const storedA = first.replay._replay;
    assert.equal(storedA, findChange(firstSeen, idA).event.replayId);

    // Resume from it: only the newer event B.
    const idB = await createAccount({ Name: uniq('aged-b') });
    const { client, replay, authFailures, wire } = fayeClient(storedA);
    const received = [];
    const sub = client.subscribe(CHANNEL, (d) => received.push(d));
    const subErrors = [];
    sub.errback((e) => subErrors.push(e));
    await withTimeout(sub, 'subscribe from the stored replay id');
    await waitUntil(() => findChange(received, idB), 'event B', { describe: () => summary(received) });
    const storedB = replay._replay;
    assert.equal(storedB, findChange(received, idB).event.replayId);
    // A change elsewhere in the org after B, so that B is not the newest purged event
    // (that case has a test of its own below).
    const later = await conn.sobject('Contact').create({ LastName: uniq('aged-contact') });
    assert.equal(later.success, true);

    const clock = await control(srv, 'POST', '/clock', { advance_secs: PAST_RETENTION_SECS });
    assert.ok(clock.clock.offset_secs >= PAST_RETENTION_SECS, `offset ${clock.clock.offset_secs}`);
    assert.ok(clock.active.includes('clock.advanced'));
    await control(srv, 'POST', '/streaming', { drop_sessions: true });

    const expected = invalidReplayError(storedB);
    const refused = await waitUntil(() => meta(wire, 'in', '/meta/subscribe').find((m) => m.successful === false),
      'the refused resubscribe', { describe: () => JSON.stringify(wire.in.filter((m) => m.channel.startsWith('/meta/'))) });
    const handshakes = meta(wire, 'in', '/meta/handshake');
    assert.deepEqual(handshakes.map((m) => m.successful), [true, true], 'faye handshook again');
    const subsOut = meta(wire, 'out', '/meta/subscribe');
    assert.deepEqual(subsOut.map((m) => m.ext.replay[CHANNEL]), [storedA, storedB],
      'the automatic resubscribe carried the stored replay id');
    assert.equal(refused.error, expected);
    assert.equal(refused.subscription, CHANNEL);
    // faye keeps long-polling on the new clientId as if all were well.
    const refusedAt = wire.all.findIndex((e) => e.m === refused);
    await waitUntil(() => wire.all.slice(refusedAt).some((e) => e.dir === 'out'
      && e.m.channel === '/meta/connect' && e.m.clientId === handshakes[1].clientId), 'a connect after the refusal');

    // Nothing reaches the application: the failure went to faye's throwaway
    // subscription, the one the application holds stays resolved, the channel
    // listener stays registered, and the AuthFailure extension is not involved.
    // A witness client subscribed now (-1) proves an Account event was delivered.
    const witness = fayeClient(-1);
    const seen = [];
    await withTimeout(witness.client.subscribe(CHANNEL, (d) => seen.push(d)), 'witness subscribe');
    const idC = await createAccount({ Name: uniq('aged-c') });
    await waitUntil(() => findChange(seen, idC), 'event C on the witness', { describe: () => summary(seen) });
    await settle(500);
    assert.equal(findChange(received, idC), undefined, `the dead subscription got nothing: ${summary(received)}`);
    assert.deepEqual(subErrors, [], 'the subscription\'s errback never fired');
    assert.deepEqual(authFailures, []);
    assert.equal(client._state, client.CONNECTED, 'faye believes it is connected');
    assert.deepEqual(client._channels.getKeys(), [CHANNEL], 'and still subscribed');
    assert.equal(replay._replay, storedB, 'the Replay extension still holds the aged-out id');

    // Every later re-handshake repeats the same stale id: it never recovers by itself.
    await control(srv, 'POST', '/streaming', { drop_sessions: true });
    await waitUntil(() => meta(wire, 'in', '/meta/subscribe').filter((m) => m.successful === false).length === 2,
      'the second refused resubscribe');
    assert.deepEqual(meta(wire, 'out', '/meta/subscribe').map((m) => m.ext.replay[CHANNEL]), [storedA, storedB, storedB]);
    assert.equal(meta(wire, 'in', '/meta/subscribe')[2].error, expected);

    // The recovery that works: a new subscription replaying from -2 gets what is
    // still retained (C, written while the old one was dead; A and B were purged),
    // then live events.
    const fresh = fayeClient(-2);
    const recovered = [];
    await withTimeout(fresh.client.subscribe(CHANNEL, (d) => recovered.push(d)), 'subscribe with -2');
    const idD = await createAccount({ Name: uniq('aged-d') });
    await waitUntil(() => findChange(recovered, idD), 'live event D after the recovery', { describe: () => summary(recovered) });
    await settle();
    assert.deepEqual(recovered.map((d) => d.payload.ChangeEventHeader.recordIds[0]), [idC, idD],
      `-2 replays only what is retained, then live: ${summary(recovered)}`);
    assert.equal(fresh.wire.in.find((m) => m.channel === '/meta/subscribe')?.successful, true);
    assert.deepEqual(received.map((d) => d.payload.ChangeEventHeader.recordIds[0]), [idB],
      `the dead subscription got nothing after B: ${summary(received)}`);
    assert.deepEqual(fresh.authFailures, []);
    for (const c of [client, witness.client, fresh.client]) await disconnectFaye(c);
  });

  it('a stored replay id of the newest aged-out event gets the 400 too', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const { client, replay, wire } = fayeClient(-1);
    const received = [];
    await withTimeout(client.subscribe(CHANNEL, (d) => received.push(d)), 'subscribe');
    const idE = await createAccount({ Name: uniq('tip-e') });
    await waitUntil(() => findChange(received, idE), 'event E', { describe: () => summary(received) });
    const stored = replay._replay;
    // Nothing else is written: E is the newest event, then it ages out.
    await control(srv, 'POST', '/clock', { advance_secs: PAST_RETENTION_SECS });
    await control(srv, 'POST', '/streaming', { drop_sessions: true });
    const reply = await waitUntil(() => meta(wire, 'in', '/meta/subscribe')[1], 'the automatic resubscribe');
    assert.equal(meta(wire, 'out', '/meta/subscribe')[1].ext.replay[CHANNEL], stored);
    await disconnectFaye(client);
    assert.equal(reply.successful, false, `resubscribe from ${stored}, purged: ${JSON.stringify(reply)}`);
    assert.equal(reply.error, invalidReplayError(stored));
  });
});

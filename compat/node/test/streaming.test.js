'use strict';
// Streaming API (CometD / Bayeux long-polling) through jsforce's faye client:
// Change Data Capture events on /data/AccountChangeEvent produced by REST
// writes, jsforce's Replay extension (-2 and a stored replay id) and its
// AuthFailure extension (handshake denied; token revoked mid-session).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { startServer, revokeToken, uniq, API_VERSION } = require('./server');
const {
  TEST_TIMEOUT_MS, waitUntil, withTimeout, findChange, summary, checkChangeEvent, assertIncreasing,
} = require('./helpers/streaming');

const CHANNEL = '/data/AccountChangeEvent';

let srv;
let conn;
const clients = [];
before(async () => {
  srv = await startServer('streaming');
  conn = new jsforce.Connection({
    instanceUrl: srv.baseUrl,
    accessToken: srv.info.access_token,
    version: API_VERSION,
  });
});
after(async () => {
  // A faye client left connected keeps a long poll (and this process) alive.
  for (const c of clients) await disconnect(c);
  await srv?.stop();
});

/** A faye client from jsforce with the given extensions; disconnected in after(). */
function streamingClient(connection, extensions) {
  const client = connection.streaming.createClient(extensions);
  clients.push(client);
  return client;
}

async function disconnect(client) {
  try {
    const p = client.disconnect();
    if (p) await withTimeout(p, 'faye disconnect', 5000);
  } catch {
    // already gone
  }
  try {
    client._dispatcher.close();
  } catch {
    // ignore
  }
}

/** An AuthFailure extension that fails the test by recording the message. */
function noAuthFailure(failures) {
  return new StreamingExtension.AuthFailure((msg) => failures.push(msg));
}

async function createAccount(fields) {
  const res = await conn.sobject('Account').create(fields);
  assert.equal(res.success, true, `create Account: ${JSON.stringify(res)}`);
  return res.id;
}

describe('jsforce streaming: Change Data Capture over CometD', () => {
  it('replays retained events with -2, then receives live ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    const n1 = uniq('stream-a');
    const n2 = uniq('stream-b');
    const n3 = uniq('stream-c');
    const id1 = await createAccount({ Name: n1 });
    const id2 = await createAccount({ Name: n2, Phone: '555-0101' });

    const received = [];
    const failures = [];
    const replay = new StreamingExtension.Replay(CHANNEL, -2);
    const client = streamingClient(conn, [replay, noAuthFailure(failures)]);
    const sub = client.subscribe(CHANNEL, (data) => received.push(data));
    await withTimeout(sub, `subscribe ${CHANNEL}`);

    await waitUntil(() => findChange(received, id1) && findChange(received, id2),
      'the two retained CREATE events (replay -2)', { describe: () => summary(received) });

    // Live: written while the client is subscribed (its connect is parked).
    const id3 = await createAccount({ Name: n3, Industry: 'Technology' });
    await waitUntil(() => findChange(received, id3), 'the live CREATE event',
      { describe: () => summary(received) });
    await conn.sobject('Account').update({ Id: id3, Phone: '555-0199' });
    await waitUntil(() => findChange(received, id3, 'UPDATE'), 'the live UPDATE event',
      { describe: () => summary(received) });
    await conn.sobject('Account').destroy(id2);
    await waitUntil(() => findChange(received, id2, 'DELETE'), 'the live DELETE event',
      { describe: () => summary(received) });

    assert.deepEqual(failures, [], 'AuthFailure never fired');
    const userId = srv.info.user_id;
    const e1 = findChange(received, id1);
    const e2 = findChange(received, id2);
    const e3 = findChange(received, id3);
    const u3 = findChange(received, id3, 'UPDATE');
    const d2 = findChange(received, id2, 'DELETE');
    checkChangeEvent(e1, { entityName: 'Account', recordId: id1, changeType: 'CREATE', userId, fields: { Name: n1 } });
    checkChangeEvent(e2, {
      entityName: 'Account', recordId: id2, changeType: 'CREATE', userId, fields: { Name: n2, Phone: '555-0101' },
    });
    checkChangeEvent(e3, {
      entityName: 'Account', recordId: id3, changeType: 'CREATE', userId, fields: { Name: n3, Industry: 'Technology' },
    });
    checkChangeEvent(u3, { entityName: 'Account', recordId: id3, changeType: 'UPDATE', userId, fields: { Phone: '555-0199' } });
    assert.ok(u3.payload.ChangeEventHeader.changedFields.includes('Phone'), 'UPDATE lists Phone in changedFields');
    assert.ok(u3.payload.ChangeEventHeader.changedFields.includes('LastModifiedDate'),
      'UPDATE lists LastModifiedDate in changedFields');
    assert.ok(!('Name' in u3.payload), 'UPDATE carries only the changed fields');
    checkChangeEvent(d2, { entityName: 'Account', recordId: id2, changeType: 'DELETE', userId });

    // Delivered once each, in commit order, with increasing replay ids.
    const ours = [e1, e2, e3, u3, d2];
    for (const e of ours) {
      assert.equal(received.filter((d) => d.event.replayId === e.event.replayId).length, 1,
        `replayId ${e.event.replayId} delivered once`);
    }
    assertIncreasing(received);
    const order = ours.map((e) => received.indexOf(e));
    assert.deepEqual(order, [...order].sort((a, b) => a - b), 'events arrive in the order the writes happened');
    assert.equal(replay._replay, d2.event.replayId, 'the Replay extension remembers the last replay id');

    await disconnect(client);
  });

  it('resubscribing from a stored replay id receives only newer events', { timeout: TEST_TIMEOUT_MS }, async () => {
    const idA = await createAccount({ Name: uniq('resume-a') });

    // First session: read everything, keep the replay id the extension stored.
    const first = [];
    const replay1 = new StreamingExtension.Replay(CHANNEL, -2);
    const c1 = streamingClient(conn, [replay1]);
    await withTimeout(c1.subscribe(CHANNEL, (d) => first.push(d)), 'first subscribe');
    const eA = await waitUntil(() => findChange(first, idA), 'event A in the first session',
      { describe: () => summary(first) });
    await disconnect(c1);
    const stored = replay1._replay;
    assert.ok(stored >= eA.event.replayId, `stored replay id ${stored} covers event A (${eA.event.replayId})`);

    // Written while nobody listens.
    const idB = await createAccount({ Name: uniq('resume-b') });
    const idC = await createAccount({ Name: uniq('resume-c') });

    const second = [];
    const c2 = streamingClient(conn, [new StreamingExtension.Replay(CHANNEL, stored)]);
    await withTimeout(c2.subscribe(CHANNEL, (d) => second.push(d)), 'second subscribe');
    await waitUntil(() => findChange(second, idB) && findChange(second, idC),
      'events B and C (after the stored replay id)', { describe: () => summary(second) });
    const idD = await createAccount({ Name: uniq('resume-d') });
    await waitUntil(() => findChange(second, idD), 'live event D', { describe: () => summary(second) });

    assert.equal(findChange(second, idA), undefined, 'event A (at or before the stored id) is not replayed');
    for (const d of second) {
      assert.ok(d.event.replayId > stored, `replayId ${d.event.replayId} > stored ${stored}`);
    }
    assertIncreasing(second);
    await disconnect(c2);
  });

  it('AuthFailure fires when the handshake is denied for a bad token', { timeout: TEST_TIMEOUT_MS }, async () => {
    const bad = new jsforce.Connection({
      instanceUrl: srv.baseUrl,
      accessToken: '00DFAKE0000000000!not.a.real.token',
      version: API_VERSION,
    });
    let onFailure;
    const failed = new Promise((resolve) => { onFailure = resolve; });
    const received = [];
    const client = streamingClient(bad, [
      new StreamingExtension.Replay(CHANNEL, -2),
      new StreamingExtension.AuthFailure((msg) => onFailure(msg)),
    ]);
    client.subscribe(CHANNEL, (d) => received.push(d)).then(null, () => {});
    const msg = await withTimeout(failed, 'AuthFailure callback');
    assert.equal(msg.channel, '/meta/handshake');
    assert.equal(msg.successful, false);
    assert.equal(msg.error, '403::Handshake denied');
    assert.equal(msg.advice?.reconnect, 'none');
    assert.equal(msg.ext?.sfdc?.failureReason, '401::Authentication invalid');
    assert.equal(msg.ext?.replay, true);
    assert.deepEqual(received, []);
  });

  it('AuthFailure fires on /meta/connect after the token is revoked mid-session', { timeout: TEST_TIMEOUT_MS }, async () => {
    const own = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
    await own.login(srv.info.username, srv.info.password);
    assert.notEqual(own.accessToken, srv.info.access_token, 'a session of its own');

    let onFailure;
    const failed = new Promise((resolve) => { onFailure = resolve; });
    const received = [];
    const client = streamingClient(own, [
      new StreamingExtension.Replay(CHANNEL, -1),
      new StreamingExtension.AuthFailure((msg) => onFailure(msg)),
    ]);
    await withTimeout(client.subscribe(CHANNEL, (d) => received.push(d)), 'subscribe');
    const idBefore = await createAccount({ Name: uniq('revoke-before') });
    await waitUntil(() => findChange(received, idBefore), 'an event while the token is valid',
      { describe: () => summary(received) });

    await revokeToken(srv, own.accessToken);
    // Wake the parked connect (written with the suite's other, valid token);
    // the client's next connect carries the revoked token.
    await createAccount({ Name: uniq('revoke-after') });
    const msg = await withTimeout(failed, 'AuthFailure callback after revoke');
    assert.equal(msg.channel, '/meta/connect');
    assert.equal(msg.successful, false);
    assert.equal(msg.error, '401::Authentication invalid');
    assert.equal(msg.advice?.reconnect, 'none');
  });
});

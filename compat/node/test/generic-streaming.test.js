'use strict';
// Generic streaming (streaming-cometd.md §2.7) through jsforce: a channel made
// with `conn.sobject('StreamingChannel').create({ Name: '/u/…' })`, strings
// pushed with `conn.streaming.channel(name).push(…)` and received with
// `channel(name).subscribe()` / `topic(name).subscribe()` (jsforce's faye
// client) and with `createClient([StreamingExtension.Replay])`.
//
// jsforce 3.10.26 (lib/api/streaming.js):
// - `Channel.push(events)` looks the channel id up with
//   `sobject('StreamingChannel').findOne({ Name }, ['Id'])` (a SOQL query
//   `… WHERE Name = '/u/…' LIMIT 1`), caches that promise on the Channel
//   object, then `requestPost('/sobjects/StreamingChannel/{id}/push',
//   { pushEvents })`; it returns the response array for an array argument and
//   its first element for a single event. No record → a plain jsforce
//   `Error('No streaming channel available for name: …')`, no push request.
// - `subscribe(name)` keeps one faye client per Connection for names under
//   `/u/` (`_fayeClients.generic`) and one for every other channel
//   (`_fayeClients.pushTopic`); both go to `/cometd/<version>`, except that
//   the `/u/` one goes to `/cometd/replay/36.0` when the Connection's version
//   is exactly 36.0 (forcebus serves 37.0 and later only, so that endpoint is
//   not covered). `createClient()` always uses `/cometd/<version>`.
//
// Every scenario ends with a broadcast "marker" push; once it has arrived,
// everything pushed before it has been delivered (one channel, one order), so
// "not delivered" is checked without sleeping.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { startServer, uniq, API_VERSION } = require('./server');
const { TEST_TIMEOUT_MS, waitUntil, withTimeout, settle } = require('./helpers/streaming');
const { disconnectFaye, topicClients } = require('./helpers/faye');

const NAME = '/u/notifications/Alerts';
const CREATED_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let srv;
let conn;
let me; // the ready line's user (18-character id)
let other; // a second User, never online
const conns = [];
const fayes = [];
before(async () => {
  srv = await startServer('generic-streaming');
  conn = newConnection();
  me = srv.info.user_id;
  const u = uniq('gs');
  const res = await conn.sobject('User').create({
    Username: `${u}@example.com`, LastName: 'Other', Email: `${u}@example.com`, Alias: 'other',
  });
  assert.equal(res.success, true, `create User: ${JSON.stringify(res)}`);
  other = res.id;
});
after(async () => {
  for (const f of fayes) await disconnectFaye(f);
  for (const c of conns) for (const f of topicClients(c)) await disconnectFaye(f);
  await srv?.stop();
});

function newConnection() {
  const c = new jsforce.Connection({ instanceUrl: srv.baseUrl, accessToken: srv.info.access_token, version: API_VERSION });
  conns.push(c);
  return c;
}

/** GET /sobjects/StreamingChannel/{id}/push through jsforce. */
function onlineUsers(id) {
  return conn.request(`/services/data/v${API_VERSION}/sobjects/StreamingChannel/${id}/push`);
}

/** Shape of one generic event `data` (what faye hands the listener). */
function checkEvent(data) {
  assert.deepEqual(Object.keys(data).sort(), ['event', 'payload'], `data holds event and payload: ${JSON.stringify(data)}`);
  assert.deepEqual(Object.keys(data.event).sort(), ['createdDate', 'replayId'], JSON.stringify(data.event));
  assert.match(data.event.createdDate, CREATED_DATE, 'createdDate is UTC ISO-8601 with milliseconds and Z');
  assert.ok(Math.abs(Date.parse(data.event.createdDate) - Date.now()) < 10 * 60 * 1000, 'createdDate is about now');
  assert.ok(Number.isSafeInteger(data.event.replayId) && data.event.replayId > 0, `replayId ${data.event.replayId}`);
  assert.equal(typeof data.payload, 'string', 'payload is delivered as the pushed string');
}

function assertIncreasing(datas) {
  const ids = datas.map((d) => d.event.replayId);
  for (let i = 1; i < ids.length; i += 1) {
    assert.ok(ids[i] > ids[i - 1], `replay ids strictly increase: ${JSON.stringify(ids)}`);
  }
}

const payloads = (datas) => datas.map((d) => d.payload);

/** Wait for the marker payload, then a little longer for anything stray; returns the list. */
async function untilMarker(datas, marker, what) {
  await waitUntil(() => datas.some((d) => d.payload === marker), what, { describe: () => JSON.stringify(payloads(datas)) });
  await settle();
  return datas;
}

/** An incoming faye extension keeping every message on `channel` as it came off the wire. */
function wireCapture(channel) {
  const messages = [];
  return {
    messages,
    incoming(message, callback) {
      if (message.channel === channel) messages.push(JSON.parse(JSON.stringify(message)));
      callback(message);
    },
  };
}

describe('jsforce: generic streaming on /u/ channels', () => {
  let channelId;
  const live = []; // every event the subscriber of the push test received, in order

  it('sobject("StreamingChannel").create() makes a /u/ channel; other names are INVALID_FIELD', { timeout: TEST_TIMEOUT_MS }, async () => {
    const res = await conn.sobject('StreamingChannel').create({ Name: NAME, Description: 'compat alerts' });
    assert.equal(res.success, true, `create StreamingChannel: ${JSON.stringify(res)}`);
    assert.match(res.id, /^0M6/, 'StreamingChannel ids have the 0M6 key prefix');
    channelId = res.id;

    const rec = await conn.sobject('StreamingChannel').findOne({ Name: NAME }, ['Id', 'Name', 'Description']);
    assert.equal(rec?.Id, channelId, `findOne by Name (what Channel.push runs): ${JSON.stringify(rec)}`);
    assert.equal(rec.Name, NAME);
    assert.equal(rec.Description, 'compat alerts');

    for (const bad of ['Alerts', 'notifications/Alerts', '/topic/Alerts', '/u/', '/u/has space', '/u/bad-name']) {
      await assert.rejects(conn.sobject('StreamingChannel').create({ Name: bad }), (err) => {
        assert.equal(err.errorCode, 'INVALID_FIELD', `${bad}: ${err.errorCode} ${err.message}`);
        assert.equal(err.name, 'INVALID_FIELD');
        assert.ok(err.message.length > 0);
        assert.deepEqual(err.data?.fields, ['Name'], `fields of INVALID_FIELD: ${JSON.stringify(err.data)}`);
        return true;
      });
    }
    const all = await conn.query('SELECT Id, Name FROM StreamingChannel');
    assert.deepEqual(all.records.map((r) => r.Name), [NAME], 'only the valid channel was saved');
  });

  it('push() with nobody subscribed: fanoutCount 0; GET …/push lists no online user', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(channelId, 'the previous test made the channel');
    const online = await onlineUsers(channelId);
    assert.deepEqual(online, { OnlineUserIds: [], ChannelName: NAME });
    const ret = await conn.streaming.channel(NAME).push({ payload: 'nobody listening', userIds: [] });
    assert.deepEqual(ret, { fanoutCount: 0, userOnlineStatus: {} }, 'a single event gives a single push result');
    const rets = await conn.streaming.channel(NAME).push([{ payload: 'still nobody', userIds: [me] }]);
    assert.deepEqual(rets, [{ fanoutCount: 0, userOnlineStatus: { [me]: false } }], 'an array gives an array');
  });

  it('broadcast and targeted pushes reach channel().subscribe() and topic().subscribe(); one for another user does not', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Two Connections of the same user: channel(name).subscribe() and topic(name).subscribe().
    const c1 = newConnection();
    const viaChannel = [];
    await withTimeout(c1.streaming.channel(NAME).subscribe((d) => viaChannel.push(d)), `channel(${NAME}).subscribe`);
    const c2 = newConnection();
    const viaTopic = [];
    await withTimeout(c2.streaming.topic(NAME).subscribe((d) => viaTopic.push(d)), `topic(${NAME}).subscribe`);
    for (const c of [c1, c2]) {
      assert.deepEqual(Object.keys(c.streaming._fayeClients), ['generic'], 'jsforce used its client for /u/ names');
      assert.equal(c.streaming._fayeClients.generic._dispatcher.endpoint.href, `${srv.baseUrl}/cometd/${API_VERSION}`);
    }
    const online = await onlineUsers(channelId);
    assert.deepEqual(online, { OnlineUserIds: [me], ChannelName: NAME }, 'the subscribed user is online');

    const ch = conn.streaming.channel(NAME);
    const first = await ch.push({ payload: 'to everyone', userIds: [] });
    assert.deepEqual(first, { fanoutCount: -1, userOnlineStatus: {} }, 'a broadcast with a subscriber: fanoutCount -1');
    const json = JSON.stringify({ kind: 'json-looking', n: 1 });
    const rets = await ch.push([
      { payload: 'to me', userIds: [me] },
      { payload: 'to the other user', userIds: [other] },
      { payload: 'to both', userIds: [me, other] },
      { payload: json },
      { payload: 'ünïcødé ✓ "quoted" \\ back\nslash' },
    ]);
    assert.deepEqual(rets, [
      { fanoutCount: 1, userOnlineStatus: { [me]: true } },
      { fanoutCount: 0, userOnlineStatus: { [other]: false } },
      { fanoutCount: 1, userOnlineStatus: { [me]: true, [other]: false } },
      { fanoutCount: -1, userOnlineStatus: {} },
      { fanoutCount: -1, userOnlineStatus: {} },
    ], 'one push result per event, in order');
    const marker = uniq('marker');
    assert.deepEqual(await ch.push({ payload: marker, userIds: [] }), { fanoutCount: -1, userOnlineStatus: {} });

    const expected = ['to everyone', 'to me', 'to both', json, 'ünïcødé ✓ "quoted" \\ back\nslash', marker];
    await untilMarker(viaChannel, marker, 'the marker on channel().subscribe()');
    await untilMarker(viaTopic, marker, 'the marker on topic().subscribe()');
    assert.deepEqual(payloads(viaChannel), expected, 'exactly the broadcasts and the pushes for this user, in push order');
    for (const d of viaChannel) checkEvent(d);
    assertIncreasing(viaChannel);
    assert.deepEqual(viaTopic, viaChannel, 'both subscribers got the same events (replay ids, dates)');
    live.push(...viaChannel);

    for (const c of [c1, c2]) for (const f of topicClients(c)) await disconnectFaye(f);
    const after = await onlineUsers(channelId);
    assert.deepEqual(after, { OnlineUserIds: [], ChannelName: NAME }, 'nobody is online after both disconnected');
    assert.deepEqual(await ch.push({ payload: 'after disconnect' }), { fanoutCount: 0, userOnlineStatus: {} });
  });

  it('push errors reject with the Salesforce errorCode; nothing of a failed call is delivered', { timeout: TEST_TIMEOUT_MS }, async () => {
    const c1 = newConnection();
    const datas = [];
    await withTimeout(c1.streaming.channel(NAME).subscribe((d) => datas.push(d)), `subscribe ${NAME}`);
    const ch = conn.streaming.channel(NAME);
    const longest = 'x'.repeat(3000);
    assert.deepEqual(await ch.push({ payload: longest }), { fanoutCount: -1, userOnlineStatus: {} }, '3000 characters are fine');
    await assert.rejects(ch.push([{ payload: 'before the long one' }, { payload: 'y'.repeat(3001) }]), (err) => {
      assert.equal(err.errorCode, 'STRING_TOO_LONG', `${err.errorCode} ${err.message}`);
      assert.ok(err.message.length > 0);
      return true;
    });
    await assert.rejects(ch.push({ payload: 'to nobody', userIds: ['005000000000000AAA'] }), (err) => {
      assert.ok(typeof err.errorCode === 'string' && err.errorCode.length > 0, `an API error: ${err.errorCode} ${err.message}`);
      assert.match(err.message, /005000000000000AAA/, 'the message names the unknown user id');
      return true;
    });
    // No StreamingChannel with that Name: jsforce's own error, after its query.
    await assert.rejects(conn.streaming.channel('/u/notifications/Nope').push({ payload: 'x' }), (err) => {
      assert.equal(err.message, 'No streaming channel available for name: /u/notifications/Nope');
      return true;
    });
    const marker = uniq('marker');
    await ch.push({ payload: marker });
    await untilMarker(datas, marker, 'the marker');
    assert.deepEqual(payloads(datas), [longest, marker], 'nothing from the refused calls was delivered');
    for (const d of datas) checkEvent(d);
    assertIncreasing([...live, ...datas]);
    for (const f of topicClients(c1)) await disconnectFaye(f);
  });

  it('StreamingExtension.Replay: -2 replays this user\'s earlier pushes, a stored id only later ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(live.length > 0, 'the push test stored its events');
    const all = [];
    const r1 = new StreamingExtension.Replay(NAME, -2);
    const w1 = wireCapture(NAME);
    const f1 = conn.streaming.createClient([r1, w1]);
    fayes.push(f1);
    await withTimeout(f1.subscribe(NAME, (d) => all.push(d)), 'subscribe with -2');
    const marker = uniq('marker');
    assert.deepEqual(await conn.streaming.channel(NAME).push({ payload: marker }), { fanoutCount: -1, userOnlineStatus: {} });
    await untilMarker(all, marker, 'the live marker after the retained events');
    for (const d of all) checkEvent(d);
    assertIncreasing(all);
    const got = payloads(all);
    assert.deepEqual(got.slice(0, 2), ['nobody listening', 'still nobody'],
      'pushes made while nobody was subscribed are retained (broadcast, and the one for this user)');
    assert.ok(!got.includes('to the other user'), `a push for another user is not replayed to this one: ${JSON.stringify(got)}`);
    const start = all.findIndex((d) => d.event.replayId === live[0].event.replayId);
    assert.deepEqual(all.slice(start, start + live.length), live, 'retained events replay exactly as delivered live');
    assert.equal(got[got.length - 1], marker);
    assert.equal(r1._replay, all[all.length - 1].event.replayId, 'the extension stored the last replay id');
    for (const m of w1.messages) {
      assert.equal(m.channel, NAME, 'events come on the subscribed channel name');
      assert.ok(!('successful' in m), 'events carry no "successful"');
    }
    assert.equal(w1.messages.length, all.length);
    await disconnectFaye(f1);

    const from = live[live.length - 2].event.replayId;
    const later = [];
    const f2 = conn.streaming.createClient([new StreamingExtension.Replay(NAME, from)]);
    fayes.push(f2);
    await withTimeout(f2.subscribe(NAME, (d) => later.push(d)), `subscribe from ${from}`);
    const marker2 = uniq('marker');
    await conn.streaming.channel(NAME).push({ payload: marker2, userIds: [me] });
    await untilMarker(later, marker2, 'the second marker');
    const afterFrom = all.filter((d) => d.event.replayId > from);
    assert.deepEqual(later.slice(0, afterFrom.length), afterFrom, 'the retained events after the stored id');
    assert.deepEqual(payloads(later.slice(afterFrom.length)), [marker2], 'then the live one');
    assertIncreasing(later);
    await disconnectFaye(f2);
  });

  it('subscribing to a /u/ name with no StreamingChannel record is refused', { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = newConnection();
    const name = '/u/notifications/Missing';
    await assert.rejects(withTimeout(Promise.resolve(c.streaming.topic(name).subscribe(() => {})), `subscribe ${name}`), (err) => {
      // faye's Error.parse keeps the whole string as the message when it does
      // not fit its Bayeux error grammar (the braces do not).
      assert.equal(String(err.message),
        `400::The channel you requested to subscribe to does not exist {${name}}`);
      return true;
    });
  });
});

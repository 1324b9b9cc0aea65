// PushTopics (streaming-cometd.md §2.7, org-rest-cdc.md §3.5): topics created
// through jsforce (`conn.sobject('PushTopic').create`), notifications on
// /topic/<Name> received through jsforce's `conn.streaming.topic(name)` (faye,
// no replay extension) and the CometD JS client (long-polling). Account writes
// through jsforce REST, undelete through SOAP (`conn.soap.undelete`).
//
// Each scenario ends with a "marker" write that the topic notifies; once it
// arrives, everything before it has been delivered (one topic, one order), so
// "no notification" is checked without sleeping.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import jsforce from 'jsforce';
import { startServer, uniq, API_VERSION } from './server.js';
import { TEST_TIMEOUT_MS, waitUntil, withTimeout, settle } from './helpers/streaming.js';
import { disconnectFaye, topicClients } from './helpers/faye.js';
import { cometdClient, handshake, subscribe, disconnect } from './helpers/cometd.mjs';

const TECH_QUERY = "SELECT Id, Name, Industry FROM Account WHERE Industry = 'Technology'";
const CREATED_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let srv;
let conn;
const cometds = [];
const jsforceConns = [];
before(async () => {
  srv = await startServer('pushtopic');
  conn = newConnection();
});
after(async () => {
  for (const c of cometds) await disconnect(c);
  for (const c of jsforceConns) for (const f of topicClients(c)) await disconnectFaye(f);
  await srv?.stop();
});

function newConnection() {
  const c = new jsforce.Connection({ instanceUrl: srv.baseUrl, accessToken: srv.info.access_token, version: API_VERSION });
  jsforceConns.push(c);
  return c;
}

let topics = 0;
/** A PushTopic name (at most 25 characters). */
function topicName(prefix) {
  topics += 1;
  return `${prefix}_${topics}`;
}

async function createTopic(fields) {
  const res = await conn.sobject('PushTopic').create({ ApiVersion: 59.0, ...fields });
  assert.equal(res.success, true, `create PushTopic: ${JSON.stringify(res)}`);
  assert.match(res.id, /^0IF/, 'PushTopic ids have the 0IF key prefix');
  return res.id;
}

const accounts = {
  async create(fields) {
    const res = await conn.sobject('Account').create(fields);
    assert.equal(res.success, true, `create Account: ${JSON.stringify(res)}`);
    return res.id;
  },
  async update(id, fields) {
    const res = await conn.sobject('Account').update({ Id: id, ...fields });
    assert.equal(res.success, true, `update Account: ${JSON.stringify(res)}`);
  },
  async destroy(id) {
    const res = await conn.sobject('Account').destroy(id);
    assert.equal(res.success, true, `delete Account: ${JSON.stringify(res)}`);
  },
  async undelete(id) {
    const res = await conn.soap.undelete([id]);
    assert.equal(res[0]?.success, true, `SOAP undelete: ${JSON.stringify(res)}`);
  },
};

/** `[type, sobject]` of each notification `data`, for comparisons and failure messages. */
function brief(datas) {
  return datas.map((d) => [d.event.type, d.sobject]);
}

/** Shape of one notification `data` (streaming-cometd.md §2.7). */
function checkNotification(data) {
  assert.deepEqual(Object.keys(data).sort(), ['event', 'sobject'], `data holds event and sobject: ${JSON.stringify(data)}`);
  assert.match(data.event.createdDate, CREATED_DATE, 'createdDate is UTC ISO-8601 with milliseconds and Z');
  assert.ok(Math.abs(Date.parse(data.event.createdDate) - Date.now()) < 10 * 60 * 1000, 'createdDate is about now');
  assert.ok(Number.isSafeInteger(data.event.replayId) && data.event.replayId > 0, `replayId ${data.event.replayId}`);
  assert.ok(['created', 'updated', 'deleted', 'undeleted'].includes(data.event.type), `type ${data.event.type}`);
}

function assertIncreasing(datas) {
  const ids = datas.map((d) => d.event.replayId);
  for (let i = 1; i < ids.length; i += 1) {
    assert.ok(ids[i] > ids[i - 1], `replay ids strictly increase: ${JSON.stringify(ids)}`);
  }
}

/**
 * A CometD JS client subscribed to `/topic/<name>` (no replay ext, or `replay`
 * as ext.replay); `datas` collects the `data` of every notification.
 */
async function cometdOnTopic(name, replay) {
  const channel = `/topic/${name}`;
  const client = cometdClient(srv, cometds);
  const hs = await handshake(client.cometd);
  assert.equal(hs.successful, true, `handshake: ${hs.error}`);
  const messages = [];
  const props = replay === undefined ? undefined : { ext: { replay: { [channel]: replay } } };
  const reply = await subscribe(client.cometd, channel, (m) => messages.push(m), props);
  assert.equal(reply.successful, true, `subscribe ${channel}: ${reply.error}`);
  assert.equal(reply.subscription, channel);
  return {
    ...client,
    channel,
    messages,
    datas: () => messages.map((m) => m.data),
  };
}

/**
 * Wait until the marker notification (`isMarker(data)`) has arrived, then a
 * little longer for anything stray; returns the data list.
 */
async function untilMarker(datas, isMarker, what) {
  await waitUntil(() => datas().find(isMarker), what, { describe: () => JSON.stringify(brief(datas())) });
  await settle();
  return datas();
}

describe('PushTopic notifications through jsforce topic() and the CometD JS client', () => {
  const shared = {};

  it('exactly one notification per matching create, update, delete, undelete; none for the rest', { timeout: TEST_TIMEOUT_MS }, async () => {
    const name = topicName('TechAccounts');
    await createTopic({ Name: name, Query: TECH_QUERY });
    const channel = `/topic/${name}`;

    // jsforce: topic(name) prefixes /topic/; its faye client sends no ext.replay.
    const jsConn = newConnection();
    const viaJsforce = [];
    const sub = jsConn.streaming.topic(name).subscribe((d) => viaJsforce.push(d));
    await withTimeout(sub, `jsforce subscribe ${channel}`);
    const viaCometd = await cometdOnTopic(name);

    const nA = uniq('pt-a');
    const nA2 = uniq('pt-a2');
    const idA = await accounts.create({ Name: nA, Industry: 'Technology' });
    const idB = await accounts.create({ Name: uniq('pt-b'), Industry: 'Agriculture' }); // never matches
    await accounts.update(idA, { Phone: '555-0120' }); // not in the query
    await accounts.update(idA, { Name: nA2 }); // in SELECT
    await accounts.update(idB, { Name: uniq('pt-b2') }); // changed, but does not match WHERE
    await accounts.destroy(idB);
    await accounts.destroy(idA);
    await accounts.undelete(idA);
    await accounts.undelete(idB);
    const nC = uniq('pt-c');
    const idC = await accounts.create({ Name: nC, Industry: 'Technology' }); // the marker

    const expected = [
      ['created', { Id: idA, Name: nA, Industry: 'Technology' }],
      ['updated', { Id: idA, Name: nA2, Industry: 'Technology' }],
      ['deleted', { Id: idA }],
      ['undeleted', { Id: idA, Name: nA2, Industry: 'Technology' }],
      ['created', { Id: idC, Name: nC, Industry: 'Technology' }],
    ];
    const isMarker = (d) => d.sobject?.Id === idC;
    const jsDatas = await untilMarker(() => viaJsforce, isMarker, 'the marker on the jsforce client');
    const cdDatas = await untilMarker(viaCometd.datas, isMarker, 'the marker on the CometD JS client');

    assert.deepEqual(brief(jsDatas), expected, 'jsforce: exactly the matching notifications, in write order');
    assert.deepEqual(brief(cdDatas), expected, 'CometD JS: exactly the matching notifications, in write order');
    for (const d of jsDatas) checkNotification(d);
    assertIncreasing(jsDatas);
    assert.deepEqual(cdDatas, jsDatas, 'both clients got the same notifications (replay ids, dates)');
    for (const m of viaCometd.messages) {
      assert.equal(m.channel, channel, 'the channel is the subscribed string');
      assert.ok(!('successful' in m), 'notifications carry no "successful"');
    }
    const subOut = viaCometd.wire.out.find((m) => m.channel === '/meta/subscribe');
    assert.equal(subOut.ext?.replay, undefined, 'the CometD JS subscribe sent no replay id');
    assert.deepEqual(viaCometd.failures, []);
    await disconnect(viaCometd.cometd);
    for (const f of topicClients(jsConn)) await disconnectFaye(f);
    Object.assign(shared, { name, live: jsDatas });
  });

  it('a CometD JS subscribe with replay -2 gets the retained notifications again', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(shared.name, 'the previous test stored its topic');
    const replayed = await cometdOnTopic(shared.name, -2);
    const last = shared.live[shared.live.length - 1];
    const datas = await untilMarker(replayed.datas, (d) => d.event.replayId === last.event.replayId,
      'the last retained notification');
    assert.deepEqual(datas, shared.live, 'replayed exactly as delivered live');
    await disconnect(replayed.cometd);
  });
});

describe('PushTopic NotifyForFields (CometD JS)', () => {
  // Name is only in SELECT, Industry only in WHERE, Phone in neither. The
  // record is updated: Industry (Technology -> Banking, still matching), then
  // Name, then Phone, then Industry to Agriculture (no longer matching: nothing
  // in any mode); a new matching Account is the marker.
  const QUERY = "SELECT Id, Name FROM Account WHERE Industry IN ('Technology', 'Banking')";

  async function scenario(notifyForFields) {
    const name = topicName(`NFF${notifyForFields}`);
    await createTopic({ Name: name, Query: QUERY, NotifyForFields: notifyForFields });
    const sub = await cometdOnTopic(name);
    const n1 = uniq('nff-1');
    const n2 = uniq('nff-2');
    const id = await accounts.create({ Name: n1, Industry: 'Technology', Phone: '555-0130' });
    await accounts.update(id, { Industry: 'Banking' }); // WHERE field
    await accounts.update(id, { Name: n2 }); // SELECT field
    await accounts.update(id, { Phone: '555-0131' }); // neither
    await accounts.update(id, { Industry: 'Agriculture' }); // leaves the WHERE
    const nM = uniq('nff-marker');
    const marker = await accounts.create({ Name: nM, Industry: 'Technology' });
    const datas = await untilMarker(sub.datas, (d) => d.sobject?.Id === marker, `the marker on ${sub.channel}`);
    for (const d of datas) checkNotification(d);
    assertIncreasing(datas);
    assert.deepEqual(sub.failures, []);
    await disconnect(sub.cometd);
    return {
      got: brief(datas),
      created: ['created', { Id: id, Name: n1 }],
      whereChange: ['updated', { Id: id, Name: n1 }],
      selectChange: ['updated', { Id: id, Name: n2 }],
      otherChange: ['updated', { Id: id, Name: n2 }],
      marker: ['created', { Id: marker, Name: nM }],
    };
  }

  it('All: every update of a matching record', { timeout: TEST_TIMEOUT_MS }, async () => {
    const s = await scenario('All');
    assert.deepEqual(s.got, [s.created, s.whereChange, s.selectChange, s.otherChange, s.marker]);
  });

  it('Referenced (the default): updates of a field in SELECT or WHERE', { timeout: TEST_TIMEOUT_MS }, async () => {
    const s = await scenario('Referenced');
    assert.deepEqual(s.got, [s.created, s.whereChange, s.selectChange, s.marker]);
  });

  it('Select: updates of a field in SELECT', { timeout: TEST_TIMEOUT_MS }, async () => {
    const s = await scenario('Select');
    assert.deepEqual(s.got, [s.created, s.selectChange, s.marker]);
  });

  it('Where: updates of a field in WHERE', { timeout: TEST_TIMEOUT_MS }, async () => {
    const s = await scenario('Where');
    assert.deepEqual(s.got, [s.created, s.whereChange, s.marker]);
  });

  it('NotifyForFields defaults to Referenced', { timeout: TEST_TIMEOUT_MS }, async () => {
    const name = topicName('NFFDefault');
    const id = await createTopic({ Name: name, Query: QUERY });
    const rec = await conn.sobject('PushTopic').retrieve(id);
    assert.equal(rec.NotifyForFields, 'Referenced');
    for (const op of ['Create', 'Update', 'Delete', 'Undelete']) {
      assert.equal(rec[`NotifyForOperation${op}`], true, `NotifyForOperation${op} defaults to true`);
    }
    assert.equal(rec.IsActive, true);
  });
});

describe('PushTopic NotifyForOperation* flags (jsforce topic())', () => {
  const OPS = ['Create', 'Update', 'Delete', 'Undelete'];

  for (const off of OPS) {
    it(`NotifyForOperation${off} false: no ${off.toLowerCase()} notification, the others still arrive`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const name = topicName(`Op${off}Off`);
      await createTopic({ Name: name, Query: TECH_QUERY, [`NotifyForOperation${off}`]: false });
      const jsConn = newConnection();
      const datas = [];
      await withTimeout(jsConn.streaming.topic(name).subscribe((d) => datas.push(d)), `subscribe /topic/${name}`);

      const n1 = uniq('op-1');
      const n2 = uniq('op-2');
      const id = await accounts.create({ Name: n1, Industry: 'Technology' });
      await accounts.update(id, { Name: n2 });
      await accounts.destroy(id);
      await accounts.undelete(id);
      // The marker: a create, or (creates being off) another update.
      const nM = uniq('op-marker');
      let marker;
      if (off === 'Create') {
        await accounts.update(id, { Name: nM });
        marker = ['updated', { Id: id, Name: nM, Industry: 'Technology' }];
      } else {
        const mid = await accounts.create({ Name: nM, Industry: 'Technology' });
        marker = ['created', { Id: mid, Name: nM, Industry: 'Technology' }];
      }
      const got = await untilMarker(() => datas, (d) => d.sobject?.Name === nM, `the marker on /topic/${name}`);

      const all = {
        Create: ['created', { Id: id, Name: n1, Industry: 'Technology' }],
        Update: ['updated', { Id: id, Name: n2, Industry: 'Technology' }],
        Delete: ['deleted', { Id: id }],
        Undelete: ['undeleted', { Id: id, Name: n2, Industry: 'Technology' }],
      };
      const expected = [...OPS.filter((op) => op !== off).map((op) => all[op]), marker];
      assert.deepEqual(brief(got), expected);
      for (const d of got) checkNotification(d);
      assertIncreasing(got);
      for (const f of topicClients(jsConn)) await disconnectFaye(f);
    });
  }
});

describe('PushTopic validation (jsforce errors)', () => {
  const cases = [
    ['Id not selected', { Query: 'SELECT Name FROM Account' }, 'INVALID_FIELD'],
    ['ORDER BY', { Query: 'SELECT Id, Name FROM Account ORDER BY Name' }, 'INVALID_FIELD'],
    ['LIMIT', { Query: 'SELECT Id, Name FROM Account LIMIT 5' }, 'INVALID_FIELD'],
    ['a relationship field', { Query: 'SELECT Id, Owner.Name FROM Account' }, 'INVALID_FIELD'],
    ['NOT', { Query: "SELECT Id, Name FROM Account WHERE NOT Name = 'x'" }, 'INVALID_FIELD'],
    ['ApiVersion 20.0', { Query: 'SELECT Id, Name FROM Account', ApiVersion: 20.0 }, 'INVALID_FIELD'],
    ['no ApiVersion', { Query: 'SELECT Id, Name FROM Account', ApiVersion: undefined }, 'REQUIRED_FIELD_MISSING'],
    ['a Name over 25 characters', { Name: 'A'.repeat(26), Query: 'SELECT Id, Name FROM Account' }, 'STRING_TOO_LONG'],
  ];
  for (const [what, fields, code] of cases) {
    it(`${what} -> ${code}`, async () => {
      const body = { Name: topicName('Bad'), ApiVersion: 59.0, ...fields };
      if (body.ApiVersion === undefined) delete body.ApiVersion;
      await assert.rejects(conn.sobject('PushTopic').create(body), (err) => {
        assert.equal(err.errorCode, code, `${err.errorCode}: ${err.message}`);
        assert.equal(err.name, code);
        return true;
      });
    });
  }
});

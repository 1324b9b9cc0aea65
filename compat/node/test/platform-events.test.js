'use strict';
// Platform events (org-rest-cdc.md §5, streaming-cometd.md §2.7) through
// jsforce: Order_Shipped__e (declared in fixtures/forcebus.toml) published with
// `conn.sobject('Order_Shipped__e').create()` — one event (POST /sobjects) and
// several (/composite/sobjects) — and received over CometD with
// `conn.streaming.topic('/event/Order_Shipped__e')` (jsforce uses a name that
// starts with "/" as the channel, as-is); EventUuid equal to the
// OPERATION_ENQUEUED message of the publish result; schema id equal to the
// eventSchema's uuid; publish validation errors as jsforce errors; replay -2
// and a stored replay id through StreamingExtension.Replay; an event defined at
// runtime through /forcebus/v1/platform-events.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { StreamingExtension } = require('jsforce/api/streaming');
const { startServer, rawRequest, uniq, API_VERSION } = require('./server');
const { TEST_TIMEOUT_MS, waitUntil, withTimeout, settle } = require('./helpers/streaming');
const { disconnectFaye, topicClients } = require('./helpers/faye');

const EVENT = 'Order_Shipped__e';
const CHANNEL = `/event/${EVENT}`;
const CREATED_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let srv;
let conn;
const conns = [];
const fayes = [];
before(async () => {
  srv = await startServer('platform-events');
  conn = newConnection();
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

/** Subscribe `channel` through `conn.streaming.topic()` on a new Connection; `datas` collects event data. */
async function topicSubscriber(channel) {
  const c = newConnection();
  const datas = [];
  await withTimeout(c.streaming.topic(channel).subscribe((d) => datas.push(d)), `subscribe ${channel}`);
  return datas;
}

/** A publish result: 201's body, success with the OPERATION_ENQUEUED pseudo-error; returns the EventUuid. */
function checkPublished(res) {
  assert.equal(res.success, true, `publish: ${JSON.stringify(res)}`);
  assert.match(res.id, /^e0/, 'the id carries the event key prefix');
  assert.equal(res.errors.length, 1, JSON.stringify(res));
  const [e] = res.errors;
  assert.equal(e.statusCode, 'OPERATION_ENQUEUED');
  assert.match(e.message, UUID, 'the message is the EventUuid');
  assert.deepEqual(e.fields, []);
  return e.message;
}

/** The `Order_Number__c` of each event, for waiting and comparisons. */
const orders = (datas) => datas.map((d) => d.payload.Order_Number__c);

function checkEvent(data, { uuid, schema, fields }) {
  assert.deepEqual(Object.keys(data).sort(), ['event', 'payload', 'schema'], JSON.stringify(data));
  assert.equal(data.schema, schema, 'data.schema is the event schema id');
  assert.match(data.payload.CreatedDate, CREATED_DATE, 'payload.CreatedDate is UTC ISO-8601 with milliseconds and Z');
  assert.ok(Math.abs(Date.parse(data.payload.CreatedDate) - Date.now()) < 10 * 60 * 1000, 'CreatedDate is about now');
  assert.equal(data.payload.CreatedById, srv.info.user_id);
  assert.equal(data.event.EventUuid, uuid, 'event.EventUuid is the OPERATION_ENQUEUED message');
  assert.ok(Number.isSafeInteger(data.event.replayId) && data.event.replayId > 0, `replayId ${data.event.replayId}`);
  for (const [k, v] of Object.entries(fields)) assert.deepEqual(data.payload[k], v, `payload.${k}`);
}

function assertIncreasing(datas) {
  const ids = datas.map((d) => d.event.replayId);
  for (let i = 1; i < ids.length; i += 1) {
    assert.ok(ids[i] > ids[i - 1], `replay ids strictly increase: ${JSON.stringify(ids)}`);
  }
}

describe('jsforce: platform events published over REST, received over CometD', () => {
  let schemaId;
  const published = [];

  before(async () => {
    // GET /sobjects/Order_Shipped__e/eventSchema: the COMPACT schema's uuid is the schema id.
    const schema = await conn.request(`/services/data/v${API_VERSION}/sobjects/${EVENT}/eventSchema?payloadFormat=COMPACT`);
    assert.equal(schema.name, EVENT);
    assert.match(schema.uuid, /^[\w-]{22}$/);
    schemaId = schema.uuid;
  });

  it('create() publishes one event; topic("/event/…") receives it with its fields and EventUuid', { timeout: TEST_TIMEOUT_MS }, async () => {
    const datas = await topicSubscriber(CHANNEL);
    const fields = {
      Order_Number__c: 'ORD-1001',
      Weight__c: 2.5,
      Shipped__c: true,
      Ship_Date__c: '2024-05-02',
    };
    const shippedAt = '2024-05-02T09:15:27.481Z';
    const res = await conn.sobject(EVENT).create({ ...fields, Shipped_At__c: shippedAt });
    const uuid = checkPublished(res);
    await waitUntil(() => datas.length >= 1, 'the event', { describe: () => JSON.stringify(datas) });
    await settle();
    assert.equal(datas.length, 1, `exactly one event: ${JSON.stringify(datas)}`);
    checkEvent(datas[0], { uuid, schema: schemaId, fields });
    assert.equal(Date.parse(datas[0].payload.Shipped_At__c), Date.parse(shippedAt), 'payload.Shipped_At__c');
    assert.ok(!('Id' in datas[0].payload), 'the publish id is not in the delivered event');
    published.push(datas[0]);
  });

  it('create([...]) publishes several through /composite/sobjects, delivered in order', { timeout: TEST_TIMEOUT_MS }, async () => {
    const datas = await topicSubscriber(CHANNEL);
    const records = [
      { Order_Number__c: 'ORD-2001', Weight__c: 1.25 },
      { Order_Number__c: 'ORD-2002', Shipped__c: false },
      { Order_Number__c: 'ORD-2003' },
    ];
    const results = await conn.sobject(EVENT).create(records);
    assert.equal(results.length, 3);
    const uuids = results.map(checkPublished);
    assert.equal(new Set(uuids).size, 3, 'one EventUuid per event');
    await waitUntil(() => datas.length >= 3, 'the three events', { describe: () => JSON.stringify(orders(datas)) });
    await settle();
    assert.deepEqual(orders(datas), ['ORD-2001', 'ORD-2002', 'ORD-2003'], 'exactly the three, in publish order');
    datas.forEach((d, i) => checkEvent(d, { uuid: uuids[i], schema: schemaId, fields: records[i] }));
    assertIncreasing([...published, ...datas]);
    published.push(...datas);
  });

  it('publish validation errors reject with the Salesforce errorCode; nothing is delivered', { timeout: TEST_TIMEOUT_MS }, async () => {
    const datas = await topicSubscriber(CHANNEL);
    const cases = [
      [{ Weight__c: 1 }, 'REQUIRED_FIELD_MISSING', ['Order_Number__c']],
      [{ Order_Number__c: 'ORD-123456789012345678' }, 'STRING_TOO_LONG', ['Order_Number__c']],
      [{ Order_Number__c: 'ORD-3001', Nope__c: 1 }, 'INVALID_FIELD'],
      [{ Order_Number__c: 'ORD-3002', Weight__c: 'heavy' }, 'JSON_PARSER_ERROR'],
    ];
    for (const [record, code, fields] of cases) {
      await assert.rejects(conn.sobject(EVENT).create(record), (err) => {
        assert.equal(err.errorCode, code, `${JSON.stringify(record)}: ${err.errorCode} ${err.message}`);
        assert.equal(err.name, code);
        assert.ok(err.message.length > 0);
        if (fields) assert.deepEqual(err.data?.fields, fields, `fields of ${code}: ${JSON.stringify(err.data)}`);
        return true;
      });
    }
    // A collection with allOrNone: per-record results, nothing from the failed batch is published.
    const rolledBack = await conn.sobject(EVENT).create(
      [{ Order_Number__c: 'ORD-3003' }, { Weight__c: 2 }], { allOrNone: true },
    );
    assert.deepEqual(rolledBack.map((r) => r.success), [false, false], JSON.stringify(rolledBack));
    assert.equal(rolledBack[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK', JSON.stringify(rolledBack));
    assert.equal(rolledBack[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING', JSON.stringify(rolledBack));
    // Without allOrNone the valid one is published.
    const partial = await conn.sobject(EVENT).create([{ Weight__c: 2 }, { Order_Number__c: 'ORD-3004' }]);
    assert.equal(partial[0].success, false);
    assert.equal(partial[0].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
    const uuid = checkPublished(partial[1]);
    await waitUntil(() => orders(datas).includes('ORD-3004'), 'the valid event of the partial batch',
      { describe: () => JSON.stringify(orders(datas)) });
    await settle();
    assert.deepEqual(orders(datas), ['ORD-3004'], 'only the valid event of the partial batch was delivered');
    checkEvent(datas[0], { uuid, schema: schemaId, fields: { Order_Number__c: 'ORD-3004' } });
    published.push(datas[0]);
  });

  it('StreamingExtension.Replay: -2 replays every published event, a stored id only later ones', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal(published.length, 5, 'the previous tests published five events');
    const all = [];
    const r1 = new StreamingExtension.Replay(CHANNEL, -2);
    const c1 = conn.streaming.createClient([r1]);
    fayes.push(c1);
    await withTimeout(c1.subscribe(CHANNEL, (d) => all.push(d)), 'subscribe with -2');
    await waitUntil(() => all.length >= published.length, 'the retained events', { describe: () => JSON.stringify(orders(all)) });
    await settle();
    assert.deepEqual(all, published, 'retained events replay exactly as delivered live');
    assert.equal(r1._replay, published[4].event.replayId, 'the extension stored the last replay id');
    await disconnectFaye(c1);

    const from = published[1].event.replayId;
    const later = [];
    const c2 = conn.streaming.createClient([new StreamingExtension.Replay(CHANNEL, from)]);
    fayes.push(c2);
    await withTimeout(c2.subscribe(CHANNEL, (d) => later.push(d)), `subscribe from ${from}`);
    const res = await conn.sobject(EVENT).create({ Order_Number__c: 'ORD-4001' });
    const uuid = checkPublished(res);
    await waitUntil(() => orders(later).includes('ORD-4001'), 'the live event', { describe: () => JSON.stringify(orders(later)) });
    await settle();
    assert.deepEqual(later.slice(0, 3), published.slice(2), 'the retained events after the stored id');
    assert.equal(later.length, 4, `and the live one: ${JSON.stringify(orders(later))}`);
    checkEvent(later[3], { uuid, schema: schemaId, fields: { Order_Number__c: 'ORD-4001' } });
    assertIncreasing(later);
    await disconnectFaye(c2);
  });
});

describe('jsforce: a platform event defined at runtime (/forcebus/v1/platform-events)', () => {
  const name = 'Low_Ink__e';
  const auth = () => ({ authorization: `Bearer ${srv.info.access_token}`, 'content-type': 'application/json' });

  it('PUT defines it, jsforce publishes and receives it, DELETE removes it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const body = JSON.stringify({
      label: 'Low Ink',
      fields: [
        { name: 'Printer_Model__c', type: 'string', length: 20 },
        { name: 'Ink_Percentage__c', type: 'double', precision: 3, scale: 2 },
      ],
    });
    const put = await rawRequest(srv, 'PUT', `/forcebus/v1/platform-events/${name}`, { headers: auth(), body });
    assert.equal(put.status, 201, put.text);
    const again = await rawRequest(srv, 'PUT', `/forcebus/v1/platform-events/${name}`, { headers: auth(), body });
    assert.equal(again.status, 200, `a second PUT replaces: ${again.text}`);
    const list = await rawRequest(srv, 'GET', '/forcebus/v1/platform-events', { headers: auth() });
    assert.equal(list.status, 200, list.text);
    assert.ok(list.text.includes(name), `GET lists ${name}: ${list.text}`);

    const described = await conn.sobject(name).describe();
    assert.equal(described.name, name);
    assert.ok(described.fields.some((f) => f.name === 'Printer_Model__c'), 'describe lists the custom field');

    const channel = `/event/${name}`;
    const datas = await topicSubscriber(channel);
    const model = uniq('XZO').slice(0, 20);
    const uuid = checkPublished(await conn.sobject(name).create({ Printer_Model__c: model, Ink_Percentage__c: 0.2 }));
    await waitUntil(() => datas.length >= 1, `the event on ${channel}`);
    await settle();
    assert.equal(datas.length, 1);
    const schema = await conn.request(`/services/data/v${API_VERSION}/sobjects/${name}/eventSchema?payloadFormat=COMPACT`);
    checkEvent(datas[0], { uuid, schema: schema.uuid, fields: { Printer_Model__c: model, Ink_Percentage__c: 0.2 } });

    const del = await rawRequest(srv, 'DELETE', `/forcebus/v1/platform-events/${name}`, { headers: auth() });
    assert.ok([200, 204].includes(del.status), `DELETE answered ${del.status}: ${del.text}`);
    await assert.rejects(conn.sobject(name).create({ Printer_Model__c: 'gone' }), (err) => {
      assert.equal(err.errorCode, 'NOT_FOUND', `publish after DELETE: ${err.errorCode} ${err.message}`);
      return true;
    });
  });
});

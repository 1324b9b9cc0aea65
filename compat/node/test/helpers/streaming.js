'use strict';
// Shared by the Streaming API tests (jsforce/faye and CometD JS): waiting for
// events, and checking the Change Data Capture message shape.

const assert = require('node:assert/strict');

/** Every Streaming API test gives up after this long (node:test timeout). */
const TEST_TIMEOUT_MS = 20000;
/** How long a single wait for an event may take (inside the test timeout). */
const WAIT_MS = 15000;

/**
 * Resolve once `check()` returns a truthy value (polled every 20 ms); reject
 * with `what` and `describe()` after `ms`.
 */
async function waitUntil(check, what, { ms = WAIT_MS, describe = () => '' } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what} ${describe()}`.trim());
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Give a stray extra event time to arrive before counting (events come in connect replies). */
function settle(ms = 250) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Reject after `ms` unless `promise` settles first. */
async function withTimeout(promise, what, ms = WAIT_MS) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `data` of the change event for `recordId` with `changeType`, if seen. */
function findChange(datas, recordId, changeType = 'CREATE') {
  return datas.find((d) => {
    const h = d?.payload?.ChangeEventHeader;
    return h && h.changeType === changeType && Array.isArray(h.recordIds) && h.recordIds.includes(recordId);
  });
}

/** Short summary of received event `data`s for failure messages. */
function summary(datas) {
  return JSON.stringify(datas.map((d) => {
    const h = d?.payload?.ChangeEventHeader || {};
    return [d?.event?.replayId, h.changeType, (h.recordIds || []).join(',')];
  }));
}

/**
 * Check one CDC event `data` (what arrives under `message.data`) against the
 * wire contract (streaming-cometd.md §2.7).
 */
function checkChangeEvent(data, {
  entityName, recordId, changeType, userId, fields = {}, api = 'rest',
}) {
  assert.equal(typeof data.schema, 'string', 'data.schema is a string');
  assert.match(data.schema, /^[\w-]{22}$/, 'data.schema is a 22-character schema id');
  assert.ok(Number.isSafeInteger(data.event.replayId), `replayId is an integer (${data.event.replayId})`);
  assert.ok(data.event.replayId > 0, 'replayId starts above 0');
  const h = data.payload.ChangeEventHeader;
  assert.equal(h.entityName, entityName);
  assert.deepEqual(h.recordIds, [recordId]);
  assert.equal(h.changeType, changeType);
  assert.ok(Array.isArray(h.changedFields), 'changedFields is an array of names');
  for (const f of h.changedFields) assert.equal(typeof f, 'string', 'changedFields holds field names');
  assert.match(h.changeOrigin, new RegExp(`^com/salesforce/api/${api}/59\\.0`), `changeOrigin names the ${api} API`);
  assert.equal(typeof h.transactionKey, 'string');
  assert.ok(h.transactionKey.length > 0, 'transactionKey is not empty');
  assert.ok(Number.isSafeInteger(h.sequenceNumber) && h.sequenceNumber >= 1, 'sequenceNumber >= 1');
  assert.ok(Number.isSafeInteger(h.commitTimestamp), 'commitTimestamp is epoch ms (number)');
  assert.ok(Math.abs(h.commitTimestamp - Date.now()) < 10 * 60 * 1000, `commitTimestamp ${h.commitTimestamp} is about now`);
  assert.ok(Number.isSafeInteger(h.commitNumber), 'commitNumber is a number');
  assert.equal(h.commitUser, userId);
  for (const [k, v] of Object.entries(fields)) {
    assert.deepEqual(data.payload[k], v, `payload.${k}`);
  }
}

/** Assert the replay ids of `datas` strictly increase. */
function assertIncreasing(datas) {
  const ids = datas.map((d) => d.event.replayId);
  for (let i = 1; i < ids.length; i += 1) {
    assert.ok(ids[i] > ids[i - 1], `replay ids strictly increase in delivery order: ${JSON.stringify(ids)}`);
  }
}

/** The change types of one record's life cycle, in write order. */
const LIFECYCLE = ['CREATE', 'UPDATE', 'DELETE', 'UNDELETE'];

/**
 * Create, update (Phone), delete and undelete (SOAP `undelete`, which jsforce
 * sends to /services/Soap/u/59.0 with a SessionHeader) one Account through
 * the jsforce Connection `conn`. Returns `{ id, name, phone }`.
 */
async function accountLifecycle(conn, name) {
  const created = await conn.sobject('Account').create({ Name: name });
  assert.equal(created.success, true, `create Account: ${JSON.stringify(created)}`);
  const { id } = created;
  const phone = '555-0142';
  const updated = await conn.sobject('Account').update({ Id: id, Phone: phone });
  assert.equal(updated.success, true, `update Account: ${JSON.stringify(updated)}`);
  const deleted = await conn.sobject('Account').destroy(id);
  assert.equal(deleted.success, true, `delete Account: ${JSON.stringify(deleted)}`);
  const undeleted = await conn.soap.undelete([id]);
  assert.equal(undeleted[0]?.success, true, `SOAP undelete: ${JSON.stringify(undeleted)}`);
  return { id, name, phone };
}

/**
 * Assert `datas` (event `data`s received on one channel) hold exactly the four
 * events of `accountLifecycle()`'s record, in order, with increasing replay ids;
 * returns them.
 */
function checkLifecycle(datas, { id, name, phone }, userId) {
  const ours = datas.filter((d) => d.payload.ChangeEventHeader.recordIds.includes(id));
  assert.deepEqual(ours.map((d) => d.payload.ChangeEventHeader.changeType), LIFECYCLE,
    `exactly CREATE, UPDATE, DELETE, UNDELETE for ${id}: ${summary(datas)}`);
  const [c, u, d, un] = ours;
  checkChangeEvent(c, { entityName: 'Account', recordId: id, changeType: 'CREATE', userId, fields: { Name: name } });
  checkChangeEvent(u, { entityName: 'Account', recordId: id, changeType: 'UPDATE', userId, fields: { Phone: phone } });
  const changed = u.payload.ChangeEventHeader.changedFields;
  assert.ok(changed.includes('Phone') && changed.includes('LastModifiedDate'),
    `UPDATE changedFields lists Phone and LastModifiedDate: ${JSON.stringify(changed)}`);
  checkChangeEvent(d, { entityName: 'Account', recordId: id, changeType: 'DELETE', userId });
  checkChangeEvent(un, { entityName: 'Account', recordId: id, changeType: 'UNDELETE', userId, api: 'soap' });
  assertIncreasing(ours);
  return ours;
}

/** POST /services/oauth2/token (password grant, the ready line's connected app and user): a fresh token. */
async function passwordGrant(srv) {
  const res = await fetch(`${srv.baseUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: srv.info.client_id,
      client_secret: srv.info.client_secret,
      username: srv.info.username,
      password: srv.info.password,
    }).toString(),
  });
  const body = await res.json();
  assert.equal(res.status, 200, `password grant: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** The Salesforce invalid-replay-id error (streaming-cometd.md §2.5; two spaces after "invalid."). */
function invalidReplayError(replayId) {
  return `400::The replayId {${replayId}} you provided was invalid.  `
    + 'Please provide a valid ID, -2 to replay all events, or -1 to replay only new events.';
}

module.exports = {
  LIFECYCLE,
  accountLifecycle,
  checkLifecycle,
  passwordGrant,
  invalidReplayError,
  TEST_TIMEOUT_MS,
  WAIT_MS,
  waitUntil,
  withTimeout,
  settle,
  findChange,
  summary,
  checkChangeEvent,
  assertIncreasing,
};

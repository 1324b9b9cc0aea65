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
function checkChangeEvent(data, { entityName, recordId, changeType, userId, fields = {} }) {
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
  assert.match(h.changeOrigin, /^com\/salesforce\/api\/rest\/59\.0/, 'changeOrigin names the REST API');
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

module.exports = {
  TEST_TIMEOUT_MS,
  WAIT_MS,
  waitUntil,
  withTimeout,
  findChange,
  summary,
  checkChangeEvent,
  assertIncreasing,
};

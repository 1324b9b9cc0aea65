'use strict';
// Closing jsforce's faye clients (the same steps as streaming.test.js).

const { waitUntil, withTimeout } = require('./streaming');

/** Disconnect a faye client and wait until its requests (the parked connect) have settled. */
async function disconnectFaye(client) {
  if (!client) return;
  try {
    const p = client.disconnect();
    if (p) await withTimeout(p, 'faye disconnect', 5000);
  } catch {
    // already gone
  }
  // A faye client left with a request in flight when the server stops retries
  // 5 s later and keeps the process alive.
  await waitUntil(() => client._dispatcher._envelopes.size === 0, 'faye requests settled', { ms: 2000 })
    .catch(() => {});
  try {
    client._dispatcher.close();
    // A request whose server died holds a timer of its own (the connect's timeout,
    // minutes long): with the transport closed it would only end in a no-op.
    for (const envelope of client._dispatcher._envelopes.values()) clearTimeout(envelope.timer);
    client._dispatcher._envelopes.clear();
  } catch {
    // ignore
  }
}

/**
 * The faye clients `conn.streaming.topic(…).subscribe()` made: jsforce keeps one
 * per Connection for every channel not under `/u/` (`_fayeClients.pushTopic`)
 * and one for generic `/u/` channels.
 */
function topicClients(conn) {
  return Object.values(conn.streaming._fayeClients || {});
}

module.exports = { disconnectFaye, topicClients };

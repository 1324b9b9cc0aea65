// CometD JS client plumbing shared by the PushTopic and platform event tests
// (the same pattern as streaming-cometd.test.mjs): a long-polling client on
// /cometd/59.0 with a Bearer token, a promise-returning subscribe, disconnect.

import { adapt } from 'cometd-nodejs-client';
import { CometD } from 'cometd';
import { API_VERSION } from '../server.js';
import { waitUntil, withTimeout } from './streaming.js';

adapt();

/**
 * A CometD client (WebSocket unregistered) on `server`'s `/cometd/59.0`; records
 * every message it sends and receives (`wire.out`, `wire.in`) and every
 * `/meta/unsuccessful` (`failures`). Added to `registry` for the after() hook.
 */
export function cometdClient(server, registry, { token = server.info.access_token } = {}) {
  const cometd = new CometD();
  cometd.unregisterTransport('websocket');
  cometd.configure({
    url: `${server.baseUrl}/cometd/${API_VERSION}`,
    requestHeaders: { Authorization: `Bearer ${token}` },
    appendMessageTypeToURL: false,
    logLevel: 'warn',
  });
  const wire = { out: [], in: [] };
  cometd.registerExtension('wire-log', {
    outgoing(m) { wire.out.push(structuredClone(m)); return m; },
    incoming(m) { wire.in.push(structuredClone(m)); return m; },
  });
  const failures = [];
  cometd.addListener('/meta/unsuccessful', (m) => failures.push({
    channel: m.channel, error: m.error, reason: m.failure?.reason, httpCode: m.failure?.httpCode,
  }));
  registry.push(cometd);
  return { cometd, wire, failures };
}

/** Handshake; resolves with the first successful reply (or the last failed one). */
export async function handshake(cometd) {
  const replies = [];
  cometd.handshake((reply) => replies.push(reply));
  try {
    return await waitUntil(() => replies.find((r) => r.successful), 'a successful handshake reply',
      { describe: () => JSON.stringify(replies.map((r) => [r.successful, r.error, r.failure?.reason])) });
  } catch (e) {
    if (replies.length) return replies[replies.length - 1];
    throw e;
  }
}

/** Subscribe (optionally with subscribe props such as `{ext: {replay: …}}`); resolves with the reply. */
export function subscribe(cometd, channel, onMessage, props) {
  return withTimeout(
    new Promise((resolve) => {
      if (props) cometd.subscribe(channel, onMessage, props, (reply) => resolve(reply));
      else cometd.subscribe(channel, onMessage, (reply) => resolve(reply));
    }),
    `subscribe ${channel}`,
  );
}

export async function disconnect(cometd) {
  if (cometd.isDisconnected()) return;
  await withTimeout(new Promise((resolve) => cometd.disconnect(() => resolve())), 'disconnect', 5000)
    .catch(() => {});
}

'use strict';
// A tiny HTTP proxy on loopback that forwards every request to a forcebus server and
// abandons the Streaming API `/meta/connect`s it is told to (by their number) mid-hold: it answers the client
// `504 Gateway Timeout` after `abandonAfterMs` while the upstream request stays open, as a
// gateway with a shorter timeout than the connect hold does. The client then retries its
// connect with the same clientId, so two connects of one session overlap at the server.

const http = require('node:http');

/**
 * Start the proxy in front of `upstreamPort` (127.0.0.1). Returns
 * `{ baseUrl, port, abandonConnect(n), stats, close() }`; `stats` counts the connects
 * forwarded and abandoned and keeps what the server finally answered each abandoned one.
 */
async function startAbandoningProxy(upstreamPort, { abandonAfterMs = 500 } = {}) {
  const doomed = new Set();
  const stats = { connects: 0, abandoned: 0, abandonedAnswers: [] };
  const upstreamOpen = new Set();

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isConnect = body.includes('"/meta/connect"');
      if (isConnect) stats.connects += 1;
      const abandon = isConnect && doomed.has(stats.connects);
      forward(req, body, abandon, res);
    });
  });

  function forward(req, body, abandon, res) {
    const up = http.request({
      host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url,
      headers: { ...req.headers, 'content-length': body.length },
    });
    upstreamOpen.add(up);
    up.on('response', (upRes) => {
      const parts = [];
      upRes.on('data', (c) => parts.push(c));
      upRes.on('end', () => {
        upstreamOpen.delete(up);
        const text = Buffer.concat(parts);
        if (abandon) {
          stats.abandonedAnswers.push({ status: upRes.statusCode, body: text.toString('utf8') });
          return;
        }
        res.writeHead(upRes.statusCode, upRes.headers);
        res.end(text);
      });
    });
    up.on('error', () => {
      upstreamOpen.delete(up);
      if (!abandon && !res.headersSent) { res.writeHead(502); res.end(); }
    });
    up.end(body);
    if (abandon) {
      setTimeout(() => {
        stats.abandoned += 1;
        res.writeHead(504, { 'content-type': 'text/plain', connection: 'close' });
        res.end('gateway timeout');
      }, abandonAfterMs);
    }
  }

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    stats,
    /**
     * The `n`th `/meta/connect` through the proxy (from 1) is abandoned: answered 504,
     * left open upstream. (A session's first connect is answered at once; the second is
     * the first the server parks.)
     */
    abandonConnect(n) { doomed.add(n); },
    async close() {
      for (const up of upstreamOpen) up.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = { startAbandoningProxy };

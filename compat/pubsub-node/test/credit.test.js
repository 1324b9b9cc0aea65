// The npm Pub/Sub client's flow control on a quiet channel: a stream
// whose credit runs out after a quiet longer than the idle timeout must wait for the
// client's requestAdditionalEvents, not end. One server with pubsub_idle_timeout_secs = 2
// (fixtures/forcebus-pubsub-idle.toml); the scenario runs in a child process
// (test/helpers/client.mjs, `quietCredit`).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScenario } from './helpers/scenario.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONFIG = path.join(HERE, '..', '..', 'fixtures', 'forcebus-pubsub-idle.toml');
const require = createRequire(import.meta.url);
const { startServer } = require('../../node/test/server.js');
const CLIENT = path.join(HERE, 'helpers', 'client.mjs');

describe('Pub/Sub API: credit that runs out after a quiet', () => {
  let srv;
  before(async () => {
    srv = await startServer('pubsub-idle', { prefix: 'pubsub', config: CONFIG });
  });
  after(async () => {
    await srv?.stop();
  });

  it('numRequested 5, a quiet past the idle timeout, then 10 events: all 10 arrive', async () => {
    const lines = await runScenario(CLIENT, srv, 'quietCredit', { auth: 'user-supplied', quietMs: 3500 });
    const bad = lines.find((l) => l.type === 'error' || l.type === 'failed');
    assert.equal(bad, undefined, JSON.stringify(bad));
    const kinds = lines
      .filter((l) => ['event', 'lastEvent', 'requestAdditionalEvents'].includes(l.type))
      .map((l) => l.type);
    const five = Array(5).fill('event');
    assert.deepEqual(kinds, [...five, 'lastEvent', 'requestAdditionalEvents', ...five, 'lastEvent']);
    // The order is the server's replay ids. The client's callback order is not: its "data"
    // handler is async and awaits a GetSchema per message until the schema is cached, so
    // events that arrive one per message while the first fetch is in flight can reach the
    // callback out of order (it would do the same against Salesforce).
    const events = lines.filter((l) => l.type === 'event');
    const byReplay = [...events].sort((a, b) => a.replayId - b.replayId);
    assert.equal(new Set(events.map((e) => String(e.replayId))).size, 10, 'ten distinct replay ids');
    assert.deepEqual(byReplay.map((e) => e.name), Array.from({ length: 10 }, (_, i) => `Quiet ${i + 1}`));
  });
});

// Runs one client scenario in a child process (so every scenario gets a fresh npm client
// and NODE_EXTRA_CA_CERTS = the server's CA for its https calls) and collects the JSON
// lines it prints: each callback, then {type: 'done'}. A scenario that dies without `done`
// ends with {type: 'failed', code, stderr}.

import { execFile } from 'node:child_process';

/** Runs `scenario` of the script `client` against `srv`; resolves with the parsed lines. */
export function runScenario(client, srv, scenario, extra = {}, timeout = 45000) {
  const args = JSON.stringify({ scenario, ready: srv.info, ...extra });
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: srv.info.ca_cert };
  return new Promise((resolve) => {
    execFile(process.execPath, [client, args], { env, timeout }, (err, stdout, stderr) => {
      const lines = stdout
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return { type: 'unparsable', line: l };
          }
        });
      if (!lines.some((l) => l.type === 'done')) {
        lines.push({ type: 'failed', code: err?.code, stderr: stderr.slice(-4000) });
      }
      resolve(lines);
    });
  });
}

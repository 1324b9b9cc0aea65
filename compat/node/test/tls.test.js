'use strict';
// jsforce over TLS on the same port, trusting the CA the server generated.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const { startServer } = require('./server');

let srv;
before(async () => {
  srv = await startServer('tls');
});
after(async () => {
  await srv?.stop();
});

function runClient(loginUrl, caFile) {
  const args = [
    path.join(__dirname, 'helpers', 'tls-client.js'),
    loginUrl,
    srv.info.username,
    srv.info.password,
    srv.info.client_id,
    srv.info.client_secret,
  ];
  const env = { ...process.env };
  if (caFile) env.NODE_EXTRA_CA_CERTS = caFile;
  else delete env.NODE_EXTRA_CA_CERTS;
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, timeout: 30000 }, (err, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() || '{}';
      let parsed;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = { error: `unparsable output: ${stdout} ${stderr}` };
      }
      resolve(parsed);
    });
  });
}

describe('TLS on the HTTP port', () => {
  for (const host of ['127.0.0.1', 'localhost']) {
    it(`SOAP and OAuth login, CRUD and identity over https://${host}`, async () => {
      const base = `https://${host}:${srv.port}`;
      const out = await runClient(base, srv.info.ca_cert);
      assert.equal(out.error, undefined, out.error);
      assert.equal(out.soapInstanceUrl, base, 'serverUrl keeps the https origin');
      assert.equal(out.oauthInstanceUrl, base, 'instance_url keeps the https origin');
      assert.equal(out.created.success, true);
      assert.equal(out.retrievedName, 'over tls');
      assert.equal(out.identityUser, srv.info.username);
    });
  }

  it('is refused without the CA', async () => {
    const out = await runClient(`https://127.0.0.1:${srv.port}`, null);
    assert.ok(out.error, 'a self-signed chain must not be trusted by default');
  });
});

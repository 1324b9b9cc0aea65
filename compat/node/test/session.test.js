'use strict';
// Tests that end sessions (logout, revoke) and jsforce's automatic re-login
// after a 401. They run against their own server so revoked tokens cannot
// disturb other files.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');
const { startServer, rawRequest, revokeToken, uniq, API_VERSION } = require('./server');

let srv;
before(async () => {
  srv = await startServer('session');
});
after(async () => {
  await srv?.stop();
});

function soapConnection() {
  return new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
}

function oauthConnection() {
  return new jsforce.Connection({
    oauth2: {
      clientId: srv.info.client_id,
      clientSecret: srv.info.client_secret,
      loginUrl: srv.baseUrl,
    },
    version: API_VERSION,
  });
}

describe('ending sessions', () => {
  it('logout (SOAP) invalidates the session', async () => {
    const conn = soapConnection();
    await conn.login(srv.info.username, srv.info.password);
    const token = conn.accessToken;
    await conn.logout();
    const stale = new jsforce.Connection({
      instanceUrl: srv.baseUrl,
      accessToken: token,
      version: API_VERSION,
    });
    await assert.rejects(stale.limits(), (err) => {
      assert.equal(err.errorCode, 'INVALID_SESSION_ID');
      return true;
    });
  });

  it('OAuth session: logs in again by itself after its token is revoked', async () => {
    const conn = oauthConnection();
    await conn.login(srv.info.username, srv.info.password);
    const first = conn.accessToken;
    await revokeToken(srv, first);

    // The revoked token really is dead.
    const probe = await rawRequest(srv, 'GET', `/services/data/v${API_VERSION}/limits`, {
      headers: { Authorization: `Bearer ${first}` },
    });
    assert.equal(probe.status, 401);
    assert.deepEqual(probe.json?.map((e) => e.errorCode), ['INVALID_SESSION_ID']);

    const res = await conn.sobject('Account').create({ Name: uniq('relogin') });
    assert.equal(res.success, true);
    assert.notEqual(conn.accessToken, first, 'jsforce should hold a new token');
  });

  it('logout (OAuth) revokes the token', async () => {
    const conn = oauthConnection();
    await conn.login(srv.info.username, srv.info.password);
    const token = conn.accessToken;
    await conn.logout();
    const probe = await rawRequest(srv, 'GET', `/services/data/v${API_VERSION}/limits`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(probe.status, 401);
  });

  it('SOAP session: logs in again by itself after its token is revoked', async () => {
    const conn = soapConnection();
    await conn.login(srv.info.username, srv.info.password);
    const first = conn.accessToken;
    await revokeToken(srv, first);
    const res = await conn.sobject('Account').create({ Name: uniq('soap-relogin') });
    assert.equal(res.success, true);
    assert.notEqual(conn.accessToken, first, 'jsforce should hold a new token');
  });
});

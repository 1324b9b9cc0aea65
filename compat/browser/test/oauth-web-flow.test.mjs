// The OAuth 2.0 web-server flow through a real browser on forcebus's one-step sign-in page:
// jsforce's OAuth2 (with PKCE, useVerifier) builds the authorize URL, asking for that page
// with `forcebus_signin=page` (a browser is otherwise sent through Salesforce's login and
// approval pages: oauth-salesforce-urls.test.mjs), Debian's Chromium (driven by
// playwright-core) opens it, fills Salesforce's form ids `#username` and `#password`,
// clicks `#Login`, and lands on a loopback callback with the code; jsforce exchanges it and
// uses the token. Also: a wrong password stays on the page with Salesforce's message, and a
// non-loopback redirect_uri gets no page at all.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const jsforce = require('jsforce');
const { startServer } = require('../../node/test/server.js');

const CHROMIUM = process.env.COMPAT_CHROMIUM || '/usr/bin/chromium';
// Flags for a sandboxed machine without a display or outside network.
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// The authorize URL's parameter asking for the one-step page.
const ONE_STEP = { forcebus_signin: 'page' };

describe('OAuth web-server flow in Chromium', () => {
  let srv;
  let browser;
  let callback;
  const arrived = [];

  before(async () => {
    srv = await startServer('oauth-web', { prefix: 'browser' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    callback = http.createServer((req, res) => {
      const url = new URL(req.url, 'http://127.0.0.1');
      // The browser asks for /favicon.ico too.
      if (url.pathname === '/OauthRedirect') arrived.push(url.searchParams);
      res.end('You may close this window.');
    });
    await new Promise((resolve) => callback.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await browser?.close();
    callback?.close();
    await srv?.stop();
  });

  const oauth2 = () => new jsforce.OAuth2({
    loginUrl: srv.baseUrl,
    clientId: srv.info.client_id,
    redirectUri: `http://127.0.0.1:${callback.address().port}/OauthRedirect`,
    useVerifier: true,
  });

  it('signs in through the page and exchanges the code with its PKCE verifier', async () => {
    const auth = oauth2();
    const page = await browser.newPage();
    await page.goto(auth.getAuthorizationUrl({ state: 'st-1', ...ONE_STEP }));
    await page.fill('#username', srv.info.username);
    await page.fill('#password', srv.info.password);
    await Promise.all([page.waitForURL(/\/OauthRedirect\?/), page.click('#Login')]);
    await page.close();
    const params = arrived.pop();
    assert.equal(params.get('state'), 'st-1');
    const code = params.get('code');
    assert.ok(code, 'a code came back');
    const conn = new jsforce.Connection({ oauth2: auth, version: '59.0' });
    const user = await conn.authorize(code);
    assert.equal(user.organizationId, srv.info.org_id);
    assert.ok(conn.refreshToken, 'the web-server flow issues a refresh token');
    const limits = await conn.request('/services/data/v59.0/limits');
    assert.ok(limits.DailyApiRequests, JSON.stringify(limits));
    // A code is used once.
    await assert.rejects(conn.authorize(code), /invalid authorization code/);
  });

  it('stays on the page with Salesforce\'s message after a wrong password', async () => {
    const page = await browser.newPage();
    await page.goto(oauth2().getAuthorizationUrl({ state: 'st-2', ...ONE_STEP }));
    await page.fill('#username', srv.info.username);
    await page.fill('#password', 'not-the-password');
    await Promise.all([page.waitForLoadState('load'), page.click('#Login')]);
    await page.waitForSelector('#error');
    assert.match(await page.textContent('#error'), /Please check your username and password/);
    assert.doesNotMatch(page.url(), /OauthRedirect/);
    await page.close();
  });

  it('shows no sign-in page for a redirect_uri on another host', async () => {
    const auth = new jsforce.OAuth2({
      loginUrl: srv.baseUrl,
      clientId: srv.info.client_id,
      redirectUri: 'https://attacker.example/cb',
    });
    const page = await browser.newPage();
    const response = await page.goto(auth.getAuthorizationUrl());
    assert.equal(response.status(), 400);
    assert.equal(await page.$('#username'), null);
    await page.close();
  });
});

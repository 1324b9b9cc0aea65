// The browser console at /forcebus/console, driven in Debian's Chromium (playwright-core):
// sign in through OAuth (the server's sign-in page), see a change event arrive after a REST
// write and read its header, publish a platform event from the generated form and see it,
// run a SOQL query and open a record (and edit it through the describe form, with an error
// shown on its field), look at every other view, sign out, sign in with the admin key,
// switch to an org made through the admin API, and advance the clock from the controls.
// Each view is photographed at 1280x800 into compat/.work/console/<view>.png, or into
// COMPAT_CONSOLE_SHOTS (`COMPAT_CONSOLE_SHOTS=docs/console` renews the README's).
//
// The server serves its embedded copy of the console; with COMPAT_CONSOLE_DIR set (a
// folder, or any value for crates/console/assets) it serves the files from disk instead,
// for work on the console without a rebuild.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const { startServer } = require('../../node/test/server.js');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..', '..');
const SHOTS = process.env.COMPAT_CONSOLE_SHOTS
  ? path.resolve(process.env.COMPAT_CONSOLE_SHOTS)
  : path.join(REPO, 'compat', '.work', 'console');
const CHROMIUM = process.env.COMPAT_CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const V = '68.0';

function consoleDirArgs() {
  const v = process.env.COMPAT_CONSOLE_DIR;
  if (!v) return [];
  const dir = fs.existsSync(v) && fs.statSync(v).isDirectory() ? path.resolve(v) : path.join(REPO, 'crates', 'console', 'assets');
  return ['--console-dir', dir];
}

describe('the browser console in Chromium', { timeout: 180000 }, () => {
  let srv;
  let browser;
  let page;
  const problems = []; // page errors and CSP violations: none may happen
  const stamp = Date.now().toString(36);
  const accountName = `Console Test ${stamp}`;
  let accountId;

  const base = () => srv.baseUrl;
  const rest = async (method, p, body, headers = {}) => {
    const res = await fetch(base() + p, {
      method,
      headers: { Authorization: `Bearer ${srv.info.access_token}`, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${p}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const shot = async (name) => {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  };
  const go = async (hash) => {
    await page.evaluate((h) => { location.hash = h; }, hash);
  };

  before(async () => {
    srv = await startServer('console', { prefix: 'browser', extraArgs: consoleDirArgs() });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.setDefaultTimeout(15000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  it('signs in through the OAuth sign-in page', async () => {
    await page.goto(`${base()}/forcebus/console`);
    await page.waitForSelector('#admin-key');
    await shot('signin');
    await page.click('#signin-oauth');
    await page.waitForSelector('#username');
    assert.match(page.url(), /\/services\/oauth2\/authorize\?.*client_id=forcebus-console/);
    await page.fill('#username', srv.info.username);
    await page.fill('#password', srv.info.password);
    await page.click('#Login');
    await page.waitForSelector('#stream-status[data-state=connected]');
    assert.equal(await page.textContent('#org-id'), srv.info.org_id);
    assert.equal(await page.textContent('#user-name'), 'Admin User');
    assert.doesNotMatch(page.url(), /[?&]code=/, 'the code is taken out of the URL');
    const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('forcebus.console.session')));
    assert.equal(stored.mode, 'user');
    assert.match(stored.token, /^00D/);
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
  });

  it('shows the change event of a REST write within seconds, its header laid out', async () => {
    const created = await rest('POST', `/services/data/v${V}/sobjects/Account`, { Name: accountName });
    accountId = created.id;
    const t0 = Date.now();
    await rest('PATCH', `/services/data/v${V}/sobjects/Account/${accountId}`, { Phone: '555-0100', Industry: 'Energy' });
    const update = page.locator('tr.ev', { hasText: accountId }).filter({ hasText: 'UPDATE' });
    await update.waitFor({ timeout: 5000 });
    assert.ok(Date.now() - t0 < 5000);
    await page.locator('tr.ev', { hasText: accountId }).filter({ hasText: 'CREATE' }).waitFor();
    await update.click();
    assert.equal(await update.getAttribute('aria-expanded'), 'true');
    const header = page.locator('section.header-grid').first();
    await header.waitFor();
    const changed = await header.locator('.changed-fields').textContent();
    assert.match(changed, /Phone/);
    assert.match(changed, /Industry/);
    assert.match(await header.textContent(), /transactionKey/);
    assert.equal(await header.locator(`a[href="#records/User/${srv.info.user_id}"]`).count(), 1, 'commitUser links to the user');
    assert.equal(await page.locator('.detail a[href^="#schema/id/"]').count() >= 1, true, 'the schema id links to the Schema view');
    // The change type filter hides the CREATE.
    await page.selectOption('#filter-type', 'UPDATE');
    await page.locator('tr.ev', { hasText: 'CREATE' }).waitFor({ state: 'detached' });
    assert.match(await page.textContent('#event-counts'), /hidden by filters/);
    await page.selectOption('#filter-type', '');
    await page.locator('tr.ev', { hasText: accountId }).filter({ hasText: 'CREATE' }).waitFor();
    await update.click();
    assert.equal(await update.getAttribute('aria-expanded'), 'false');
    // More traffic for the picture: a contact of the account.
    const contact = await rest('POST', `/services/data/v${V}/sobjects/Contact`, { LastName: 'Lovelace', FirstName: 'Ada', AccountId: accountId });
    await page.locator('tr.ev', { hasText: contact.id }).waitFor({ timeout: 5000 });
  });

  it('publishes Order_Shipped__e from its form and sees it arrive', async () => {
    const order = `A-${stamp}`.slice(0, 20);
    await page.click('#tab-publish');
    await page.waitForSelector('form.generated input[name=Order_Number__c]');
    await page.fill('input[name=Order_Number__c]', order);
    await page.fill('input[name=Weight__c]', '2.5');
    await page.check('input[name=Shipped__c]');
    await page.fill('input[name=Ship_Date__c]', '2026-11-24');
    await page.click('form.generated button[type=submit]');
    await page.locator('.notice.ok', { hasText: 'Published' }).waitFor();
    await page.locator('#published-recent', { hasText: order }).waitFor({ timeout: 5000 });
    await shot('publish');
    // A required field left out: the server's error under that field.
    await page.fill('input[name=Order_Number__c]', '');
    await page.click('form.generated button[type=submit]');
    await page.locator('.form-row.invalid', { hasText: 'Order_Number__c' }).waitFor();
    // And in Events.
    await page.click('#tab-events');
    await page.fill('#filter-text', order);
    const row = page.locator('tr.ev', { hasText: '/event/Order_Shipped__e' });
    await row.waitFor();
    assert.equal(await row.count(), 1);
    await row.click();
    const fields = page.locator('.detail table.fields-table');
    await fields.waitFor();
    assert.match(await fields.textContent(), new RegExp(order));
    assert.match(await fields.textContent(), /Weight__c\s*2\.5/);
    await row.click();
    await fields.waitFor({ state: 'hidden' });
    await page.fill('#filter-text', '');
  });

  it('runs a SOQL query, opens a record, and edits it through the describe form', async () => {
    const more = [['Globex', 'Manufacturing', '555-0111'], ['Initech', 'Technology', '555-0122'],
      ['Umbrella', 'Biotechnology', null], ['Stark Industries', 'Energy', '555-0144']];
    for (const [Name, Industry, Phone] of more) {
      await rest('POST', `/services/data/v${V}/sobjects/Account`, { Name: `${Name} ${stamp}`, Industry, Phone });
    }
    await page.click('#tab-records');
    await page.waitForSelector('#soql');

    // Paging: 250 accounts (loaded as a bulk load: one GAP event, not 250), 200 a page.
    const bulk = Array.from({ length: 250 }, (_, i) => ({ attributes: { type: 'Account' }, Name: `Bulk ${stamp} ${String(i).padStart(3, '0')}` }));
    for (let i = 0; i < bulk.length; i += 200) {
      await rest('POST', `/services/data/v${V}/composite/sobjects`, { allOrNone: true, records: bulk.slice(i, i + 200) }, { 'X-Forcebus-Bulk-Load': 'true' });
    }
    await page.fill('#soql', `SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk ${stamp}%' ORDER BY Name`);
    await page.selectOption('#batch-size', '200');
    await page.click('#run-query');
    await page.locator('#result-info', { hasText: '200 of 250 records' }).waitFor();
    await page.click('#load-more');
    await page.locator('#result-info', { hasText: /^250 records/ }).waitFor();
    assert.equal(await page.locator('#results tbody tr').count(), 250);
    assert.ok(await page.locator('#load-more').isHidden());
    await page.selectOption('#batch-size', '');

    // SOSL: the box switches to search by itself.
    await page.fill('#soql', `FIND {Globex} RETURNING Account(Id, Name)`);
    assert.equal(await page.inputValue('#query-api'), 'search');
    await page.click('#run-query');
    await page.locator('#results td', { hasText: `Globex ${stamp}` }).waitFor();

    await page.fill('#soql', `SELECT Id, Name, Industry, Phone, Owner.Name, CreatedDate, (SELECT Id FROM Contacts) FROM Account WHERE Name LIKE '%${stamp}' ORDER BY Name`);
    await page.click('#run-query');
    const link = page.locator(`#results a[href="#records/Account/${accountId}"]`);
    await link.waitFor();
    assert.match(await page.textContent('#result-info'), /^5 records/);
    assert.match(await page.textContent('#results'), /Owner\.Name/);
    assert.match(await page.locator('#results tr', { hasText: accountName }).textContent(), /1 row/, 'the subquery\'s count');
    await shot('records');
    await link.click();
    await page.waitForSelector('#record-fields');
    assert.equal(await page.textContent('#record-title'), accountName);
    assert.match(await page.textContent('#record-fields'), /555-0100/);
    await page.locator('.related-list, .related p.muted').first().waitFor();
    await shot('record');

    // An edit the server refuses: the error under its field.
    await page.click('#edit-record');
    await page.waitForSelector('form.generated input[name=Phone]');
    await page.fill('input[name=ParentId]', '001000000000000AAA');
    await page.click('form.generated button[type=submit]');
    await page.locator('.form-row.invalid', { hasText: 'ParentId' }).waitFor();
    // Then a good one: back on the record, the new value, and its change event in Events.
    await page.fill('input[name=ParentId]', '');
    await page.fill('input[name=Phone]', '555-0199');
    await page.click('form.generated button[type=submit]');
    await page.locator('#record-fields', { hasText: '555-0199' }).waitFor();
    await page.click('#tab-events');
    const updates = page.locator('tr.ev', { hasText: accountId }).filter({ hasText: 'UPDATE' });
    await updates.nth(1).waitFor({ timeout: 5000 });
    await updates.first().click(); // the newest: the form's edit
    const header = page.locator('tr.detail-row:not([hidden]) section.header-grid');
    await header.waitFor();
    assert.match(await header.locator('.changed-fields').textContent(), /Phone/);
    assert.doesNotMatch(await header.locator('.changed-fields').textContent(), /Industry/, 'the form sent only what changed');
    await shot('events');
  });

  it('shows the schema, subscribers and requests views', async () => {
    await go('schema/Account');
    await page.locator('#schema-fields td', { hasText: 'BillingCity' }).first().waitFor();
    assert.match(await page.textContent('#schema-title'), /Account/);
    await shot('schema');

    await go('schema/events/AccountChangeEvent');
    await page.locator('#avro-fields td', { hasText: 'ChangeEventHeader' }).first().waitFor();

    // A new field gives the platform event a second schema id; the view lists both.
    const def = (await rest('GET', '/forcebus/v1/platform-events/Order_Shipped__e'));
    const oldId = def.schemaId;
    const fields = def.config.fields.map(({ name, type, length, precision, scale, required }) => ({ name, type, length, precision, scale, required }));
    await rest('PUT', '/forcebus/v1/platform-events/Order_Shipped__e', { label: 'Order Shipped', fields: [...fields, { name: 'Carrier__c', type: 'string', length: 40 }] });
    await go('schema/events/Order_Shipped__e');
    await page.locator('#avro-fields td', { hasText: 'Carrier__c' }).waitFor();
    if (!(await page.locator('.side .notice.info').count())) {
      await page.locator('#schema-ids tbody tr').nth(1).waitFor();
      assert.equal(await page.locator('#schema-ids tbody tr').count(), 2);
      await shot('schema-events');
      await page.click(`#schema-ids a[href="#schema/id/${oldId}"]`);
      // The new schema's fields stay on the page until the old one's replace them: wait
      // for the page to be the old schema's (a timeout here if it still shows Carrier__c).
      await page.waitForURL(new RegExp(`#schema/id/${oldId}$`));
      await page.locator('#avro-fields td', { hasText: 'Carrier__c' }).waitFor({ state: 'detached', timeout: 10000 });
      await page.locator('#avro-fields td', { hasText: 'Order_Number__c' }).waitFor();
      assert.equal(await page.locator('#avro-fields td', { hasText: 'Carrier__c' }).count(), 0, 'the old schema has no Carrier__c');
    } else {
      await shot('schema-events');
    }

    await page.click('#tab-subscribers');
    await page.locator('#subscribers, .notice.info').first().waitFor();
    if (await page.locator('#subscribers').count()) {
      await page.locator('#subscribers td', { hasText: '/data/ChangeEvents' }).first().waitFor();
      await page.locator('#subscribers td', { hasText: 'this console' }).first().waitFor();
    } else {
      assert.match(await page.textContent('.notice.info'), /Not available in this server/);
    }
    await shot('subscribers');

    await page.click('#tab-requests');
    await page.locator('#requests, .notice.info').first().waitFor();
    if (await page.locator('#requests').count()) {
      await page.locator('#requests td', { hasText: '/services/data/' }).first().waitFor();
      // The refused edit above is in the journal with its error body.
      await page.click('[data-status="4"]');
      const failed = page.locator('#requests tr.req', { hasText: 'PATCH' }).first();
      await failed.waitFor();
      await failed.click();
      await page.locator('#requests .detail', { hasText: 'INVALID_CROSS_REFERENCE_KEY' }).waitFor();
      await page.click('[data-status="all"]');
      await page.locator('#requests td', { hasText: '/services/data/' }).nth(3).waitFor();
      await page.locator('#requests .detail', { hasText: 'INVALID_CROSS_REFERENCE_KEY' }).waitFor();
    } else {
      assert.match(await page.textContent('.notice.info'), /Not available in this server/);
    }
    await shot('requests');
  });

  it('signs out, signs in with the admin key and switches to a new org', async () => {
    await page.click('#signout');
    await page.waitForSelector('#admin-key');
    assert.equal(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('forcebus.')).length), 0);
    // A wrong key is refused on the page.
    await page.fill('#admin-key', 'fbk_not-the-key');
    await page.click('#signin-admin');
    await page.locator('.notice.error', { hasText: '401' }).waitFor();

    await page.fill('#admin-key', srv.info.admin_key);
    await page.click('#signin-admin');
    await page.waitForSelector('#org-switch');
    assert.equal(await page.textContent('#org-id'), srv.info.org_id);

    const res = await fetch(`${base()}/forcebus/v1/orgs`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${srv.info.admin_key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'console-second' }),
    });
    assert.equal(res.status, 201);
    const second = await res.json();

    await page.click('#tab-orgs');
    const switchButton = page.locator(`button[data-switch="${second.org_id}"]`);
    await switchButton.waitFor();
    await switchButton.click();
    await page.locator('#org-id', { hasText: second.org_id }).waitFor();
    await page.locator(`#orgs tr.current[data-org="${second.org_id}"]`).waitFor();
    // Every view now reads the second org: its Accounts are not the first org's.
    await go(`records?q=${encodeURIComponent(`SELECT Id FROM Account WHERE Name = '${accountName}'`)}`);
    await page.locator('#result-info', { hasText: '0 records' }).waitFor();
    await page.click('#tab-events');
    await page.waitForSelector('#stream-status[data-state=connected]');
  });

  it('advances the clock from the controls and shows the new clock', async () => {
    await page.click('#tab-orgs');
    await page.waitForSelector('#clock-now');
    const before = Date.parse((await page.textContent('#clock-now')).replace(/\+0000$/, 'Z'));
    await page.fill('#advance-secs', '3600');
    await page.click('#advance-clock');
    await page.locator('.control-result .notice.ok').waitFor();
    await page.waitForFunction((b) => {
      const t = Date.parse(document.querySelector('#clock-now')?.textContent.replace(/\+0000$/, 'Z'));
      return t - b >= 3600 * 1000;
    }, before);
    assert.match(await page.textContent('#control-state'), /1h/);
    await shot('orgs');
    assert.deepEqual(problems, []);
  });
});

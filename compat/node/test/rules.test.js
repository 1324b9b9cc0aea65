'use strict';
// The org's rules through jsforce: a server started with `--project` of
// compat/fixtures/sfdx-rules-project (formula fields Health__c (Text), Top_Account__c
// (Checkbox) and Renewal_Date__c (Date) on Account, Contact.Account_Health__c crossing to
// the account, the auto-number Project__c.Code__c, and the validation rules
// Account.Score_In_Range, Opportunity.Amount_Positive and Project__c.Budget_Required).
//
// Formula values through `sobject().retrieve()` and `conn.query()` (WHERE and ORDER BY on a
// formula, a parent path Contact.Account.Health__c, a child subquery), recomputed when
// the parent changes; writing a formula refused. Validation errors as jsforce throws them
// (it takes the first entry of Salesforce's 400 array: `errorCode`, `message`, and the
// entry itself as `data`, with `fields`), in a collection's results (`statusCode`), and in
// a Bulk API 2.0 upload's failedResults (`sf__Error`). The test control
// `POST /forcebus/v1/control/rules` turns the rules off for a load and on again.
//
// The server loads a copy of the fixture with one more Account rule, Name_Not_Reserved
// (no display field), so that one record can break two rules at once.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const jsforce = require('jsforce');
const { startServer, uniq, API_VERSION } = require('./server');
const { control } = require('./helpers/controls');

const FIXTURE = path.resolve(__dirname, '../../fixtures/sfdx-rules-project');
const SCORE_MESSAGE = 'Score must be between 0 and 100.';
const VALIDATION = 'FIELD_CUSTOM_VALIDATION_EXCEPTION';

/** Account's second rule, added to a copy of the fixture. */
const RESERVED_RULE = `<?xml version="1.0" encoding="UTF-8"?>
<ValidationRule xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Name_Not_Reserved</fullName>
    <active>true</active>
    <errorConditionFormula>Name = &quot;Reserved&quot;</errorConditionFormula>
    <errorMessage>That name is reserved.</errorMessage>
</ValidationRule>
`;

let srv;
let conn;
let project;
/** Accounts seeded by `before`, by score: their ids, under one name prefix. */
const prefix = uniq('rules');
const seeded = {};

/** The error a jsforce call rejects with (fails if it resolves). */
async function rejection(promise) {
  try {
    const res = await promise;
    assert.fail(`expected a rejection, got ${JSON.stringify(res)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

/** GMT date (YYYY-MM-DD) of an API datetime, plus `days`. */
function dateAfter(datetime, days) {
  const d = new Date(datetime.replace(/\+0000$/, 'Z'));
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

before(async () => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'rules-project-'));
  fs.cpSync(FIXTURE, project, { recursive: true });
  fs.writeFileSync(path.join(project, 'force-app/main/default/objects/Account/validationRules',
    'Name_Not_Reserved.validationRule-meta.xml'), RESERVED_RULE);
  srv = await startServer('rules', { extraArgs: ['--project', project] });
  conn = new jsforce.Connection({ loginUrl: srv.baseUrl, version: API_VERSION });
  await conn.login(srv.info.username, srv.info.password);
  conn.bulk2.pollInterval = 200;
  for (const score of [20, 55, 95, null]) {
    const res = await conn.sobject('Account').create({ Name: `${prefix}-${score}`, Score__c: score });
    assert.equal(res.success, true, JSON.stringify(res));
    seeded[score] = res.id;
  }
});
after(async () => {
  await srv?.stop();
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

describe('formula fields through jsforce', () => {
  it('describe marks them calculated, with the formula, neither createable nor updateable', async () => {
    const d = await conn.sobject('Account').describe();
    const field = (name) => d.fields.find((f) => f.name === name);
    for (const [name, type] of [['Health__c', 'string'], ['Top_Account__c', 'boolean'], ['Renewal_Date__c', 'date']]) {
      const f = field(name);
      assert.ok(f, `${name} in describe`);
      assert.equal(f.type, type, name);
      assert.equal(f.calculated, true, name);
      assert.equal(f.createable, false, name);
      assert.equal(f.updateable, false, name);
    }
    // Text formulas are not groupable (Checkbox and Date formulas are, in real orgs' describes).
    assert.equal(field('Health__c').groupable, false);
    assert.equal(field('Health__c').calculatedFormula, 'IF(Score__c >= 50, "Good", "Poor")');
    assert.equal(field('Score__c').calculated, false);
  });

  it('retrieve computes Text, Checkbox and Date formulas (a blank score counts as zero)', async () => {
    const expect = { 20: ['Poor', false], 55: ['Good', false], 95: ['Good', true], null: ['Poor', false] };
    for (const [score, [health, top]] of Object.entries(expect)) {
      const rec = await conn.sobject('Account').retrieve(seeded[score]);
      assert.equal(rec.Health__c, health, `score ${score}`);
      assert.equal(rec.Top_Account__c, top, `score ${score}`);
      assert.equal(rec.Renewal_Date__c, dateAfter(rec.CreatedDate, 365), `score ${score}`);
    }
  });

  it('query filters and sorts on a formula field', async () => {
    const good = await conn.query(
      `SELECT Name, Health__c FROM Account WHERE Name LIKE '${prefix}-%' AND Health__c = 'Good' ORDER BY Name`);
    assert.deepEqual(good.records.map((r) => [r.Name, r.Health__c]), [[`${prefix}-55`, 'Good'], [`${prefix}-95`, 'Good']]);
    const top = await conn.query(`SELECT Name FROM Account WHERE Name LIKE '${prefix}-%' AND Top_Account__c = true`);
    assert.deepEqual(top.records.map((r) => r.Name), [`${prefix}-95`]);
    const sorted = await conn.query(
      `SELECT Name, Health__c FROM Account WHERE Name LIKE '${prefix}-%' ORDER BY Health__c, Score__c DESC NULLS LAST`);
    assert.deepEqual(sorted.records.map((r) => r.Name), [95, 55, 20, null].map((s) => `${prefix}-${s}`));
    const desc = await conn.query(
      `SELECT Name FROM Account WHERE Name LIKE '${prefix}-%' ORDER BY Health__c DESC, Score__c NULLS FIRST`);
    assert.deepEqual(desc.records.map((r) => r.Name), [null, 20, 55, 95].map((s) => `${prefix}-${s}`));
  });

  it('a cross-object formula, Contact.Account.Health__c and a child subquery read the parent as it is now', async () => {
    const acct = seeded[55];
    const c = await conn.sobject('Contact').create({ LastName: uniq('Health'), AccountId: acct });
    assert.equal(c.success, true, JSON.stringify(c));
    const read = async () => (await conn.query(
      `SELECT Account_Health__c, Account.Health__c, Account.Name FROM Contact WHERE Id = '${c.id}'`)).records[0];
    let row = await read();
    assert.equal(row.Account.Health__c, 'Good');
    assert.equal(row.Account_Health__c, `Good (${prefix}-55)`);
    const byParent = await conn.query(`SELECT Id FROM Contact WHERE Account.Health__c = 'Good' AND Id = '${c.id}'`);
    assert.equal(byParent.totalSize, 1);

    await conn.sobject('Account').update({ Id: acct, Score__c: 10 });
    row = await read();
    assert.equal(row.Account.Health__c, 'Poor');
    assert.equal(row.Account_Health__c, `Poor (${prefix}-55)`);
    assert.equal((await conn.sobject('Contact').retrieve(c.id)).Account_Health__c, `Poor (${prefix}-55)`);
    const parent = await conn.query(`SELECT Health__c, (SELECT Account_Health__c FROM Contacts) FROM Account WHERE Id = '${acct}'`);
    assert.equal(parent.records[0].Health__c, 'Poor');
    assert.deepEqual(parent.records[0].Contacts.records.map((r) => r.Account_Health__c), [`Poor (${prefix}-55)`]);
    await conn.sobject('Account').update({ Id: acct, Score__c: 55 });
  });

  it('GROUP BY a formula field that describe calls not groupable is refused', async () => {
    const err = await rejection(conn.query('SELECT Health__c, COUNT(Id) FROM Account GROUP BY Health__c'));
    assert.equal(err.errorCode, 'INVALID_FIELD', err.message);
    assert.match(err.message, /field 'Health__c' can not be grouped in a query call/);
  });

  it('writing a formula field is INVALID_FIELD_FOR_INSERT_UPDATE', async () => {
    const err = await rejection(conn.sobject('Account').create({ Name: uniq('w'), Health__c: 'Great' }));
    assert.equal(err.errorCode, 'INVALID_FIELD_FOR_INSERT_UPDATE', err.message);
    assert.deepEqual(err.data?.fields, ['Health__c']);
  });

  it('the auto-number field counts from startingNumber in its display format', async () => {
    const a = await conn.sobject('Project__c').create({ Name: uniq('p'), Budget__c: 10 });
    const b = await conn.sobject('Project__c').create({ Name: uniq('p'), Budget__c: 20 });
    const codes = await conn.query(`SELECT Code__c FROM Project__c WHERE Id IN ('${a.id}', '${b.id}') ORDER BY Code__c`);
    assert.deepEqual(codes.records.map((r) => r.Code__c), ['P-0100', 'P-0101']);
  });
});

describe('validation rules through jsforce', () => {
  it('create and update of a breaking record reject with the rule; nothing changes', async () => {
    const err = await rejection(conn.sobject('Account').create({ Name: uniq('bad'), Score__c: 101 }));
    assert.equal(err.errorCode, VALIDATION);
    assert.equal(err.message, SCORE_MESSAGE);
    assert.deepEqual(err.data, { message: SCORE_MESSAGE, errorCode: VALIDATION, fields: ['Score__c'] });

    const up = await rejection(conn.sobject('Account').update({ Id: seeded[20], Score__c: -1 }));
    assert.equal(up.errorCode, VALIDATION);
    assert.deepEqual(up.data?.fields, ['Score__c']);
    assert.equal((await conn.sobject('Account').retrieve(seeded[20])).Score__c, 20);
  });

  it('a rule on a standard object (Opportunity.Amount) and one without a display field', async () => {
    const opp = await rejection(conn.sobject('Opportunity').create(
      { Name: uniq('o'), StageName: 'Prospecting', CloseDate: '2030-01-01', Amount: -5 }));
    assert.equal(opp.errorCode, VALIDATION);
    assert.equal(opp.message, 'Amount cannot be negative.');
    assert.deepEqual(opp.data?.fields, ['Amount']);
    const proj = await rejection(conn.sobject('Project__c').create({ Name: uniq('p') }));
    assert.equal(proj.errorCode, VALIDATION);
    assert.equal(proj.message, 'Every project needs a budget.');
    assert.deepEqual(proj.data?.fields, []);
  });

  it('a record breaking two rules gets one error per rule', async () => {
    // jsforce turns a 400 array of more than one entry into MULTIPLE_API_ERRORS, the array in `data`.
    const err = await rejection(conn.sobject('Account').create({ Name: 'Reserved', Score__c: 150 }));
    assert.equal(err.errorCode, 'MULTIPLE_API_ERRORS', err.message);
    const byMessage = (a, b) => a.message.localeCompare(b.message);
    assert.deepEqual([...err.data].sort(byMessage), [
      { message: SCORE_MESSAGE, errorCode: VALIDATION, fields: ['Score__c'] },
      { message: 'That name is reserved.', errorCode: VALIDATION, fields: [] },
    ]);
    const [res] = await conn.sobject('Account').create([{ Name: 'Reserved', Score__c: 150 }], { allOrNone: false });
    assert.equal(res.success, false);
    assert.deepEqual([...res.errors].sort(byMessage), [
      { statusCode: VALIDATION, message: SCORE_MESSAGE, fields: ['Score__c'] },
      { statusCode: VALIDATION, message: 'That name is reserved.', fields: [] },
    ]);
  });

  it('a collection reports the rule in statusCode; allOrNone rolls back the good record', async () => {
    const name = uniq('coll');
    const rows = [{ Name: `${name}-ok`, Score__c: 1 }, { Name: `${name}-bad`, Score__c: 500 }];
    const some = await conn.sobject('Account').create(rows, { allOrNone: false });
    assert.equal(some[0].success, true, JSON.stringify(some));
    assert.equal(some[1].success, false);
    assert.deepEqual(some[1].errors, [{ statusCode: VALIDATION, message: SCORE_MESSAGE, fields: ['Score__c'] }]);

    const all = await conn.sobject('Account').create(rows.map((r) => ({ ...r, Name: `${r.Name}-all` })), { allOrNone: true });
    assert.ok(all.every((r) => r.success === false), JSON.stringify(all));
    assert.deepEqual(all[0].errors.map((e) => e.statusCode), ['ALL_OR_NONE_OPERATION_ROLLED_BACK']);
    assert.deepEqual(all[1].errors, [{ statusCode: VALIDATION, message: SCORE_MESSAGE, fields: ['Score__c'] }]);
    const written = await conn.query(`SELECT Name FROM Account WHERE Name LIKE '${name}-%-all'`);
    assert.equal(written.totalSize, 0);
  });

  it('a Bulk API 2.0 upload puts the rule in failedResults sf__Error', async () => {
    const name = uniq('bulk');
    const res = await conn.bulk2.loadAndWaitForResults({
      object: 'Account',
      operation: 'insert',
      input: `Name,Score__c\n${name}-a,40\n${name}-b,140\n${name}-c,60\n`,
    });
    assert.deepEqual(res.successfulResults.map((r) => r.Name), [`${name}-a`, `${name}-c`], JSON.stringify(res));
    assert.equal(res.failedResults.length, 1, JSON.stringify(res));
    const [failed] = res.failedResults;
    assert.equal(failed.Name, `${name}-b`);
    assert.equal(failed.sf__Error, `${VALIDATION}:${SCORE_MESSAGE}:Score__c --`);
    const health = await conn.query(`SELECT Name, Health__c FROM Account WHERE Name LIKE '${name}-%' ORDER BY Name`);
    assert.deepEqual(health.records.map((r) => r.Health__c), ['Poor', 'Good']);
  });

  it('the rules control turns them off for a load and on again', async () => {
    const name = uniq('load');
    const off = await control(srv, 'POST', '/rules', { validation_rules: false });
    assert.equal(off.rules.validation_rules, false);
    try {
      const loaded = await conn.sobject('Account').create({ Name: name, Score__c: 500 });
      assert.equal(loaded.success, true);
      const res = await conn.bulk2.loadAndWaitForResults({
        object: 'Project__c', operation: 'insert', input: `Name\n${name}-p\n`,
      });
      assert.equal(res.failedResults.length, 0, JSON.stringify(res));
    } finally {
      const on = await control(srv, 'POST', '/rules', { validation_rules: true });
      assert.equal(on.rules.validation_rules, true);
    }
    const err = await rejection(conn.sobject('Account').create({ Name: `${name}-again`, Score__c: 500 }));
    assert.equal(err.errorCode, VALIDATION);
    // A stored record that breaks a rule is refused on its next update, as on Salesforce.
    const [rec] = (await conn.query(`SELECT Id FROM Account WHERE Name = '${name}'`)).records;
    const up = await rejection(conn.sobject('Account').update({ Id: rec.Id, Description: 'touched' }));
    assert.equal(up.errorCode, VALIDATION);
  });
});

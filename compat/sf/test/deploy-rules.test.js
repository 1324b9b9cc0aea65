'use strict';
// `sf project deploy start` of the org's rules: the fixture compat/fixtures/sfdx-rules-project
// (formula fields of type Text, Checkbox and Date on Account, a cross-object Text formula
// on Contact, an auto-number field and a custom object, three validation rules, two
// roll-up summaries over a master-detail child, literal and formula default values, field
// history) deployed from source into a fresh server. Every component is Created; deploying again reports
// every one Unchanged. The rules are live at once over REST (a formula value, the auto
// number, a validation error as Salesforce answers it). `sf project retrieve start` of the
// formula fields, the custom object and the rules into an empty project gives back the same
// formulas and rules, and that project deploys back Unchanged.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, rawRequest } = require('../../node/test/server');
const { runSf, explain } = require('./sf');

const FIXTURE = path.resolve(__dirname, '../../fixtures/sfdx-rules-project');
const OBJECTS = 'force-app/main/default/objects';
const VERSION = '62.0';

/** What the deploy must report Created: `type#fullName`. */
const COMPONENTS = [
  'CustomField#Account.Score__c',
  'CustomField#Account.Health__c',
  'CustomField#Account.Top_Account__c',
  'CustomField#Account.Renewal_Date__c',
  'CustomField#Contact.Account_Health__c',
  'CustomObject#Project__c',
  'CustomField#Project__c.Budget__c',
  'CustomField#Project__c.Code__c',
  'ValidationRule#Account.Score_In_Range',
  'ValidationRule#Opportunity.Amount_Positive',
  'ValidationRule#Project__c.Budget_Required',
  'CustomField#Project__c.Stage__c',
  'CustomField#Project__c.Review_Date__c',
  'CustomField#Project__c.Owner_Email__c',
  'CustomField#Project__c.Task_Count__c',
  'CustomField#Project__c.Open_Hours__c',
  'CustomObject#Project_Task__c',
  'CustomField#Project_Task__c.Project__c',
  'CustomField#Project_Task__c.Hours__c',
  'CustomField#Project_Task__c.Done__c',
];

/** The source files retrieved back, and the elements of each that must match the fixture's. */
const RETRIEVED = {
  'Account/fields/Health__c.field-meta.xml': ['type', 'formula', 'formulaTreatBlanksAs'],
  'Account/fields/Top_Account__c.field-meta.xml': ['type', 'formula', 'formulaTreatBlanksAs'],
  'Account/fields/Renewal_Date__c.field-meta.xml': ['type', 'formula', 'formulaTreatBlanksAs'],
  'Contact/fields/Account_Health__c.field-meta.xml': ['type', 'formula', 'formulaTreatBlanksAs'],
  'Project__c/fields/Budget__c.field-meta.xml': ['type', 'precision', 'scale', 'trackHistory'],
  'Project__c/fields/Stage__c.field-meta.xml': ['type', 'defaultValue', 'trackHistory'],
  'Project__c/fields/Review_Date__c.field-meta.xml': ['type', 'defaultValue'],
  'Project__c/fields/Owner_Email__c.field-meta.xml': ['type', 'defaultValue'],
  'Project__c/fields/Task_Count__c.field-meta.xml': ['type', 'summaryOperation', 'summaryForeignKey'],
  'Project__c/fields/Open_Hours__c.field-meta.xml':
    ['type', 'summaryOperation', 'summaryForeignKey', 'summarizedField', 'summaryFilterItems'],
  'Project_Task__c/fields/Project__c.field-meta.xml': ['type', 'referenceTo', 'relationshipName'],
  'Project__c/Project__c.object-meta.xml': ['label', 'enableHistory'],
  'Project__c/fields/Code__c.field-meta.xml': ['type', 'displayFormat'],
  'Account/validationRules/Score_In_Range.validationRule-meta.xml':
    ['fullName', 'active', 'errorConditionFormula', 'errorDisplayField', 'errorMessage'],
  'Opportunity/validationRules/Amount_Positive.validationRule-meta.xml':
    ['fullName', 'active', 'errorConditionFormula', 'errorDisplayField', 'errorMessage'],
  'Project__c/validationRules/Budget_Required.validationRule-meta.xml':
    ['fullName', 'active', 'errorConditionFormula', 'errorDisplayField', 'errorMessage'],
};

let srv;
/** The project `retrieve start` wrote, for the todo test after it. */
let retrievedDir;

function project() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-rules-'));
  fs.cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

function deploy(dir) {
  return runSf(['project', 'deploy', 'start', '--source-dir', 'force-app', '-o', srv.info.access_token, '--json'],
    { home: dir, instanceUrl: srv.baseUrl });
}

function rest(method, urlPath, body) {
  return rawRequest(srv, method, `/services/data/v${VERSION}${urlPath}`, {
    headers: { Authorization: `Bearer ${srv.info.access_token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The decoded text of `<tag>` in an XML document (the first one), or null. */
function element(xml, tag) {
  const m = xml.match(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`));
  if (!m) return null;
  return m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

const states = (res) => Object.fromEntries(res.json.result.files.map((f) => [`${f.type}#${f.fullName}`, f.state]));

before(async () => {
  srv = await startServer('deploy-rules', { prefix: 'sf' });
});

after(async () => {
  await srv?.stop();
});

describe('sf project deploy start: formula fields, auto numbers and validation rules', () => {
  it('deploys every component as Created', { timeout: 120000 }, async () => {
    const res = await deploy(project());
    assert.equal(res.code, 0, explain(res));
    assert.equal(res.json.result.status, 'Succeeded', explain(res));
    const byName = states(res);
    for (const key of COMPONENTS) {
      assert.equal(byName[key], 'Created', `${key} in ${JSON.stringify(byName)}`);
    }
  });

  it('deploying again reports every component Unchanged', { timeout: 120000 }, async () => {
    const res = await deploy(project());
    assert.equal(res.code, 0, explain(res));
    const byName = states(res);
    for (const key of COMPONENTS) assert.ok(key in byName, `${key} in ${JSON.stringify(byName)}`);
    assert.deepEqual([...new Set(Object.values(byName))], ['Unchanged'], JSON.stringify(byName));
  });

  it('the deployed rules are live over REST', async () => {
    const d = (await rest('GET', '/sobjects/Account/describe')).json;
    const health = d.fields.find((f) => f.name === 'Health__c');
    assert.equal(health.calculated, true);
    assert.equal(health.calculatedFormula, 'IF(Score__c >= 50, "Good", "Poor")');
    assert.equal(health.createable, false);

    const good = await rest('POST', '/sobjects/Account', { Name: 'Deployed Good', Score__c: 80 });
    assert.equal(good.status, 201, good.text);
    const got = (await rest('GET', `/sobjects/Account/${good.json.id}?fields=Health__c,Top_Account__c`)).json;
    assert.equal(got.Health__c, 'Good');
    assert.equal(got.Top_Account__c, false);

    const bad = await rest('POST', '/sobjects/Account', { Name: 'Deployed Bad', Score__c: 101 });
    assert.equal(bad.status, 400, bad.text);
    assert.deepEqual(bad.json, [{ message: 'Score must be between 0 and 100.',
      errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: ['Score__c'] }]);

    const noBudget = await rest('POST', '/sobjects/Project__c', { Name: 'No budget' });
    assert.equal(noBudget.status, 400, noBudget.text);
    assert.deepEqual(noBudget.json, [{ message: 'Every project needs a budget.',
      errorCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', fields: [] }]);
    const made = await rest('POST', '/sobjects/Project__c', { Name: 'Budgeted', Budget__c: 1200 });
    assert.equal(made.status, 201, made.text);
    const code = (await rest('GET', `/sobjects/Project__c/${made.json.id}?fields=Code__c`)).json.Code__c;
    assert.equal(code, 'P-0100', 'the first auto number is startingNumber in displayFormat');
  });

  it('roll-ups, default values and field history are live over REST', async () => {
    const made = await rest('POST', '/sobjects/Project__c', { Name: 'Rolled', Budget__c: 500 });
    assert.equal(made.status, 201, made.text);
    const id = made.json.id;
    const fields = 'Stage__c,Review_Date__c,Owner_Email__c,Task_Count__c,Open_Hours__c';
    let p = (await rest('GET', `/sobjects/Project__c/${id}?fields=${fields}`)).json;
    assert.equal(p.Stage__c, 'Planning', 'a literal default');
    assert.match(p.Review_Date__c, /^\d{4}-\d{2}-\d{2}$/, 'TODAY() + 30');
    const user = (await rest('GET', `/sobjects/User/${srv.info.user_id}?fields=Email`)).json;
    assert.equal(p.Owner_Email__c, user.Email, '$User.Email');
    assert.equal(p.Task_Count__c, 0);
    for (const [hours, done] of [[3, false], [4.5, false], [10, true]]) {
      const t = await rest('POST', '/sobjects/Project_Task__c', { Name: `T${hours}`, Project__c: id, Hours__c: hours, Done__c: done });
      assert.equal(t.status, 201, t.text);
    }
    p = (await rest('GET', `/sobjects/Project__c/${id}?fields=${fields}`)).json;
    assert.equal(p.Task_Count__c, 3);
    assert.equal(p.Open_Hours__c, 7.5, 'the filter leaves the done task out');
    const patched = await rest('PATCH', `/sobjects/Project__c/${id}`, { Budget__c: 750, Stage__c: 'Running' });
    assert.equal(patched.status, 204, patched.text);
    const q = encodeURIComponent(`SELECT Field, OldValue, NewValue FROM Project__History WHERE ParentId = '${id}' ORDER BY Field`);
    const history = (await rest('GET', `/query?q=${q}`)).json.records.map((r) => [r.Field, r.OldValue, r.NewValue]);
    // SOQL sorts text without regard to case, as Salesforce does.
    assert.deepEqual(history, [['Budget__c', 500, 750], ['created', null, null], ['Stage__c', 'Planning', 'Running']]);
  });

  it('retrieve start gives back the same formulas and rules, which deploy back Unchanged', { timeout: 120000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sf-rules-retrieve-'));
    fs.copyFileSync(path.join(FIXTURE, 'sfdx-project.json'), path.join(dir, 'sfdx-project.json'));
    fs.mkdirSync(path.join(dir, 'force-app'));
    const members = ['CustomObject:Project__c', 'CustomObject:Project_Task__c', 'CustomField:Account.Health__c', 'CustomField:Account.Top_Account__c',
      'CustomField:Account.Renewal_Date__c', 'CustomField:Contact.Account_Health__c',
      'ValidationRule:Account.Score_In_Range', 'ValidationRule:Opportunity.Amount_Positive'];
    retrievedDir = dir;
    const res = await runSf(['project', 'retrieve', 'start', ...members.flatMap((m) => ['--metadata', m]),
      '-o', srv.info.access_token, '--json'], { home: dir, instanceUrl: srv.baseUrl });
    assert.equal(res.code, 0, explain(res));
    for (const [file, tags] of Object.entries(RETRIEVED)) {
      const got = path.join(dir, OBJECTS, file);
      assert.ok(fs.existsSync(got), `${file} retrieved: ${explain(res)}`);
      const want = fs.readFileSync(path.join(FIXTURE, OBJECTS, file), 'utf8');
      const xml = fs.readFileSync(got, 'utf8');
      for (const tag of tags) {
        assert.equal(element(xml, tag), element(want, tag), `<${tag}> of ${file}:\n${xml}`);
      }
    }
    const back = await deploy(dir);
    assert.equal(back.code, 0, explain(back));
    assert.deepEqual([...new Set(Object.values(states(back)))], ['Unchanged'], JSON.stringify(back.json.result.files));
  });

  it('a formula or a rule that does not compile fails the deploy as its component\'s problem; nothing applies', { timeout: 120000 }, async () => {
    const dir = project();
    const objects = path.join(dir, OBJECTS);
    fs.writeFileSync(path.join(objects, 'Account/fields/Broken__c.field-meta.xml'),
      '<?xml version="1.0" encoding="UTF-8"?><CustomField xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Broken__c</fullName><formula>Missing__c + 1</formula><label>Broken</label><precision>18</precision><scale>2</scale><type>Number</type></CustomField>');
    fs.writeFileSync(path.join(objects, 'Opportunity/validationRules/Broken_Rule.validationRule-meta.xml'),
      '<?xml version="1.0" encoding="UTF-8"?><ValidationRule xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Broken_Rule</fullName><active>true</active><errorConditionFormula>Nowhere__c &gt; 1</errorConditionFormula><errorMessage>Never.</errorMessage></ValidationRule>');
    fs.mkdirSync(path.join(objects, 'Extra__c'));
    fs.writeFileSync(path.join(objects, 'Extra__c/Extra__c.object-meta.xml'),
      '<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata"><label>Extra</label><pluralLabel>Extras</pluralLabel><nameField><label>Extra Name</label><type>Text</type></nameField><deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel></CustomObject>');
    const res = await deploy(dir);
    assert.notEqual(res.code, 0, explain(res));
    const failures = [res.json?.result?.details?.componentFailures].flat().filter(Boolean);
    const problem = (type, name) => failures.find((f) => f.componentType === type && f.fullName === name)?.problem;
    assert.equal(problem('CustomField', 'Account.Broken__c'), 'Field Missing__c does not exist. Check spelling.', explain(res));
    assert.equal(problem('ValidationRule', 'Opportunity.Broken_Rule'), 'Field Nowhere__c does not exist. Check spelling.', explain(res));
    assert.equal((await rest('GET', '/sobjects/Extra__c/describe')).status, 404, 'rolled back: the good object was not made');
    const fields = (await rest('GET', '/sobjects/Account/describe')).json.fields.map((f) => f.name);
    assert.ok(!fields.includes('Broken__c'));
  });

  // Salesforce writes each component's <fullName> first (the Metadata base type's element
  // comes before CustomField's and ValidationRule's own), so a project retrieved from a
  // real org and from forcebus read the same, line by line.
  it('retrieved components start with <fullName>, as Salesforce writes them', () => {
    assert.ok(retrievedDir, 'the retrieve test ran');
    for (const file of Object.keys(RETRIEVED).filter((f) => !f.endsWith('.object-meta.xml'))) {
      const xml = fs.readFileSync(path.join(retrievedDir, OBJECTS, file), 'utf8');
      const first = xml.match(/<(CustomField|ValidationRule) [^>]*>\s*<(\w+)>/);
      assert.equal(first?.[2], 'fullName', `${file}:\n${xml}`);
    }
  });
});

// The repository's test helper (clients/js, `forcebus-test`), run by Vitest with its globals
// and by Jest (ESM mode): `useForcebusOrg()` with no arguments finds beforeAll / afterAll /
// beforeEach / afterEach, starts a server from FORCEBUS_BIN, and gives each test an org.

import jsforce from 'jsforce';
import { useForcebusOrg } from 'forcebus-test';

const fb = useForcebusOrg();

const connect = (org) =>
  new jsforce.Connection({ instanceUrl: org.instance_url, accessToken: org.access_token, version: org.api_version });

test('a test writes to its own org', async () => {
  const conn = connect(fb.org);
  await conn.sobject('Account').create({ Name: 'Vitest' });
  const { records } = await conn.query('SELECT Name FROM Account');
  expect(records.map((r) => r.Name)).toEqual(['Vitest']);
});

test('the next test starts empty, the last org gone', async () => {
  const { totalSize } = await connect(fb.org).query('SELECT Id FROM Account');
  expect(totalSize).toBe(0);
  const orgs = await fb.server.listOrgs();
  expect(orgs.filter((o) => !o.default)).toHaveLength(1);
});

test('an org made with config sections has them', async () => {
  const made = await fb.server.createOrg({
    name: 'vitest-config',
    config: { objects: { Ticket__c: { label: 'Ticket', fields: [{ name: 'Hours__c', type: 'double', precision: 4, scale: 0 }] } } },
  });
  try {
    const conn = connect(made);
    await conn.sobject('Ticket__c').create({ Name: 'T', Hours__c: 3 });
    expect((await conn.query('SELECT Hours__c FROM Ticket__c')).records[0].Hours__c).toBe(3);
    await expect(connect(fb.org).query('SELECT Id FROM Ticket__c')).rejects.toThrow(/Ticket__c/);
  } finally {
    await fb.server.deleteOrg(made.org_id);
  }
});

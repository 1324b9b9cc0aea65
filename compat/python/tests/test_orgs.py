"""Many orgs on one server, through the repository's pytest plugin (clients/python):
`forcebus_server` starts its own server from FORCEBUS_BIN, `forcebus_org` gives each test a
fresh org; simple-salesforce in eight orgs at once sees only its own records and events."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

ORGS = 8
RECORDS = 5


def client(server, org) -> Salesforce:
    session = requests.Session()
    session.verify = server.ready["ca_cert"]
    session.trust_env = False
    return Salesforce(instance_url=org.instance_url, session_id=org.access_token,
                      session=session, version=org.api_version)


def events(server, org) -> list:
    r = requests.get(f"{server.url}/forcebus/v1/events",
                     params={"channel": "/data/AccountChangeEvent", "limit": 1000},
                     headers={"Authorization": f"Bearer {org.access_token}"}, timeout=30)
    r.raise_for_status()
    return r.json()["events"]


def test_a_fresh_org_per_test_first(forcebus_server, forcebus_org):
    sf = client(forcebus_server, forcebus_org)
    sf.Account.create({"Name": "Left behind"})
    assert sf.query("SELECT Name FROM Account")["totalSize"] == 1


def test_a_fresh_org_per_test_second(forcebus_server, forcebus_org):
    sf = client(forcebus_server, forcebus_org)
    assert sf.query("SELECT Name FROM Account")["totalSize"] == 0, "the last test's org is gone"
    names = [o["name"] for o in forcebus_server.orgs()]
    assert "test_a_fresh_org_per_test_first" not in names, names


def test_eight_orgs_in_parallel_each_see_only_their_own(forcebus_server, forcebus_org_factory):
    orgs = [forcebus_org_factory(f"parallel-{i}") for i in range(ORGS)]
    assert len({o.org_id for o in orgs}) == ORGS
    assert len({o.username for o in orgs}) == ORGS

    def work(i: int):
        sf = client(forcebus_server, orgs[i])
        ids = [sf.Account.create({"Name": f"org{i}-{j}"})["id"] for j in range(RECORDS)]
        names = sorted(r["Name"] for r in sf.query_all("SELECT Name FROM Account")["records"])
        return ids, names

    with ThreadPoolExecutor(ORGS) as pool:
        results = list(pool.map(work, range(ORGS)))
    for i, (ids, names) in enumerate(results):
        assert names == [f"org{i}-{j}" for j in range(RECORDS)], names
        seen = events(forcebus_server, orgs[i])
        assert len(seen) == RECORDS, seen
        assert {e["event"]["fields"]["Name"] for e in seen} == {f"org{i}-{j}" for j in range(RECORDS)}
    # Another org's ids are not found with this org's token.
    other = results[1][0][0]
    with pytest.raises(SalesforceResourceNotFound):
        client(forcebus_server, orgs[0]).Account.get(other)


def test_an_org_made_with_config_sections(forcebus_server, forcebus_org_factory):
    org = forcebus_org_factory(config={
        "users": [{"username": "ops@parallel.test", "password": "pw-ops"}],
        "objects": {"Ticket__c": {"label": "Ticket", "fields": [{"name": "Hours__c", "type": "double", "precision": 4, "scale": 0}]}},
    })
    assert org.username == "ops@parallel.test"
    # The OAuth password grant finds the org by the username.
    r = requests.post(f"{forcebus_server.url}/services/oauth2/token", data={
        "grant_type": "password", "client_id": org.client_id, "client_secret": org.client_secret,
        "username": org.username, "password": org.password + org.security_token}, timeout=30)
    token = r.json()["access_token"]
    assert token.startswith(org.org_id[:15]), token
    sf = client(forcebus_server, org)
    sf.session_id = token
    sf.Ticket__c.create({"Name": "T-1", "Hours__c": 2})
    assert sf.query("SELECT Hours__c FROM Ticket__c")["records"][0]["Hours__c"] == 2


def test_bulk_apis_work_in_a_made_org(forcebus_server, forcebus_org_factory):
    """simple-salesforce's Bulk API 1.0 (`sf.bulk`, its session in X-SFDC-Session) and 2.0
    (`sf.bulk2`) in an org made at run time: the rows land in that org only. Bulk 1.0
    reached the default org (401) until the dispatcher read X-SFDC-Session."""
    mine, other = forcebus_org_factory("bulk-mine"), forcebus_org_factory("bulk-other")
    sf = client(forcebus_server, mine)
    res = sf.bulk.Account.insert([{"Name": f"bulk1-{i}"} for i in range(3)])
    assert [r["success"] for r in res] == [True] * 3, res
    queried = sf.bulk.Account.query("SELECT Name FROM Account WHERE Name LIKE 'bulk1-%'")
    assert sorted(r["Name"] for r in queried) == ["bulk1-0", "bulk1-1", "bulk1-2"]
    done = sf.bulk2.Account.insert(records=[{"Name": "bulk2-0"}, {"Name": "bulk2-1"}])
    assert sum(int(j["numberRecordsProcessed"]) for j in done) == 2, done
    names = sorted(r["Name"] for r in sf.query_all("SELECT Name FROM Account")["records"])
    assert names == ["bulk1-0", "bulk1-1", "bulk1-2", "bulk2-0", "bulk2-1"]
    assert client(forcebus_server, other).query("SELECT Id FROM Account")["totalSize"] == 0

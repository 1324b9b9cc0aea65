"""Users and access through simple-salesforce, signed in as a restricted integration user.

The server is started with compat/fixtures/forcebus-access.toml and ``--project`` of
compat/fixtures/sfdx-access-project: ``sync@acme.test`` and ``other@acme.test`` have the
``Minimum Access - API Only Integrations`` profile and the project's ``Sync_Integration``
permission set (Account read/create/edit, ``Region__c`` read-only, ``Salary__c`` not at
all; the Private object ``Deal__c`` read/create/edit/delete); ``viewer@acme.test`` has
``Minimum Access - Salesforce`` (no API). Each client signs in with SOAP login (simple-
salesforce's username/password), as an integration does.

What the integration user meets: a hidden field missing from describe and refused by a
query as ``INVALID_FIELD`` (``SalesforceMalformedRequest``); a read-only field refused on
write; a record of the Private object owned by another user absent from queries, a 404
by id, ``INSUFFICIENT_ACCESS_OR_READONLY`` on update; a manual share through
``Deal__Share`` opening it; a Bulk API 2.0 upload reporting the refused rows; the
administrator seeing everything. Then the pytest plugin's ``create_user`` makes a user and
a permission set in one call and hands the test a token for them.
"""

from __future__ import annotations

import csv
import io

from pathlib import Path
from typing import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (SalesforceAuthenticationFailed, SalesforceError,
                                          SalesforceMalformedRequest, SalesforceResourceNotFound)

from harness import API_VERSION, COMPAT_DIR, LocalLoginSession, Server, start_server, uniq

FIXTURES = Path(COMPAT_DIR) / "fixtures"
PROJECT = FIXTURES / "sfdx-access-project"
CONFIG = FIXTURES / "forcebus-access.toml"
PREFIX = uniq("access")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("access", config=str(CONFIG), extra=["--project", str(PROJECT)])
    yield srv
    srv.stop()


def login(server: Server, username: str, password: str) -> Salesforce:
    return Salesforce(username=username, password=password, security_token="",
                      session=LocalLoginSession(server), version=API_VERSION)


@pytest.fixture(scope="module")
def admin(server: Server) -> Salesforce:
    return login(server, "admin@forcebus.local", "forcebus")


@pytest.fixture(scope="module")
def sync(server: Server) -> Salesforce:
    return login(server, "sync@acme.test", "sync-secret")


@pytest.fixture(scope="module")
def other(server: Server) -> Salesforce:
    return login(server, "other@acme.test", "other-secret")


def code_of(err: SalesforceError) -> str:
    return err.content[0]["errorCode"]


def test_a_hidden_field_is_missing_from_describe_and_refused_by_queries(admin, sync):
    admin.Account.create({"Name": f"{PREFIX}-acme", "Salary__c": 1000, "Region__c": "EU"})
    fields = {f["name"]: f for f in sync.Account.describe()["fields"]}
    assert "Salary__c" not in fields
    assert fields["Region__c"]["createable"] is False and fields["Region__c"]["updateable"] is False
    assert fields["Sync_Key__c"]["updateable"] is True
    admin_fields = {f["name"] for f in admin.Account.describe()["fields"]}
    assert {"Salary__c", "Region__c", "Phone"} <= admin_fields

    with pytest.raises(SalesforceMalformedRequest) as err:
        sync.query(f"SELECT Name, Salary__c FROM Account WHERE Name = '{PREFIX}-acme'")
    assert code_of(err.value) == "INVALID_FIELD"
    assert "No such column 'Salary__c' on entity 'Account'" in err.value.content[0]["message"]

    rows = sync.query(f"SELECT Name, Region__c FROM Account WHERE Name = '{PREFIX}-acme'")["records"]
    assert rows[0]["Region__c"] == "EU"
    record = sync.Account.get(rows[0]["attributes"]["url"].rsplit("/", 1)[1])
    assert "Salary__c" not in record and record["Region__c"] == "EU"
    assert admin.query(f"SELECT Salary__c FROM Account WHERE Name = '{PREFIX}-acme'")["records"][0]["Salary__c"] == 1000


def test_writes_the_field_security_forbids_are_refused(sync):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sync.Account.create({"Name": f"{PREFIX}-w", "Region__c": "US"})
    entry = err.value.content[0]
    assert entry["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert entry["message"].startswith("Unable to create/update fields: Region__c.")
    assert entry["fields"] == ["Region__c"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sync.Account.create({"Name": f"{PREFIX}-w", "Salary__c": 1})
    assert code_of(err.value) == "INVALID_FIELD"
    made = sync.Account.create({"Name": f"{PREFIX}-w", "Sync_Key__c": f"{PREFIX}-k"})
    assert made["success"]
    # No Delete on Account in the set.
    with pytest.raises(SalesforceMalformedRequest) as err:
        sync.Account.delete(made["id"])
    assert code_of(err.value) == "INSUFFICIENT_ACCESS_OR_READONLY"
    # No access to Contact at all: it does not exist to the user.
    with pytest.raises(SalesforceResourceNotFound):
        sync.Contact.create({"LastName": "X"})


def test_a_private_object_shows_each_user_only_their_own_records(admin, sync, other):
    mine = sync.Deal__c.create({"Name": f"{PREFIX}-mine", "Amount__c": 10})["id"]
    theirs = other.Deal__c.create({"Name": f"{PREFIX}-theirs", "Amount__c": 20})["id"]
    soql = f"SELECT Name FROM Deal__c WHERE Name LIKE '{PREFIX}-%' ORDER BY Name"
    assert [r["Name"] for r in sync.query(soql)["records"]] == [f"{PREFIX}-mine"]
    assert [r["Name"] for r in admin.query(soql)["records"]] == [f"{PREFIX}-mine", f"{PREFIX}-theirs"]
    with pytest.raises(SalesforceResourceNotFound):
        sync.Deal__c.get(theirs)
    with pytest.raises(SalesforceMalformedRequest) as err:
        sync.Deal__c.update(theirs, {"Amount__c": 21})
    assert code_of(err.value) == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert err.value.content[0]["message"] == "insufficient access rights on object id"

    # The owner shares it: read, then edit.
    sync_id = sync.query("SELECT Id FROM User WHERE Username = 'sync@acme.test'")["records"][0]["Id"]
    share = other.Deal__Share.create({"ParentId": theirs, "UserOrGroupId": sync_id, "AccessLevel": "Read"})
    assert [r["Name"] for r in sync.query(soql)["records"]] == [f"{PREFIX}-mine", f"{PREFIX}-theirs"]
    with pytest.raises(SalesforceMalformedRequest):
        sync.Deal__c.update(theirs, {"Amount__c": 21})
    other.Deal__Share.update(share["id"], {"AccessLevel": "Edit"})
    assert sync.Deal__c.update(theirs, {"Amount__c": 21}) == 204
    assert admin.Deal__c.get(theirs)["Amount__c"] == 21
    assert mine


def test_a_bulk_upload_reports_the_rows_refused_for_access(sync, other):
    own = [sync.Deal__c.create({"Name": f"{PREFIX}-b{i}"})["id"] for i in range(2)]
    foreign = other.Deal__c.create({"Name": f"{PREFIX}-foreign"})["id"]
    rows = [{"Id": i, "Amount__c": 5} for i in [*own, foreign]]
    [job] = sync.bulk2.Deal__c.update(records=rows, wait=0.1)
    assert job["numberRecordsProcessed"] == 3
    assert job["numberRecordsFailed"] == 1
    failed = list(csv.DictReader(io.StringIO(sync.bulk2.Deal__c.get_failed_records(job["job_id"]),
                                             newline="")))
    assert [(r["sf__Id"] or r["Id"])[:15] for r in failed] == [foreign[:15]], failed
    assert failed[0]["sf__Error"].startswith("INSUFFICIENT_ACCESS_OR_READONLY:"), failed


def test_a_user_without_api_access_cannot_sign_in_to_the_api(server):
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        login(server, "viewer@acme.test", "viewer-secret")
    assert "API_CURRENTLY_DISABLED" in str(err.value)


def test_the_plugin_makes_a_user_and_a_permission_set_in_one_call(forcebus_server, forcebus_org):
    made = forcebus_org.create_user(
        "reader@plugin.test",
        profile="Minimum Access - API Only Integrations",
        permission_set={"name": "Account_Reader",
                        "objects": {"Account": {"read": True}},
                        "fields": {"Account.Industry": {"read": True}}})
    assert made["username"] == "reader@plugin.test" and made["access_token"]
    session = requests.Session()
    session.verify = forcebus_server.ready["ca_cert"]
    session.trust_env = False
    admin = Salesforce(instance_url=forcebus_org.instance_url, session_id=forcebus_org.access_token,
                       session=session, version=forcebus_org.api_version)
    reader = Salesforce(instance_url=made["instance_url"], session_id=made["access_token"],
                        session=session, version=forcebus_org.api_version)
    admin.Account.create({"Name": "Plugin", "Industry": "Energy", "Phone": "555"})
    assert reader.query("SELECT Name, Industry FROM Account")["records"][0]["Industry"] == "Energy"
    with pytest.raises(SalesforceMalformedRequest):
        reader.query("SELECT Phone FROM Account")
    with pytest.raises(SalesforceMalformedRequest) as err:
        reader.Account.create({"Name": "No"})
    assert code_of(err.value) == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"

"""Record types and the picklist-value objects through simple-salesforce, as data tools use
them: look a record type's id up by object and developer name (CumulusCI's query), create
records with it and without it (the default), read describe's recordTypeInfos, make a new
record type through the API; the converted lead status from LeadStatus. Own server: its
record types change Account's schema, which the suite's other tests must not see."""

from __future__ import annotations

from typing import Iterator

import pytest
import requests

from harness import API_VERSION, Server, start_server, uniq

CONFIG = """
[[objects.Account.record_types]]
name = "Household"

[[objects.Account.record_types]]
name = "Organization"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    config = tmp_path_factory.mktemp("record-types") / "forcebus.toml"
    config.write_text(CONFIG)
    srv = start_server("record-types", str(config))
    yield srv
    srv.stop()


@pytest.fixture
def sf(server: Server):
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    return Salesforce(
        session_id=server.info["access_token"],
        instance_url=server.https_base,
        session=session,
        version=API_VERSION,
    )


def record_type_id(sf, sobject: str, developer_name: str) -> str:
    res = sf.query(
        f"SELECT Id FROM RecordType WHERE SObjectType='{sobject}' AND DeveloperName='{developer_name}'"
    )
    assert res["totalSize"] == 1, res
    return res["records"][0]["Id"]


def test_records_take_a_record_type_or_the_default(sf):
    household = record_type_id(sf, "Account", "Household")
    organization = record_type_id(sf, "Account", "Organization")
    assert household.startswith("012") and organization.startswith("012")

    infos = sf.Account.describe()["recordTypeInfos"]
    assert [(i["developerName"], i["defaultRecordTypeMapping"], i["master"]) for i in infos] == [
        ("Household", True, False),
        ("Organization", False, False),
        ("Master", False, True),
    ]
    assert any(f["name"] == "RecordTypeId" for f in sf.Account.describe()["fields"])

    plain = sf.Account.create({"Name": uniq("plain")})["id"]
    org = sf.Account.create({"Name": uniq("org"), "RecordTypeId": organization})["id"]
    assert sf.Account.get(plain)["RecordTypeId"] == household
    [row] = sf.query(f"SELECT RecordType.DeveloperName FROM Account WHERE Id = '{org}'")["records"]
    assert row["RecordType"]["DeveloperName"] == "Organization"

    from simple_salesforce.exceptions import SalesforceMalformedRequest

    contact_type = sf.RecordType.create(
        {"Name": "Vendor", "DeveloperName": "Vendor", "SobjectType": "Contact", "IsActive": True}
    )["id"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Account.create({"Name": uniq("wrong"), "RecordTypeId": contact_type})
    assert err.value.content[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    contact = sf.Contact.create({"LastName": "Supplier"})["id"]
    assert sf.Contact.get(contact)["RecordTypeId"] == contact_type


def test_bulk_rows_take_the_default_record_type(sf):
    household = record_type_id(sf, "Account", "Household")
    results = sf.bulk.Account.insert([{"Name": uniq("bulk")} for _ in range(3)])
    assert all(r["success"] for r in results), results
    ids = "','".join(r["id"] for r in results)
    rows = sf.query(f"SELECT RecordTypeId FROM Account WHERE Id IN ('{ids}')")["records"]
    assert [r["RecordTypeId"] for r in rows] == [household] * 3


def test_the_converted_lead_status_and_the_stages(sf):
    [status] = sf.query("SELECT ApiName, MasterLabel FROM LeadStatus WHERE IsConverted = true")["records"]
    assert status["ApiName"] == "Closed - Converted"
    won = sf.query("SELECT ApiName FROM OpportunityStage WHERE IsWon = true AND IsClosed = true")["records"]
    assert [s["ApiName"] for s in won] == ["Closed Won"]

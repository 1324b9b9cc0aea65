"""The org's rules through simple-salesforce, on a server started with ``--project`` of
compat/fixtures/sfdx-rules-project: formula fields on Account (``Health__c`` Text,
``Top_Account__c`` Checkbox, ``Renewal_Date__c`` Date), ``Contact.Account_Health__c``
crossing to the account, the auto number ``Project__c.Code__c`` and three validation
rules (``Account.Score_In_Range``, ``Opportunity.Amount_Positive``,
``Project__c.Budget_Required``).

Formula values through ``sf.<Object>.get`` and ``sf.query`` (WHERE and ORDER BY on a
formula field, the parent path ``Account.Health__c``, a child subquery). A refused write
raises ``SalesforceMalformedRequest`` (simple-salesforce's exception for a 400) whose
``content`` is Salesforce's error list: ``errorCode``, ``message`` and ``fields`` of the
rule. A Bulk API 2.0 upload (``sf.bulk2.Account.insert``) reports the rule in
``get_failed_records``' ``sf__Error``, and the test control turns the rules off and on.

Runs its own server: its schema is the fixture project's.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from harness import API_VERSION, COMPAT_DIR, Server, start_server, uniq

FIXTURE = Path(COMPAT_DIR) / "fixtures" / "sfdx-rules-project"
VALIDATION = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
SCORE_ERROR = {"message": "Score must be between 0 and 100.", "errorCode": VALIDATION, "fields": ["Score__c"]}
PREFIX = uniq("rules")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("rules", extra=["--project", str(FIXTURE)])
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sf(server: Server) -> Salesforce:
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    return Salesforce(session_id=server.info["access_token"], instance_url=server.https_base,
                      session=session, version=API_VERSION)


@pytest.fixture(scope="module")
def seeded(sf: Salesforce) -> dict[object, str]:
    """Accounts by score (None: no score), named ``{PREFIX}-{score}``."""
    ids = {}
    for score in (20, 55, 95, None):
        res = sf.Account.create({"Name": f"{PREFIX}-{score}", "Score__c": score})
        assert res["success"] is True, res
        ids[score] = res["id"]
    return ids


def control_rules(server: Server, on: bool) -> dict:
    res = requests.post(f"http://{server.instance}/forcebus/v1/control/rules",
                        headers={"Authorization": f"Bearer {server.info['admin_key']}"},
                        json={"validation_rules": on}, timeout=10)
    assert res.status_code == 200, res.text
    return res.json()


def names(records: list[dict]) -> list[str]:
    return [r["Name"] for r in records]


def test_describe_marks_formula_fields_calculated(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    for name, kind in (("Health__c", "string"), ("Top_Account__c", "boolean"), ("Renewal_Date__c", "date")):
        f = fields[name]
        assert (f["type"], f["calculated"], f["createable"], f["updateable"]) == (kind, True, False, False), f
    assert fields["Health__c"]["calculatedFormula"] == 'IF(Score__c >= 50, "Good", "Poor")'
    assert fields["Score__c"]["calculated"] is False


def test_get_computes_text_checkbox_and_date_formulas(sf: Salesforce, seeded: dict) -> None:
    expected = {20: ("Poor", False), 55: ("Good", False), 95: ("Good", True), None: ("Poor", False)}
    for score, (health, top) in expected.items():
        rec = sf.Account.get(seeded[score])
        assert (rec["Health__c"], rec["Top_Account__c"]) == (health, top), (score, rec)
        created = datetime.strptime(rec["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z").date()
        assert rec["Renewal_Date__c"] == (created + timedelta(days=365)).isoformat()
        assert date.fromisoformat(rec["Renewal_Date__c"]) > created


def test_query_filters_and_sorts_on_formula_fields(sf: Salesforce, seeded: dict) -> None:
    scope = f"Name LIKE '{PREFIX}-%'"
    good = sf.query(f"SELECT Name, Health__c FROM Account WHERE {scope} AND Health__c = 'Good' ORDER BY Name")
    assert [(r["Name"], r["Health__c"]) for r in good["records"]] == [(f"{PREFIX}-55", "Good"), (f"{PREFIX}-95", "Good")]
    top = sf.query(f"SELECT Name FROM Account WHERE {scope} AND Top_Account__c = true")
    assert names(top["records"]) == [f"{PREFIX}-95"]
    ordered = sf.query(f"SELECT Name FROM Account WHERE {scope} ORDER BY Health__c, Score__c DESC NULLS LAST")
    assert names(ordered["records"]) == [f"{PREFIX}-{s}" for s in (95, 55, 20, None)]


def test_cross_object_formula_and_parent_path(sf: Salesforce, seeded: dict) -> None:
    acct = seeded[95]
    contact = sf.Contact.create({"LastName": uniq("Health"), "AccountId": acct})["id"]
    rows = sf.query(f"SELECT Account_Health__c, Account.Health__c FROM Contact "
                    f"WHERE Account.Health__c = 'Good' AND Id = '{contact}'")["records"]
    assert len(rows) == 1, rows
    assert rows[0]["Account"]["Health__c"] == "Good"
    assert rows[0]["Account_Health__c"] == f"Good ({PREFIX}-95)"
    sf.Account.update(acct, {"Score__c": 5})
    try:
        assert sf.Contact.get(contact)["Account_Health__c"] == f"Poor ({PREFIX}-95)"
        parent = sf.query(f"SELECT (SELECT Account_Health__c FROM Contacts) FROM Account WHERE Id = '{acct}'")
        assert [r["Account_Health__c"] for r in parent["records"][0]["Contacts"]["records"]] == [f"Poor ({PREFIX}-95)"]
    finally:
        sf.Account.update(acct, {"Score__c": 95})


def test_writing_a_formula_field_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.create({"Name": uniq("w"), "Top_Account__c": True})
    assert info.value.status == 400
    assert [(e["errorCode"], e["fields"]) for e in info.value.content] == [("INVALID_FIELD_FOR_INSERT_UPDATE", ["Top_Account__c"])]


def test_validation_error_raises_malformed_request_with_code_and_message(sf: Salesforce, seeded: dict) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.create({"Name": uniq("bad"), "Score__c": 100.01})
    assert info.value.status == 400
    assert info.value.content == [SCORE_ERROR]
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in str(info.value)

    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.update(seeded[55], {"Score__c": -0.5})
    assert info.value.content == [SCORE_ERROR]
    assert sf.Account.get(seeded[55])["Score__c"] == 55, "a refused update changes nothing"


def test_rules_on_a_standard_object_and_without_a_display_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Opportunity.create({"Name": uniq("o"), "StageName": "Prospecting", "CloseDate": "2030-01-01", "Amount": -1})
    assert info.value.content == [{"message": "Amount cannot be negative.", "errorCode": VALIDATION, "fields": ["Amount"]}]
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Project__c.create({"Name": uniq("p"), "Budget__c": None})
    assert info.value.content == [{"message": "Every project needs a budget.", "errorCode": VALIDATION, "fields": []}]
    made = sf.Project__c.create({"Name": uniq("p"), "Budget__c": 5})
    assert sf.Project__c.get(made["id"])["Code__c"].startswith("P-0")


def test_bulk2_failed_records_carry_the_rule(sf: Salesforce) -> None:
    name = uniq("bulk")
    records = [{"Name": f"{name}-a", "Score__c": 10}, {"Name": f"{name}-b", "Score__c": 250}]
    [job] = sf.bulk2.Account.insert(records=records, wait=0.1)
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (2, 1), job
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(job["job_id"]), newline="")))
    assert [(r["Name"], r["sf__Error"]) for r in failed] == [
        (f"{name}-b", f"{VALIDATION}:Score must be between 0 and 100.:Score__c --")]


def test_rules_control_turns_them_off_and_on(server: Server, sf: Salesforce) -> None:
    name = uniq("load")
    assert control_rules(server, False)["rules"]["validation_rules"] is False
    try:
        assert sf.Account.create({"Name": name, "Score__c": 1000})["success"] is True
    finally:
        assert control_rules(server, True)["rules"]["validation_rules"] is True
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.create({"Name": f"{name}-again", "Score__c": 1000})
    assert info.value.content == [SCORE_ERROR]

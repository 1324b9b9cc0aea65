"""The composite family through simple-salesforce. It has no helper for
/composite, /composite/batch, /composite/tree or /composite/graph, so these
go through ``sf.restful(path, method='POST', json=...)``, which posts to
``{base_url}{path}`` and returns the parsed JSON body. Any status >= 300 raises
through ``exception_handler``: a 400 is ``SalesforceMalformedRequest`` with the
parsed body in ``.content``."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from harness import API_VERSION, uniq

BASE = f"/services/data/v{API_VERSION}"
ROLLED_BACK = "The transaction was rolled back since another operation in the same transaction failed."


def query_url(soql: str) -> str:
    """A SOQL query as a composite subrequest url: spaces as '+', ``@{...}`` left as is."""
    return f"{BASE}/query?q=" + soql.replace(" ", "+")


def codes(body) -> list[str]:
    return [e["errorCode"] for e in body]


def test_composite_resources(sf):
    assert sf.restful("composite") == {
        "tree": f"{BASE}/composite/tree",
        "batch": f"{BASE}/composite/batch",
        "sobjects": f"{BASE}/composite/sobjects",
        "graph": f"{BASE}/composite/graph",
    }


def test_composite_references(sf):
    name = uniq("composite")
    res = sf.restful("composite", method="POST", json={
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "refAccount",
             "body": {"Name": name}},
            {"method": "POST", "url": f"{BASE}/sobjects/Contact", "referenceId": "refContact",
             "body": {"LastName": "Hopper", "AccountId": "@{refAccount.id}"}},
            {"method": "GET", "referenceId": "refQuery",
             "url": query_url("SELECT Id, AccountId FROM Contact WHERE AccountId = '@{refAccount.id}'")},
            {"method": "GET", "referenceId": "refRead",
             "url": f"{BASE}/sobjects/Contact/@{{refQuery.records[0].Id}}?fields=LastName,AccountId"},
        ],
    })
    r = res["compositeResponse"]
    assert [(e["referenceId"], e["httpStatusCode"]) for e in r] == [
        ("refAccount", 201), ("refContact", 201), ("refQuery", 200), ("refRead", 200)], r
    account_id = r[0]["body"]["id"]
    contact_id = r[1]["body"]["id"]
    assert account_id.startswith("001") and contact_id.startswith("003")
    assert r[0]["httpHeaders"] == {"Location": f"{BASE}/sobjects/Account/{account_id}"}
    assert r[2]["body"]["totalSize"] == 1
    assert r[2]["body"]["records"][0]["Id"] == contact_id
    assert r[3]["body"]["LastName"] == "Hopper"
    assert r[3]["body"]["AccountId"] == account_id

    assert sf.Contact.get(contact_id)["AccountId"] == account_id
    assert sf.query(f"SELECT Name FROM Account WHERE Id = '{account_id}'")["records"][0]["Name"] == name


def test_composite_all_or_none_writes_nothing(sf):
    name = uniq("aon")
    res = sf.restful("composite", method="POST", json={
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "refAccount",
             "body": {"Name": name}},
            {"method": "POST", "url": f"{BASE}/sobjects/Contact", "referenceId": "refContact",
             "body": {"FirstName": name, "AccountId": "@{refAccount.id}"}},
        ],
    })
    r = res["compositeResponse"]
    assert [e["httpStatusCode"] for e in r] == [400, 400], r
    assert r[0]["body"] == [{"errorCode": "PROCESSING_HALTED", "message": ROLLED_BACK}]
    assert codes(r[1]["body"]) == ["REQUIRED_FIELD_MISSING"]
    assert r[1]["body"][0]["fields"] == ["LastName"]

    assert sf.query(f"SELECT Id FROM Account WHERE Name = '{name}'")["totalSize"] == 0
    assert sf.query(f"SELECT Id FROM Contact WHERE FirstName = '{name}'")["totalSize"] == 0


def test_composite_malformed_raises(sf):
    name = uniq("malformed")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite", method="POST", json={"compositeRequest": [
            {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "ok", "body": {"Name": name}},
            {"method": "GET", "url": f"{BASE}/sobjects/Account", "referenceId": "bad[1]"},
        ]})
    assert info.value.status == 400
    assert codes(info.value.content) == ["JSON_PARSER_ERROR"]
    assert sf.query(f"SELECT Id FROM Account WHERE Name = '{name}'")["totalSize"] == 0


def test_composite_batch(sf):
    name = uniq("batch")
    acc_id = sf.Account.create({"Name": name})["id"]
    v = f"v{API_VERSION}"
    requests_ = [
        {"method": "PATCH", "url": f"{v}/sobjects/Account/{acc_id}", "richInput": {"Phone": "555-0107"}},
        {"method": "GET", "url": f"{v}/sobjects/Account/{acc_id}?fields=Name,Phone"},
        {"method": "GET", "url": f"{v}/sobjects/Account/001000000000000AAA"},
        {"method": "GET", "url": f"{v}/limits"},
    ]
    res = sf.restful("composite/batch", method="POST",
                     json={"haltOnError": False, "batchRequests": requests_})
    assert res["hasErrors"] is True
    assert [x["statusCode"] for x in res["results"]] == [204, 200, 404, 200], res
    assert res["results"][0]["result"] is None
    assert res["results"][1]["result"]["Phone"] == "555-0107"
    assert codes(res["results"][2]["result"]) == ["NOT_FOUND"]
    assert "DailyApiRequests" in res["results"][3]["result"]

    halted = sf.restful("composite/batch", method="POST",
                        json={"haltOnError": True, "batchRequests": requests_})
    assert [x["statusCode"] for x in halted["results"]] == [204, 200, 404, 412], halted
    assert codes(halted["results"][3]["result"]) == ["BATCH_PROCESSING_HALTED"]
    assert sf.Account.get(acc_id)["Phone"] == "555-0107"


def test_composite_tree(sf):
    prefix = uniq("tree")
    res = sf.restful("composite/tree/Account", method="POST", json={"records": [
        {"attributes": {"type": "Account", "referenceId": "ref1"}, "Name": f"{prefix}-1",
         "Contacts": {"records": [
             {"attributes": {"type": "Contact", "referenceId": "ref2"}, "LastName": "Smith"},
             {"attributes": {"type": "Contact", "referenceId": "ref3"}, "LastName": "Jones"}]}},
        {"attributes": {"type": "Account", "referenceId": "ref4"}, "Name": f"{prefix}-2"},
    ]})
    assert res["hasErrors"] is False, res
    assert [x["referenceId"] for x in res["results"]] == ["ref1", "ref4", "ref2", "ref3"]
    ids = {x["referenceId"]: x["id"] for x in res["results"]}

    got = sf.query(
        "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY LastName) FROM Account "
        f"WHERE Name LIKE '{prefix}-%' ORDER BY Name")
    assert got["totalSize"] == 2
    first, second = got["records"]
    assert first["Id"] == ids["ref1"]
    assert [(c["Id"], c["LastName"]) for c in first["Contacts"]["records"]] == [
        (ids["ref3"], "Jones"), (ids["ref2"], "Smith")]
    assert second["Id"] == ids["ref4"]
    assert second["Contacts"] is None


def test_composite_tree_failure_raises_malformed_request(sf):
    name = uniq("tree-bad")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite/tree/Account", method="POST", json={"records": [
            {"attributes": {"type": "Account", "referenceId": "acc1"}, "Name": name,
             "Contacts": {"records": [
                 {"attributes": {"type": "Contact", "referenceId": "ok1"}, "LastName": name},
                 {"attributes": {"type": "Contact", "referenceId": "bad1"}, "Email": "bad1@example.com"}]}},
        ]})
    exc = info.value
    assert exc.status == 400
    assert exc.resource_name == "composite/tree/Account"
    # the tree failure body as is: only the failing record, with its errors
    body = exc.content
    assert body["hasErrors"] is True
    assert [r["referenceId"] for r in body["results"]] == ["bad1"], body
    [err] = body["results"][0]["errors"]
    assert err["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert err["fields"] == ["LastName"]

    assert sf.query(f"SELECT Id FROM Account WHERE Name = '{name}'")["totalSize"] == 0
    assert sf.query(f"SELECT Id FROM Contact WHERE LastName = '{name}'")["totalSize"] == 0


def test_composite_graph(sf):
    prefix = uniq("graph")
    res = sf.restful("composite/graph", method="POST", json={"graphs": [
        {"graphId": "g1", "compositeRequest": [
            {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "acc",
             "body": {"Name": f"{prefix}-kept"}},
            {"method": "POST", "url": f"{BASE}/sobjects/Contact", "referenceId": "con",
             "body": {"LastName": "Graph", "AccountId": "@{acc.id}"}}]},
        {"graphId": "g2", "compositeRequest": [
            {"method": "POST", "url": f"{BASE}/sobjects/Account", "referenceId": "acc2",
             "body": {"Name": f"{prefix}-rolled"}},
            {"method": "POST", "url": f"{BASE}/sobjects/Contact", "referenceId": "con2",
             "body": {"AccountId": "@{acc2.id}"}}]},
    ]})
    g1, g2 = res["graphs"]
    assert (g1["graphId"], g1["isSuccessful"], g2["graphId"], g2["isSuccessful"]) == ("g1", True, "g2", False)
    assert [e["httpStatusCode"] for e in g1["graphResponse"]["compositeResponse"]] == [201, 201]
    r2 = g2["graphResponse"]["compositeResponse"]
    assert codes(r2[0]["body"]) == ["PROCESSING_HALTED"]
    assert codes(r2[1]["body"]) == ["REQUIRED_FIELD_MISSING"]

    got = sf.query(f"SELECT Name, (SELECT LastName FROM Contacts) FROM Account WHERE Name LIKE '{prefix}-%'")
    assert [r["Name"] for r in got["records"]] == [f"{prefix}-kept"]
    assert [c["LastName"] for c in got["records"][0]["Contacts"]["records"]] == ["Graph"]

"""SOSL through simple-salesforce.

``sf.search(sosl)`` GETs ``{base}search/`` with ``q`` as a query parameter
(requests encodes spaces as ``+``) and returns the parsed body (``None`` only
for an empty one); ``sf.quick_search(term)`` sends ``FIND {term}``. There is no
helper for /parameterizedSearch: ``sf.restful('parameterizedSearch', params=...)``
(GET) and ``sf.restful(..., method='POST', json=...)``. A 400 raises
``SalesforceMalformedRequest`` with the error array in ``.content``.

The suite's server is shared with the other test files, so the words searched
for are made unique to this module (letters only: SOSL splits text at
letter/digit boundaries and punctuation) and hits are compared by id."""

from __future__ import annotations

import uuid

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from harness import API_VERSION, Server

BASE = f"/services/data/v{API_VERSION}"


def letters(n: int = 8) -> str:
    return "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:n])


TAG = letters()  # appears in every record this module makes
KESTREL = f"Kestrel{TAG}"
HERON = f"Heron{TAG}"


@pytest.fixture(scope="module")
def records(server: Server):
    """Accounts and Contacts to find; deleted afterwards. Returns {label: id}."""
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    sf = Salesforce(session_id=server.info["access_token"], instance_url=server.https_base,
                    session=session, version=API_VERSION)
    made = {}
    for label, obj, body in [
        ("kestrel_air", "Account", {"Name": f"{KESTREL} Air", "Phone": "(650) 555-0142"}),
        ("kestrel_rail", "Account", {"Name": f"{KESTREL} Rail", "Industry": "Transportation"}),
        ("heron", "Account", {"Name": f"{HERON} Holdings", "Description": f"partner of {KESTREL}"}),
        ("lin", "Contact", {"FirstName": "Lin", "LastName": f"{KESTREL}son",
                            "Email": f"lin.{TAG}@kestrelmail.example.com"}),
        ("mo", "Contact", {"FirstName": f"{HERON}", "LastName": "Mo", "Email": f"mo.{TAG}@example.org"}),
    ]:
        res = getattr(sf, obj).create(body)
        assert res["success"] is True, res
        made[label] = res["id"]
    yield made
    for label, rid in made.items():
        obj = "Contact" if label in ("lin", "mo") else "Account"
        getattr(sf, obj).delete(rid)


def ids(res) -> list[str]:
    return [r["Id"] for r in res["searchRecords"]]


def test_search_returning_fields(sf, records):
    res = sf.search(f"FIND {{{KESTREL}}} RETURNING Account(Id, Name ORDER BY Name), Contact(Id, Name)")
    assert list(res) == ["searchRecords"], res
    accounts = [r for r in res["searchRecords"] if r["attributes"]["type"] == "Account"]
    assert [(r["Id"], r["Name"]) for r in accounts] == [
        (records["heron"], f"{HERON} Holdings"),  # by its Description
        (records["kestrel_air"], f"{KESTREL} Air"),
        (records["kestrel_rail"], f"{KESTREL} Rail"),
    ]
    assert accounts[0]["attributes"] == {
        "type": "Account", "url": f"{BASE}/sobjects/Account/{records['heron']}"}
    assert all(set(r) == {"attributes", "Id", "Name"} for r in accounts), accounts
    assert not any(r["attributes"]["type"] == "Contact" for r in res["searchRecords"]), \
        f"{KESTREL}son is another word: {res}"


def test_search_wildcard_and_in_email_fields(sf, records):
    res = sf.search(f"FIND {{{KESTREL}*}} RETURNING Contact(Name, Email), Account(Id)")
    types = [r["attributes"]["type"] for r in res["searchRecords"]]
    assert types == ["Contact", "Account", "Account", "Account"], res
    assert res["searchRecords"][0] == {
        "attributes": {"type": "Contact", "url": f"{BASE}/sobjects/Contact/{records['lin']}"},
        "Name": f"Lin {KESTREL}son",
        "Email": f"lin.{TAG}@kestrelmail.example.com",
    }

    email = sf.search(f"FIND {{mo.{TAG}@example.org}} IN EMAIL FIELDS RETURNING Contact(Id, Email)")
    assert ids(email) == [records["mo"]]
    # the FirstName is no email field
    by_email = sf.search(f"FIND {{{HERON}}} IN EMAIL FIELDS RETURNING Account(Id), Contact(Id)")
    assert by_email == {"searchRecords": []}
    by_name = sf.search(f"FIND {{{HERON}}} IN NAME FIELDS RETURNING Account(Id), Contact(Id)")
    assert ids(by_name) == [records["heron"], records["mo"]]


def test_search_phone_where_limit_and_labels(sf, records):
    phone = sf.search("FIND {555-0142} IN PHONE FIELDS RETURNING Account(Id, Phone WHERE Name LIKE 'Kestrel%')")
    assert [(r["Id"], r["Phone"]) for r in phone["searchRecords"]] == [(records["kestrel_air"], "(650) 555-0142")]

    where = sf.search(f"FIND {{{KESTREL}}} RETURNING Account(Name WHERE Industry = 'Transportation')")
    assert [r["Name"] for r in where["searchRecords"]] == [f"{KESTREL} Rail"]

    limited = sf.search(f"FIND {{{KESTREL} OR {HERON}}} RETURNING Account(Id ORDER BY Name DESC LIMIT 2)")
    assert ids(limited) == [records["kestrel_rail"], records["kestrel_air"]]

    labels = sf.search(f"FIND {{{HERON}}} RETURNING Account(Name, Industry) WITH METADATA='LABELS'")
    assert labels["metadata"] == {"entityMetadata": [{
        "entityName": "Account",
        "fieldMetadata": [{"name": "Name", "label": "Account Name"}, {"name": "Industry", "label": "Industry"}],
    }]}


def test_quick_search(sf, records):
    res = sf.quick_search(HERON)
    hits = sorted((r["attributes"]["type"], r["Id"]) for r in res["searchRecords"])
    assert hits == sorted([("Account", records["heron"]), ("Contact", records["mo"])])
    assert all(set(r) == {"attributes", "Id"} for r in res["searchRecords"]), res
    assert sf.quick_search(f"Nothing{TAG}") == {"searchRecords": []}
    phrase = sf.quick_search(f'"{KESTREL} Rail"')
    assert [r["Id"] for r in phrase["searchRecords"]] == [records["kestrel_rail"]]


def test_search_at_api_35_is_a_list(server: Server, records):
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    old = Salesforce(session_id=server.info["access_token"], instance_url=server.https_base,
                     session=session, version="35.0")
    res = old.search(f"FIND {{{HERON}}} RETURNING Account(Id)")
    assert res == [{
        "attributes": {"type": "Account", "url": f"/services/data/v35.0/sobjects/Account/{records['heron']}"},
        "Id": records["heron"],
    }]


@pytest.mark.parametrize("sosl, code", [
    (f"FIND {KESTREL}", "MALFORMED_SEARCH"),
    ("FIND {k}", "INVALID_SEARCH"),
    ("FIND {Kestrel} RETURNING Nope__c(Id)", "INVALID_TYPE"),
    ("FIND {Kestrel} RETURNING Account(Bogus__c)", "INVALID_FIELD"),
    ("FIND {Kestrel} RETURNING Account(Id WHERE Name =)", "MALFORMED_QUERY"),
])
def test_search_errors(sf, sosl, code):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.search(sosl)
    assert err.value.status == 400
    assert err.value.content[0]["errorCode"] == code, err.value.content


def test_search_offset_needs_a_single_object(sf, records):
    """OFFSET "can be used only when querying a single object" (SOSL reference)."""
    one = sf.search(f"FIND {{{KESTREL}}} RETURNING Account(Id ORDER BY Name LIMIT 1 OFFSET 1)")
    assert ids(one) == [records["kestrel_air"]]
    with pytest.raises(SalesforceMalformedRequest):
        sf.search(f"FIND {{{KESTREL}}} RETURNING Account(Id ORDER BY Name OFFSET 1), Contact(Id)")


def test_parameterized_search_get(sf, records):
    res = sf.restful("parameterizedSearch", params={
        "q": KESTREL,
        "sobject": "Account",
        "Account.fields": "Id,Name,Phone",
        "Account.where": "Phone != null",
        "Account.limit": 5,
    })
    assert [(r["attributes"]["type"], r["Id"], r["Phone"]) for r in res["searchRecords"]] == [
        ("Account", records["kestrel_air"], "(650) 555-0142")]

    # several sobject parameters (requests repeats the key for a list)
    both = sf.restful("parameterizedSearch", params={
        "q": HERON, "sobject": ["Contact", "Account"], "fields": "Id", "in": "NAME"})
    assert [(r["attributes"]["type"], r["Id"]) for r in both["searchRecords"]] == [
        ("Contact", records["mo"]), ("Account", records["heron"])]


def test_parameterized_search_post(sf, records):
    res = sf.restful("parameterizedSearch", method="POST", json={
        "q": f"{KESTREL}*",
        "fields": ["Id"],
        "sobjects": [
            {"name": "Account", "fields": ["Id", "Name"], "orderBy": "Name", "limit": 2},
            {"name": "Contact", "fields": ["Email"]},
        ],
        "overallLimit": 10,
    })
    assert [(r["attributes"]["type"], r.get("Name") or r.get("Email")) for r in res["searchRecords"]] == [
        ("Account", f"{HERON} Holdings"),
        ("Account", f"{KESTREL} Air"),
        ("Contact", f"lin.{TAG}@kestrelmail.example.com"),
    ]


def test_parameterized_search_without_q(sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful("parameterizedSearch", params={"sobject": "Account"})
    assert err.value.content[0]["errorCode"] == "MISSING_ARGUMENT"

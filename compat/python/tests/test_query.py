"""SOQL through simple-salesforce: query / query_more / query_all(_iter),
include_deleted (queryAll), relationship shapes, format_soql, and how SOQL
errors map to its exceptions.

This module runs its own server (an empty org) so counts are exact: it seeds
5,000 Accounts ``Q-00001``..``Q-05000`` through ``/composite/sobjects``
(200 records a call, allOrNone), with ``NumberOfEmployees = i - 1`` (0..4999)
and ``Industry`` alternating Energy (even i) / Technology (odd i).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest
from simple_salesforce.format import format_soql

from harness import API_VERSION, Server, start_server

N = 5000
PAGE = 2000  # Salesforce's default query batch size
Q = "SELECT Id, Name FROM Account WHERE Name LIKE 'Q-%'"
QUERY_PATH = f"/services/data/v{API_VERSION}/query/"
LOCATOR_RE = re.compile(r"^[^/?#]+$")


def qname(i: int) -> str:
    return f"Q-{i:05d}"


def industry(i: int) -> str:
    return "Energy" if i % 2 == 0 else "Technology"


@pytest.fixture(scope="module")
def qserver() -> Iterator[Server]:
    srv = start_server("query")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def qsf(qserver: Server) -> Salesforce:
    session = requests.Session()
    session.verify = qserver.ca_cert
    session.trust_env = False
    return Salesforce(
        session_id=qserver.info["access_token"],
        instance_url=qserver.https_base,
        session=session,
        version=API_VERSION,
    )


def collections_create(sf: Salesforce, records: list[dict]) -> list[str]:
    """POST /composite/sobjects (allOrNone) through the client's own session."""
    assert len(records) <= 200
    res = sf.restful("composite/sobjects", method="POST",
                     json={"allOrNone": True, "records": records})
    assert isinstance(res, list) and len(res) == len(records), res
    bad = [r for r in res if not r.get("success")]
    assert not bad, bad[:3]
    return [r["id"] for r in res]


@pytest.fixture(scope="module")
def seeded(qsf: Salesforce) -> dict[str, str]:
    """name -> id of the 5,000 Q- Accounts."""
    ids: dict[str, str] = {}
    for start in range(1, N + 1, 200):
        batch = [
            {
                "attributes": {"type": "Account"},
                "Name": qname(i),
                "Industry": industry(i),
                "NumberOfEmployees": i - 1,
            }
            for i in range(start, min(start + 200, N + 1))
        ]
        for rec, acc_id in zip(batch, collections_create(qsf, batch)):
            ids[rec["Name"]] = acc_id
    assert len(ids) == N
    return ids


def error_codes(exc) -> list[str]:
    content = exc.content
    assert isinstance(content, list), f"error body must be a JSON array, got {content!r}"
    return [e["errorCode"] for e in content]


def names(records) -> list[str]:
    return [r["Name"] for r in records]


# --- paging ------------------------------------------------------------------------


def test_first_page(qsf, seeded):
    res = qsf.query(Q)
    assert res["totalSize"] == N, "totalSize is the full count, not the page size"
    assert res["done"] is False
    assert len(res["records"]) == PAGE
    url = res["nextRecordsUrl"]
    assert url.startswith(QUERY_PATH), f"nextRecordsUrl must be a /query/ path, got {url!r}"
    assert LOCATOR_RE.match(url[len(QUERY_PATH):]), f"locator must be one path segment: {url!r}"
    rec = res["records"][0]
    assert list(rec) == ["attributes", "Id", "Name"], "only the selected fields, in select order"
    assert rec["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v{API_VERSION}/sobjects/Account/{rec['Id']}",
    }
    assert seeded[rec["Name"]] == rec["Id"]


def test_query_more_follows_next_records_url(qsf, seeded):
    first = qsf.query(Q)
    second = qsf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["totalSize"] == N
    assert second["done"] is False
    assert len(second["records"]) == PAGE
    third = qsf.query_more(second["nextRecordsUrl"], identifier_is_url=True)
    assert third["done"] is True
    assert "nextRecordsUrl" not in third or third["nextRecordsUrl"] is None
    assert len(third["records"]) == N - 2 * PAGE
    ids = [r["Id"] for page in (first, second, third) for r in page["records"]]
    assert len(ids) == N and set(ids) == set(seeded.values()), "pages neither overlap nor skip"


def test_query_more_by_locator_under_query_and_query_all(qsf, seeded):
    """query_more(locator) GETs query/{locator}; with include_deleted=True it
    GETs queryAll/{locator}: both must resolve a cursor from /query."""
    first = qsf.query(Q)
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    via_query = qsf.query_more(locator)
    via_query_all = qsf.query_more(locator, include_deleted=True)
    assert len(via_query["records"]) == PAGE
    assert [r["Id"] for r in via_query["records"]] == [r["Id"] for r in via_query_all["records"]]
    assert not set(r["Id"] for r in first["records"]) & set(r["Id"] for r in via_query["records"])


def test_unknown_locator(qsf, seeded):
    with pytest.raises(SalesforceMalformedRequest) as info:
        qsf.query_more("01gNOSUCHCURSOR-2000")
    assert error_codes(info.value) == ["INVALID_QUERY_LOCATOR"]


def test_query_all(qsf, seeded):
    res = qsf.query_all(Q)
    assert res["totalSize"] == N
    assert len(res["records"]) == N
    got = names(res["records"])
    assert len(set(got)) == N, "all names distinct"
    assert set(got) == set(seeded)


def test_query_all_iter(qsf, seeded):
    it = qsf.query_all_iter(Q)
    count = 0
    seen = set()
    for rec in it:
        count += 1
        seen.add(rec["Id"])
    assert count == N
    assert seen == set(seeded.values())


def test_batch_size_header(qsf, seeded):
    hdr = {"Sforce-Query-Options": "batchSize=500"}
    first = qsf.query(Q, headers=hdr)
    assert first["totalSize"] == N
    assert len(first["records"]) == 500
    assert first["done"] is False
    assert len(list(qsf.query_all_iter(Q, headers=hdr))) == N


# --- filters, ordering, aggregates ---------------------------------------------------


def test_filter_number_of_employees(qsf, seeded):
    res = qsf.query_all("SELECT Id, Name, NumberOfEmployees FROM Account "
                        "WHERE Name LIKE 'Q-%' AND NumberOfEmployees < 100")
    assert res["totalSize"] == 100
    assert sorted(r["NumberOfEmployees"] for r in res["records"]) == list(range(100))
    first = qsf.query("SELECT Id FROM Account WHERE NumberOfEmployees < 100 AND Name LIKE 'Q-%'")
    assert first["totalSize"] == 100 and first["done"] is True


@pytest.mark.parametrize(("where", "expected"), [
    ("Name = 'Q-00042'", {42}),
    ("Name = 'q-00042'", {42}),  # text comparison is case-insensitive
    ("Name IN ('Q-00001', 'Q-00002', 'nope')", {1, 2}),
    ("Name LIKE 'Q-0000%' AND Name NOT IN ('Q-00001')", set(range(2, 10))),
    ("Name LIKE 'Q-0000%' AND NumberOfEmployees != 2", {1, 2, 4, 5, 6, 7, 8, 9}),
    ("Name LIKE 'Q-0000_' AND Industry = 'Energy'", {2, 4, 6, 8}),
    ("Name LIKE 'Q-0000%' AND NOT Industry = 'Energy'", {1, 3, 5, 7, 9}),
    ("Name LIKE 'Q-0000%' AND (Industry = 'Energy' OR NumberOfEmployees < 3)", {1, 2, 3, 4, 6, 8}),
    ("NumberOfEmployees > 4995 AND Name LIKE 'Q-%'", {4997, 4998, 4999, 5000}),
    ("NumberOfEmployees >= 4998 AND NumberOfEmployees <= 4998", {4999}),
])
def test_where(qsf, seeded, where, expected):
    res = qsf.query_all(f"SELECT Name FROM Account WHERE {where}")
    assert set(names(res["records"])) == {qname(i) for i in expected}


def test_keywords_and_names_are_case_insensitive(qsf, seeded):
    res = qsf.query("select id, name from account where name like 'q-0000%' order by name")
    assert res["totalSize"] == 9
    rec = res["records"][0]
    assert list(rec) == ["attributes", "Id", "Name"], "output uses canonical API names"
    assert rec["attributes"]["type"] == "Account"
    assert rec["Name"] == "Q-00001"


def test_order_by_limit_offset(qsf, seeded):
    res = qsf.query("SELECT Name FROM Account WHERE Name LIKE 'Q-%' ORDER BY Name DESC LIMIT 3")
    assert names(res["records"]) == [qname(5000), qname(4999), qname(4998)]
    assert res["totalSize"] == 3 and res["done"] is True
    res = qsf.query("SELECT Name FROM Account WHERE Name LIKE 'Q-%' "
                    "ORDER BY NumberOfEmployees ASC LIMIT 3 OFFSET 10")
    assert names(res["records"]) == [qname(11), qname(12), qname(13)]
    res = qsf.query("SELECT Name FROM Account WHERE Name LIKE 'Q-%' "
                    "ORDER BY Industry ASC, NumberOfEmployees DESC LIMIT 2")
    assert names(res["records"]) == [qname(5000), qname(4998)]


def test_count(qsf, seeded):
    res = qsf.query("SELECT COUNT() FROM Account WHERE Name LIKE 'Q-%'")
    assert res["totalSize"] == N
    assert res["done"] is True
    assert res["records"] == []


def test_aggregates_group_by(qsf, seeded):
    res = qsf.query("SELECT Industry, COUNT(Id) FROM Account WHERE Name LIKE 'Q-%' "
                    "GROUP BY Industry ORDER BY Industry")
    assert res["done"] is True
    rows = res["records"]
    assert len(rows) == 2
    for row in rows:
        assert row["attributes"]["type"] == "AggregateResult"
        assert "url" not in row["attributes"]
    assert [(r["Industry"], r["expr0"]) for r in rows] == [("Energy", 2500), ("Technology", 2500)]

    res = qsf.query("SELECT MAX(NumberOfEmployees) maxEmp, MIN(NumberOfEmployees), "
                    "SUM(NumberOfEmployees) FROM Account WHERE Name LIKE 'Q-%'")
    [row] = res["records"]
    assert row["maxEmp"] == 4999
    assert row["expr0"] == 0
    assert row["expr1"] == sum(range(N))


def test_date_literals(qsf, seeded):
    def count(cond: str) -> int:
        return qsf.query(f"SELECT COUNT() FROM Account WHERE Name LIKE 'Q-%' AND {cond}")["totalSize"]

    assert count("CreatedDate = TODAY") == N
    assert count("CreatedDate = LAST_N_DAYS:1") == N
    assert count("CreatedDate = LAST_N_DAYS:30") == N
    assert count("CreatedDate = YESTERDAY") == 0
    assert count("CreatedDate < TODAY") == 0
    assert count("CreatedDate > YESTERDAY") == N


# --- deleted rows ------------------------------------------------------------------


def test_include_deleted(qsf, seeded):
    ids = collections_create(qsf, [
        {"attributes": {"type": "Account"}, "Name": f"Del-{i}"} for i in range(6)
    ])
    deleted = set(ids[:3])
    for acc_id in deleted:
        assert qsf.Account.delete(acc_id) == 204

    soql = "SELECT Id, Name, IsDeleted FROM Account WHERE Name LIKE 'Del-%'"
    live = qsf.query(soql)
    assert live["totalSize"] == 3
    assert {r["Id"] for r in live["records"]} == set(ids[3:])
    assert all(r["IsDeleted"] is False for r in live["records"])

    everything = qsf.query(soql, include_deleted=True)
    assert everything["totalSize"] == 6
    by_id = {r["Id"]: r for r in everything["records"]}
    assert set(by_id) == set(ids)
    for acc_id in ids:
        assert by_id[acc_id]["IsDeleted"] is (acc_id in deleted), by_id[acc_id]

    only_deleted = qsf.query_all("SELECT Id FROM Account WHERE IsDeleted = true", include_deleted=True)
    assert {r["Id"] for r in only_deleted["records"]} == deleted


def test_query_all_include_deleted_pages(qsf, seeded):
    """queryAll over more than one page: its nextRecordsUrl is followed as given."""
    first = qsf.query(Q, include_deleted=True)
    assert first["totalSize"] == N and first["done"] is False
    assert LOCATOR_RE.match(first["nextRecordsUrl"].rsplit("/", 1)[1])
    res = qsf.query_all(Q, include_deleted=True)
    assert len(res["records"]) == N
    assert len(set(names(res["records"]))) == N


# --- relationships -----------------------------------------------------------------


def test_parent_path_and_child_subquery(qsf, seeded):
    acc_id = seeded[qname(7)]
    c1 = qsf.Contact.create({"LastName": "Curie", "AccountId": acc_id})["id"]
    c2 = qsf.Contact.create({"LastName": "Meitner", "AccountId": acc_id})["id"]
    orphan = qsf.Contact.create({"LastName": "Orphan-Q"})["id"]

    res = qsf.query(f"SELECT Id, LastName, Account.Name FROM Contact WHERE Id = '{c1}'")
    [rec] = res["records"]
    assert list(rec) == ["attributes", "Id", "LastName", "Account"]
    assert rec["attributes"]["type"] == "Contact"
    assert rec["LastName"] == "Curie"
    assert rec["Account"] == {
        "attributes": {"type": "Account",
                       "url": f"/services/data/v{API_VERSION}/sobjects/Account/{acc_id}"},
        "Name": qname(7),
    }

    res = qsf.query(f"SELECT Id, Account.Name FROM Contact WHERE Id = '{orphan}'")
    assert res["records"][0]["Account"] is None, "empty lookup → null"

    res = qsf.query(f"SELECT LastName FROM Contact WHERE Account.Name = '{qname(7)}' ORDER BY LastName")
    assert [r["LastName"] for r in res["records"]] == ["Curie", "Meitner"]

    res = qsf.query(f"SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) "
                    f"FROM Account WHERE Id = '{acc_id}'")
    [acc] = res["records"]
    assert list(acc) == ["attributes", "Name", "Contacts"]
    assert acc["Name"] == qname(7)
    kids = acc["Contacts"]
    assert kids["totalSize"] == 2
    assert kids["done"] is True
    assert [k["LastName"] for k in kids["records"]] == ["Curie", "Meitner"]
    assert {k["attributes"]["url"].rsplit("/", 1)[1] for k in kids["records"]} == {c1, c2}
    assert all(k["attributes"]["type"] == "Contact" for k in kids["records"])

    lonely = seeded[qname(8)]
    res = qsf.query(f"SELECT Name, (SELECT LastName FROM Contacts) FROM Account WHERE Id = '{lonely}'")
    assert res["records"][0]["Contacts"] is None, "no children → null"


# --- format_soql ---------------------------------------------------------------------


def test_format_soql_end_to_end(qsf, seeded):
    tricky = "O'Brien \"Quoted\" \\ Co"
    pct = "50% Off_Sale"
    made = collections_create(qsf, [
        {"attributes": {"type": "Account"}, "Name": tricky},
        {"attributes": {"type": "Account"}, "Name": pct},
        {"attributes": {"type": "Account"}, "Name": "500 Off Sale"},
    ])
    now = datetime.now(timezone.utc)

    soql = format_soql(
        "SELECT Id, Name FROM Account WHERE Name = {name} AND CreatedDate > {since} AND CreatedDate < {until}",
        name=tricky, since=now - timedelta(hours=1), until=now + timedelta(hours=1, microseconds=123456),
    )
    assert "+00:00" in soql  # simple-salesforce's datetime form
    res = qsf.query(soql)
    assert res["totalSize"] == 1
    assert res["records"][0]["Id"] == made[0]
    assert res["records"][0]["Name"] == tricky

    res = qsf.query(format_soql("SELECT Id FROM Account WHERE Name = {} AND CreatedDate > {}",
                                tricky, now + timedelta(hours=1)))
    assert res["totalSize"] == 0, "a datetime after creation matches nothing"

    # :like escapes % and _ so they match literally
    res = qsf.query(format_soql("SELECT Name FROM Account WHERE Name LIKE '{:like}%'", "50% Off_"))
    assert names(res["records"]) == [pct]

    res = qsf.query(format_soql("SELECT Name FROM Account WHERE Name IN {} ORDER BY Name",
                                [qname(3), tricky, "missing"]))
    assert names(res["records"]) == sorted([qname(3), tricky], key=str.lower)


# --- tooling -----------------------------------------------------------------------


def test_tooling_query(qsf, qserver):
    res = qsf.toolingexecute("query/", params={"q": "SELECT Id, Username FROM User"})
    assert isinstance(res, dict), res
    assert res["done"] is True
    users = {r["Username"]: r["Id"] for r in res["records"]}
    assert users.get(qserver.info["username"]) == qserver.info["user_id"]


# --- errors ----------------------------------------------------------------------------


def test_malformed_query(qsf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        qsf.query("SELECT Id FROM Account WHERE")
    assert info.value.status == 400
    assert error_codes(info.value) == ["MALFORMED_QUERY"]
    message = info.value.content[0]["message"]
    assert isinstance(message, str) and "ERROR at Row:1:Column:" in message, message


def test_unterminated_string_is_malformed(qsf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        qsf.query("SELECT Id FROM Account WHERE Name = 'x")
    assert error_codes(info.value) == ["MALFORMED_QUERY"]


def test_and_or_without_parentheses_is_malformed(qsf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        qsf.query("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'")
    assert error_codes(info.value) == ["MALFORMED_QUERY"]


def test_unknown_field(qsf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        qsf.query("SELECT Id, Bogus__c FROM Account")
    assert error_codes(info.value) == ["INVALID_FIELD"]
    assert "Bogus__c" in info.value.content[0]["message"]


def test_unknown_object(qsf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        qsf.query("SELECT Id FROM NoSuchThing__c")
    assert error_codes(info.value) == ["INVALID_TYPE"]


def test_query_all_error_maps_too(qsf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        qsf.query_all("SELEC Id FROM Account", include_deleted=True)
    assert error_codes(info.value) == ["MALFORMED_QUERY"]

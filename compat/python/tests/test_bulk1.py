"""Bulk API 1.0 through simple-salesforce's ``sf.bulk.<Object>`` (simple_salesforce/bulk.py).

What it does, and what these tests assert on: ``_create_job`` POSTs
``{"operation", "object", "concurrencyMode": 0|1, "contentType": "JSON"[,
"externalIdFieldName"]}`` to ``/services/async/{v}/job`` with the session in
``X-SFDC-Session``; the records are cut into batches of ``batch_size`` (or by
size with ``'auto'``), each POSTed as a JSON array to ``job/{id}/batch``; one
thread per batch polls ``job/{id}/batch/{id}`` until ``Completed``, ``Failed``
or ``NotProcessed`` (sleeping 5 s between polls) and reads
``batch/{id}/result`` (a JSON array: ``success``, ``created``, ``id``,
``errors``); the results are flattened in batch order and the job closed.
``include_detailed_results`` also reads ``batch/{id}/request`` and merges each
input record into its result. ``query`` / ``query_all`` make a
``query``/``queryAll`` job with the SOQL as the batch body, close it, poll the
batch, raise ``SalesforceGeneralError('', 'Failed', jobId, stateMessage)`` when
it failed, and read every result id of ``batch/{id}/result`` as a JSON array
of records (a generator of those arrays with ``lazy_operation=True``). Any
HTTP status >= 300 raises through ``exception_handler`` (400 ->
``SalesforceMalformedRequest`` with the parsed body in ``.content``).

This module runs its own server, so record counts are exact.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any, Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from harness import API_VERSION, Server, start_server, uniq

EXT = "External_Id__c"
ASYNC = f"/services/async/{API_VERSION}/"
REQUIRED_NAME = {
    "statusCode": "REQUIRED_FIELD_MISSING",
    "message": "Required fields are missing: [Name]",
    "fields": ["Name"],
}


class RecordingSession(requests.Session):
    """A session that remembers each Bulk API request: (method, path after
    ``/services/async/{v}/``, request body, parsed response body)."""

    def __init__(self, server: Server) -> None:
        super().__init__()
        self.verify = server.ca_cert
        self.trust_env = False
        self.calls: list[tuple[str, str, Any, Any]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        resp = super().request(method, url, *args, **kwargs)
        if ASYNC in url:
            try:
                body = resp.json()
            except ValueError:
                body = resp.text
            self.calls.append((method.upper(), url.split(ASYNC, 1)[1], kwargs.get("data"), body))
        return resp

    def bulk_calls(self, method: str, suffix: str) -> list[tuple[str, str, Any, Any]]:
        return [c for c in self.calls if c[0] == method and c[1].endswith(suffix)]


@pytest.fixture(scope="module")
def bserver() -> Iterator[Server]:
    srv = start_server("bulk1")
    yield srv
    srv.stop()


@pytest.fixture
def rec_session(bserver: Server) -> RecordingSession:
    return RecordingSession(bserver)


@pytest.fixture
def bsf(bserver: Server, rec_session: RecordingSession) -> Salesforce:
    return Salesforce(
        session_id=bserver.info["access_token"],
        instance_url=bserver.https_base,
        session=rec_session,
        version=API_VERSION,
    )


def accounts(prefix: str, n: int, **extra) -> list[dict]:
    return [{"Name": f"{prefix} #{i + 1:03d}", **extra} for i in range(n)]


def named(sf: Salesforce, prefix: str, fields: str = "Id, Name", include_deleted: bool = False) -> list[dict]:
    res = sf.query_all(f"SELECT {fields} FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name",
                       include_deleted=include_deleted)
    return res["records"]


def assert_ok(ret: dict, created: bool) -> None:
    assert ret["success"] is True, ret
    assert ret["created"] is created, ret
    assert ret["errors"] == [], ret
    assert isinstance(ret["id"], str) and len(ret["id"]) == 18, ret


# --- insert ------------------------------------------------------------------------


def test_insert_results_in_input_order_with_a_failing_record(bsf, rec_session):
    prefix = uniq("ssf-bulk-ins")
    data = accounts(prefix, 3, NumberOfEmployees=7)
    data.insert(1, {"NumberOfEmployees": 1})  # no Name
    res = bsf.bulk.Account.insert(data)

    assert isinstance(res, list) and len(res) == 4, res
    assert res[1] == {"success": False, "created": False, "id": None, "errors": [REQUIRED_NAME]}
    for r in (res[0], res[2], res[3]):
        assert_ok(r, True)
        assert r["id"].startswith("001")
    by_id = {r["Id"]: r for r in named(bsf, prefix, "Id, Name, NumberOfEmployees")}
    assert [by_id[r["id"]]["Name"] for r in (res[0], res[2], res[3])] == [
        f"{prefix} #001", f"{prefix} #002", f"{prefix} #003"]
    assert all(r["NumberOfEmployees"] == 7 for r in by_id.values())

    # what simple-salesforce sent and got: a JSON job, one batch, the job closed
    (job,) = rec_session.bulk_calls("POST", "job")
    assert json.loads(job[2]) == {"operation": "insert", "object": "Account",
                                  "concurrencyMode": 0, "contentType": "JSON"}
    assert job[3]["id"].startswith("750")
    assert job[3]["state"] == "Open"
    assert job[3]["concurrencyMode"] == "Parallel"
    assert job[3]["contentType"] == "JSON"
    assert job[3]["apiVersion"] == float(API_VERSION)
    (batch,) = rec_session.bulk_calls("POST", "/batch")
    assert batch[3]["id"].startswith("751") and batch[3]["jobId"] == job[3]["id"]
    (close,) = rec_session.bulk_calls("POST", f"job/{job[3]['id']}")
    assert json.loads(close[2]) == {"state": "Closed"}
    assert close[3]["state"] == "Closed"
    assert close[3]["numberBatchesTotal"] == 1
    assert close[3]["numberRecordsProcessed"] == 4
    assert close[3]["numberRecordsFailed"] == 1


def test_insert_batch_size_splits_into_several_batches(bsf, rec_session):
    prefix = uniq("ssf-bulk-split")
    res = bsf.bulk.Account.insert(accounts(prefix, 25), batch_size=10)
    assert len(res) == 25
    for r in res:
        assert_ok(r, True)
    batches = rec_session.bulk_calls("POST", "/batch")
    assert [len(json.loads(b[2])) for b in batches] == [10, 10, 5]
    assert len({b[3]["jobId"] for b in batches}) == 1
    # results flattened in batch order = input order
    by_id = {r["Id"]: r["Name"] for r in named(bsf, prefix)}
    assert [by_id[r["id"]] for r in res] == [f"{prefix} #{i:03d}" for i in range(1, 26)]
    (close,) = rec_session.bulk_calls("POST", f"job/{batches[0][3]['jobId']}")
    assert close[3]["numberBatchesTotal"] == 3
    assert close[3]["numberBatchesCompleted"] == 3
    assert close[3]["numberRecordsProcessed"] == 25


def test_insert_more_than_one_chunk_of_200(bsf):
    prefix = uniq("ssf-bulk-450")
    res = bsf.bulk.Account.insert(accounts(prefix, 450))
    assert len(res) == 450
    for r in res:
        assert_ok(r, True)
    assert len(named(bsf, prefix)) == 450


def test_insert_batch_size_auto(bsf, rec_session):
    prefix = uniq("ssf-bulk-auto")
    res = bsf.bulk.Account.insert(accounts(prefix, 30), batch_size="auto")
    assert len(res) == 30
    for r in res:
        assert_ok(r, True)
    assert len(rec_session.bulk_calls("POST", "/batch")) == 1


def test_use_serial_sends_concurrency_mode_1(bsf, rec_session):
    prefix = uniq("ssf-bulk-serial")
    res = bsf.bulk.Account.insert(accounts(prefix, 4), batch_size=2, use_serial=True)
    assert [r["success"] for r in res] == [True] * 4
    (job,) = rec_session.bulk_calls("POST", "job")
    assert json.loads(job[2])["concurrencyMode"] == 1
    assert job[3]["concurrencyMode"] == "Serial"


def test_insert_parent_by_external_id_dates_and_booleans(bsf):
    ext = uniq("ssf-bulk-parent")
    acc = bsf.Account.create({"Name": ext, EXT: ext})
    res = bsf.bulk.Contact.insert([
        {"LastName": "One", "Account": {EXT: ext}, "Birthdate": "1990-05-17", "DoNotCall": True},
        {"LastName": "Two", "Account": {EXT: f"{ext}-missing"}},
    ])
    assert len(res) == 2
    assert res[0]["success"] is True and res[0]["id"].startswith("003"), res
    assert res[1]["success"] is False and res[1]["id"] is None, res
    assert res[1]["errors"] and res[1]["errors"][0]["statusCode"], res
    contact = bsf.Contact.get(res[0]["id"])
    assert contact["AccountId"] == acc["id"]
    assert contact["Birthdate"] == "1990-05-17"
    assert contact["DoNotCall"] is True


def test_include_detailed_results_merges_the_request(bsf, rec_session):
    ext = uniq("ssf-bulk-detail")
    bsf.Account.create({"Name": ext, EXT: ext})
    res = bsf.bulk.Contact.insert(
        [{"LastName": "Detailed", "Account": {EXT: ext}}, {"FirstName": "No last name"}],
        include_detailed_results=True)
    assert len(res) == 2
    assert res[0]["success"] is True
    assert res[0]["LastName"] == "Detailed"
    assert res[0][f"Account.{EXT}"] == ext
    assert res[1]["success"] is False
    assert res[1]["FirstName"] == "No last name"
    assert res[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    # the uploaded batch came back as it was sent
    (req,) = [c for c in rec_session.calls if c[0] == "GET" and c[1].endswith("/request")]
    assert req[3] == [{"LastName": "Detailed", "Account": {EXT: ext}}, {"FirstName": "No last name"}]


def test_bypass_results_returns_the_job_id_without_waiting(bsf):
    prefix = uniq("ssf-bulk-bypass")
    res = bsf.bulk.Account.insert(accounts(prefix, 5), bypass_results=True)
    assert res[0] == {"bypass_results": True}
    assert res[1]["job_id"].startswith("750")
    deadline = time.monotonic() + 15
    while len(named(bsf, prefix)) < 5:
        assert time.monotonic() < deadline, "the records of a bypassed job never appeared"
        time.sleep(0.2)


def test_submit_dml(bsf):
    prefix = uniq("ssf-bulk-dml")
    res = bsf.bulk.submit_dml("Account", "insert", accounts(prefix, 3))
    assert [r["success"] for r in res] == [True] * 3
    assert len(named(bsf, prefix)) == 3


# --- update / upsert / delete / hard_delete ---------------------------------------------


def test_update_values_null_and_a_deleted_record(bsf):
    prefix = uniq("ssf-bulk-upd")
    ins = bsf.bulk.Account.insert(accounts(prefix, 12, Description="before", BillingState="CA"))
    gone = bsf.Account.create({"Name": f"{prefix} gone"})["id"]
    bsf.Account.delete(gone)
    data = [{"Id": r["id"], "Name": f"{prefix} #{i + 1:03d} (Updated)", "BillingState": None}
            for i, r in enumerate(ins)]
    data.append({"Id": gone, "Name": "never"})
    res = bsf.bulk.Account.update(data, batch_size=5)
    assert len(res) == 13
    for r, sent in zip(res[:12], data):
        assert_ok(r, False)
        assert r["id"] == sent["Id"]
    assert res[12]["success"] is False and res[12]["created"] is False, res[12]
    assert [e["statusCode"] for e in res[12]["errors"]] == ["ENTITY_IS_DELETED"], res[12]

    rows = named(bsf, prefix, "Name, Description, BillingState")
    assert len(rows) == 12
    for row in rows:
        assert row["Name"].endswith("(Updated)")
        assert row["Description"] == "before"
        assert row["BillingState"] is None


def test_upsert_by_external_id(bsf):
    prefix = uniq("ssf-bulk-ups")
    first = bsf.bulk.Account.upsert(
        [{EXT: f"{prefix}-{i}", "Name": f"{prefix} #{i}"} for i in (1, 2, 3)], EXT)
    for r in first:
        assert_ok(r, True)
    res = bsf.bulk.Account.upsert([
        {EXT: f"{prefix}-1", "Name": f"{prefix} #1 upserted"},
        {EXT: f"{prefix}-4", "Name": f"{prefix} #4 new"},
        {EXT: f"{prefix}-3", "Name": f"{prefix} #3 upserted"},
    ], EXT, batch_size=2)
    assert len(res) == 3
    assert_ok(res[0], False)
    assert res[0]["id"] == first[0]["id"]
    assert_ok(res[1], True)
    assert_ok(res[2], False)
    assert res[2]["id"] == first[2]["id"]
    rows = named(bsf, prefix, f"Name, {EXT}")
    assert [(r["Name"], r[EXT]) for r in rows] == [
        (f"{prefix} #1 upserted", f"{prefix}-1"),
        (f"{prefix} #2", f"{prefix}-2"),
        (f"{prefix} #3 upserted", f"{prefix}-3"),
        (f"{prefix} #4 new", f"{prefix}-4"),
    ]


def test_upsert_without_external_id_field_is_refused(bsf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        bsf.bulk.Account.upsert([{"Name": "x"}], None)
    assert exc.value.status == 400
    assert exc.value.content == {
        "exceptionCode": "InvalidJob",
        "exceptionMessage": "External ID was blank for Account. An External ID must be specified for upsert.",
    }


def test_delete_then_query_all_sees_them(bsf):
    prefix = uniq("ssf-bulk-del")
    ins = bsf.bulk.Account.insert(accounts(prefix, 15))
    res = bsf.bulk.Account.delete([{"Id": r["id"]} for r in ins], batch_size=7)
    assert [r["id"] for r in res] == [r["id"] for r in ins]
    for r in res:
        assert_ok(r, False)
    assert named(bsf, prefix) == []
    deleted = named(bsf, prefix, "Id, IsDeleted", include_deleted=True)
    assert len(deleted) == 15 and all(r["IsDeleted"] is True for r in deleted)

    again = bsf.bulk.Account.delete([{"Id": ins[0]["id"]}])
    assert again[0]["success"] is False
    assert [e["statusCode"] for e in again[0]["errors"]] == ["ENTITY_IS_DELETED"], again


def test_hard_delete_skips_the_recycle_bin(bsf):
    prefix = uniq("ssf-bulk-hard")
    ins = bsf.bulk.Account.insert(accounts(prefix, 8))
    res = bsf.bulk.Account.hard_delete([{"Id": r["id"]} for r in ins])
    assert [r["id"] for r in res] == [r["id"] for r in ins]
    for r in res:
        assert_ok(r, False)
    assert named(bsf, prefix, include_deleted=True) == []


# --- query / query_all -------------------------------------------------------------------


@pytest.fixture(scope="module")
def qprefix(bserver: Server) -> str:
    """250 Accounts ``{prefix} #001``..``#250`` (NumberOfEmployees = i), the first 5 deleted."""
    session = RecordingSession(bserver)
    sf = Salesforce(session_id=bserver.info["access_token"], instance_url=bserver.https_base,
                    session=session, version=API_VERSION)
    prefix = uniq("ssf-bulk-q")
    ins = sf.bulk.Account.insert([{"Name": f"{prefix} #{i:03d}", "NumberOfEmployees": i}
                                  for i in range(1, 251)])
    assert all(r["success"] for r in ins)
    sf.bulk.Account.delete([{"Id": r["id"]} for r in ins[:5]])
    return prefix


def test_query_returns_records_with_attributes(bsf, qprefix, rec_session):
    soql = f"SELECT Id, Name, NumberOfEmployees, Owner.Name FROM Account WHERE Name LIKE '{qprefix}%'"
    recs = bsf.bulk.Account.query(soql, wait=1)
    assert isinstance(recs, list)
    assert len(recs) == 245
    recs.sort(key=lambda r: r["Name"])
    assert recs[0]["Name"] == f"{qprefix} #006"
    assert recs[0]["NumberOfEmployees"] == 6
    assert recs[0]["attributes"] == {
        "type": "Account", "url": f"/services/data/v{API_VERSION}/sobjects/Account/{recs[0]['Id']}"}
    assert recs[0]["Owner"]["Name"] == "Admin User"

    (job,) = rec_session.bulk_calls("POST", "job")
    assert json.loads(job[2])["operation"] == "query"
    (batch,) = rec_session.bulk_calls("POST", "/batch")
    assert batch[2] == soql  # the SOQL as the body, sent as application/json
    (result_list,) = [c for c in rec_session.calls if c[0] == "GET" and c[1].endswith("/result")]
    assert isinstance(result_list[3], list) and len(result_list[3]) == 1
    assert result_list[3][0].startswith("752")


def test_query_lazy_operation_yields_one_list_per_result_file(bsf, qprefix):
    gen = bsf.bulk.Account.query(f"SELECT Id FROM Account WHERE Name LIKE '{qprefix}%'",
                                 lazy_operation=True, wait=1)
    assert not isinstance(gen, list)
    chunks = list(gen)
    assert len(chunks) >= 1 and all(isinstance(c, list) for c in chunks)
    assert sum(len(c) for c in chunks) == 245


def test_query_all_includes_deleted_records(bsf, qprefix):
    recs = bsf.bulk.Account.query_all(
        f"SELECT Id, Name, IsDeleted FROM Account WHERE Name LIKE '{qprefix}%'", wait=1)
    assert len(recs) == 250
    deleted = sorted(r["Name"] for r in recs if r["IsDeleted"] is True)
    assert deleted == [f"{qprefix} #{i:03d}" for i in range(1, 6)]


def test_query_matching_nothing(bsf, qprefix):
    assert bsf.bulk.Account.query(f"SELECT Id FROM Account WHERE Name = '{qprefix}-none'", wait=1) == []


def test_query_error_raises_general_error_with_the_state_message(bsf):
    with pytest.raises(SalesforceGeneralError) as exc:
        bsf.bulk.Account.query("SELECT Id, NoSuchField__c FROM Account", wait=1)
    assert exc.value.status == "Failed"
    assert exc.value.resource_name.startswith("750")
    assert "NoSuchField__c" in exc.value.content


def test_query_count_is_not_supported(bsf, qprefix):
    """Bulk API query refuses aggregate functions such as COUNT(): the batch fails."""
    with pytest.raises(SalesforceGeneralError) as exc:
        bsf.bulk.Account.query(f"SELECT COUNT() FROM Account WHERE Name LIKE '{qprefix}%'", wait=1)
    assert exc.value.status == "Failed"


def test_query_datetimes_are_epoch_milliseconds(bsf, qprefix):
    """Bulk API 1.0 JSON query results carry date-times as milliseconds since the epoch
    (simple-salesforce issue #290: ``'CreatedDate': 1546659665000``), unlike REST."""
    recs = bsf.bulk.Account.query(
        f"SELECT Id, CreatedDate FROM Account WHERE Name = '{qprefix} #250'", wait=1)
    assert len(recs) == 1
    created = recs[0]["CreatedDate"]
    assert isinstance(created, int), f"CreatedDate is {created!r}"
    rest = bsf.query(f"SELECT CreatedDate FROM Account WHERE Id = '{recs[0]['Id']}'")["records"][0]
    # REST: 2024-05-02T08:55:27.000+0000
    assert created == round(datetime.strptime(rest["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


# --- session ---------------------------------------------------------------------------


def test_invalid_session_is_a_400_invalid_session_id(bserver):
    session = requests.Session()
    session.verify = bserver.ca_cert
    session.trust_env = False
    sf = Salesforce(session_id="invalid_token", instance_url=bserver.https_base,
                    session=session, version=API_VERSION)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.bulk.Account.insert([{"Name": "Impossible"}])
    assert exc.value.status == 400
    assert exc.value.content == {"exceptionCode": "InvalidSessionId", "exceptionMessage": "Invalid session id"}

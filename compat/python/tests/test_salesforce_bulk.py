"""Bulk API 1.0 through salesforce-bulk (``SalesforceBulk``, the data loader library of
many Python ETL jobs), as its users write it: a session id and the instance URL, jobs
made with an XML ``jobInfo``, CSV batches, batch results read as CSV, query results
streamed per result id.

What the library does, and what these tests assert on: ``create_job`` POSTs a
``jobInfo`` document (operation, object, ``contentType``, ``concurrencyMode``,
``externalIdFieldName``) to ``/services/async/{v}/job`` and reads the job id from the
XML answer; ``post_batch`` POSTs the CSV as ``text/csv``; ``batch_status`` and
``job_status`` parse every child of the ``batchInfo`` / ``jobInfo`` answer into a dict
of strings; ``get_batch_results`` reads ``batch/{id}/result`` as CSV (``Id``,
``Success``, ``Created``, ``Error``); ``query`` POSTs the SOQL as the batch,
``get_query_batch_result_ids`` reads the ``result-list`` XML and
``get_query_batch_results`` streams each result as CSV; ``close_job`` and ``abort_job``
POST a ``jobInfo`` with the new state. A status of 400 or more raises ``BulkApiError``
with the status code, its message holding the whole XML error (``exceptionCode``,
``exceptionMessage``). Every call goes through
``requests``' module functions, so TLS is trusted through ``REQUESTS_CA_BUNDLE`` (what
``forcebus env`` exports).

This module runs its own server, so record counts are exact.
"""

from __future__ import annotations

import csv
import io
from typing import Iterator

import pytest
from salesforce_bulk import BulkApiError, CsvDictsAdapter, SalesforceBulk
from salesforce_bulk.util import IteratorBytesIO

from harness import API_VERSION, Server, start_server, uniq

EXT = "External_Id__c"


@pytest.fixture(scope="module")
def bserver() -> Iterator[Server]:
    srv = start_server("salesforce-bulk")
    yield srv
    srv.stop()


@pytest.fixture
def bulk(bserver: Server, monkeypatch: pytest.MonkeyPatch) -> SalesforceBulk:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bserver.ca_cert)
    return SalesforceBulk(
        sessionId=bserver.info["access_token"], host=bserver.https_base, API_version=API_VERSION
    )


def run_batch(bulk: SalesforceBulk, job: str, rows: list[dict[str, str]]) -> list:
    """Posts `rows` as one CSV batch, waits for it, closes the job: its results."""
    batch = bulk.post_batch(job, CsvDictsAdapter(iter(rows)))
    bulk.wait_for_batch(job, batch, timeout=60, sleep_interval=0.2)
    bulk.close_job(job)
    return bulk.get_batch_results(batch, job)


def query_rows(bulk: SalesforceBulk, soql: str) -> list[dict[str, str]]:
    """Runs `soql` as a CSV query job: every row of every result."""
    job = bulk.create_query_job("Account", contentType="CSV")
    batch = bulk.query(job, soql)
    bulk.close_job(job)
    bulk.wait_for_batch(job, batch, timeout=60, sleep_interval=0.2)
    rows = []
    for result in bulk.get_all_results_for_query_batch(batch, job):
        text = io.TextIOWrapper(IteratorBytesIO(result), encoding="utf-8")
        rows.extend(csv.DictReader(text))
    return rows


def test_insert_csv_batch_results_and_statuses(bulk):
    prefix = uniq("sfbulk-ins")
    rows = [
        {"Name": f"{prefix} #{i}", "Description": f'a "quote", a comma\nand a line {i}'}
        for i in range(3)
    ]
    rows.insert(1, {"Name": "", "Description": "no name"})
    job = bulk.create_insert_job("Account", contentType="CSV")
    results = run_batch(bulk, job, rows)

    assert [(r.success, r.created) for r in results] == [
        ("true", "true"), ("false", "false"), ("true", "true"), ("true", "true")
    ]
    assert all(r.id.startswith("001") and len(r.id) == 18 for r in results if r.success == "true")
    failed = results[1]
    assert failed.id == ""
    assert failed.error == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"

    status = bulk.job_status(job)
    assert status["state"] == "Closed"
    assert status["operation"] == "insert"
    assert status["object"] == "Account"
    assert status["contentType"] == "CSV"
    assert status["numberBatchesCompleted"] == "1"
    assert status["numberRecordsProcessed"] == "4"
    assert status["numberRecordsFailed"] == "1"
    batch = bulk.get_batch_list(job)[0]
    assert batch["state"] == "Completed"
    assert batch["numberRecordsProcessed"] == "4"

    got = query_rows(bulk, f"SELECT Id, Name, Description FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name")
    assert [(r["Id"], r["Name"], r["Description"]) for r in got] == [
        (results[i].id, rows[i]["Name"], rows[i]["Description"]) for i in (0, 2, 3)
    ]


def test_upsert_on_an_external_id_then_update_and_delete(bulk):
    prefix = uniq("sfbulk-ups")
    job = bulk.create_upsert_job("Account", EXT, contentType="CSV")
    first = run_batch(bulk, job, [{EXT: f"{prefix}-{i}", "Name": f"{prefix} #{i}"} for i in (1, 2)])
    assert [(r.success, r.created) for r in first] == [("true", "true"), ("true", "true")]

    job = bulk.create_upsert_job("Account", EXT, contentType="CSV")
    again = run_batch(bulk, job, [
        {EXT: f"{prefix}-2", "Name": f"{prefix} #2 upserted"},
        {EXT: f"{prefix}-3", "Name": f"{prefix} #3"},
    ])
    assert [(r.success, r.created) for r in again] == [("true", "false"), ("true", "true")]
    assert again[0].id == first[1].id

    job = bulk.create_update_job("Account", contentType="CSV")
    updated = run_batch(bulk, job, [{"Id": first[0].id, "Name": f"{prefix} #1 updated"}])
    assert [(r.id, r.success, r.created) for r in updated] == [(first[0].id, "true", "false")]

    job = bulk.create_delete_job("Account", contentType="CSV")
    deleted = run_batch(bulk, job, [{"Id": again[1].id}])
    assert [(r.id, r.success) for r in deleted] == [(again[1].id, "true")]

    got = query_rows(bulk, f"SELECT Name, {EXT} FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name")
    assert [(r["Name"], r[EXT]) for r in got] == [
        (f"{prefix} #1 updated", f"{prefix}-1"),
        (f"{prefix} #2 upserted", f"{prefix}-2"),
    ]


def test_an_unknown_object_is_a_bulk_api_error(bulk):
    with pytest.raises(BulkApiError) as exc:
        bulk.create_insert_job("No_Such_Object__c", contentType="CSV")
    assert exc.value.status_code == 400
    assert "<exceptionCode>InvalidJob</exceptionCode>" in str(exc.value)
    assert "No_Such_Object__c" in str(exc.value)


def test_an_aborted_job_takes_no_more_batches(bulk):
    job = bulk.create_insert_job("Account", contentType="CSV")
    bulk.abort_job(job)
    assert bulk.job_status(job)["state"] == "Aborted"
    with pytest.raises(BulkApiError) as exc:
        bulk.post_batch(job, CsvDictsAdapter(iter([{"Name": uniq("sfbulk-late")}])))
    assert exc.value.status_code == 400
    assert "<exceptionCode>InvalidJobState</exceptionCode>" in str(exc.value)

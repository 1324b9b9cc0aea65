"""Bulk API 2.0 through simple-salesforce's ``sf.bulk2.<Object>`` (simple_salesforce/bulk2.py).

What it calls. ``insert`` / ``upsert`` / ``update`` / ``delete`` / ``hard_delete`` (a CSV
file or a list of dicts, which it writes as CSV in the given ``column_delimiter`` /
``line_ending``): it splits the data into parts of ``batch_size`` rows (one part when
unset), and for each part POSTs ``{base}/jobs/ingest`` (``object``, ``operation``,
``columnDelimiter``, ``lineEnding``, ``contentType: CSV``, ``externalIdFieldName``), PUTs
the CSV to ``.../jobs/ingest/{id}/batches`` (anything but 201 raises), PATCHes
``{"state": "UploadComplete"}``, sleeps ``wait`` seconds and GETs the job until a
terminal state (``Aborted`` / ``Failed`` raise ``SalesforceOperationError`` with the
job's ``errorMessage``), then returns one dict per job: ``numberRecordsFailed``,
``numberRecordsProcessed`` (``int()`` of the job's), ``numberRecordsTotal`` (its own row
count), ``job_id``. ``concurrency`` runs parts in threads. ``get_successful_records`` /
``get_failed_records`` / ``get_unprocessed_records`` GET ``successfulResults`` /
``failedResults`` / ``unprocessedRecords`` and return the CSV text as served;
``get_all_ingest_records`` parses the three (as comma-separated). ``query`` /
``query_all`` POST ``{base}/jobs/query`` (with ``Accept: text/csv``; the answer is
JSON), poll, then GET ``.../results?maxRecords=N[&locator=L]`` until ``Sforce-Locator``
is ``null``, yielding each page's CSV text; ``download`` writes each page to a file.
``int(headers["Sforce-NumberOfRecords"])`` is read on every page.

``wait`` (seconds before the first status check, default 5) is 0.1 here. The module runs
its own server so row counts are exact.
"""

from __future__ import annotations

import csv
import io
import os
from typing import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceBulkV2LoadError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
)

from simple_salesforce.bulk2 import Operation

from harness import API_VERSION, Server, start_server, uniq

WAIT = 0.1
N = 3000  # rows the query tests page through
P = "B2Q"  # their Name prefix


@pytest.fixture(scope="module")
def bserver() -> Iterator[Server]:
    srv = start_server("bulk2")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def bsf(bserver: Server) -> Salesforce:
    session = requests.Session()
    session.verify = bserver.ca_cert
    session.trust_env = False
    return Salesforce(
        session_id=bserver.info["access_token"],
        instance_url=bserver.https_base,
        session=session,
        version=API_VERSION,
    )


def rows_of(text: str, delimiter: str = ",", lineterminator: str = "\n") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter,
                               lineterminator=lineterminator))


def write(tmp_path, name: str, text: str, newline: str = "\n") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline=newline)
    return str(path)


def soql(sf: Salesforce, q: str, include_deleted: bool = False) -> list[dict]:
    return sf.query_all(q, include_deleted=include_deleted)["records"]


def one_job(res: list[dict]) -> dict:
    assert isinstance(res, list) and len(res) == 1, res
    assert res[0]["job_id"].startswith("750") and len(res[0]["job_id"]) == 18, res
    return res[0]


def test_insert_csv_file_with_a_failing_row(bsf, tmp_path):
    p = uniq("b2ins")
    path = write(tmp_path, "accounts.csv", f"Name,Phone\n{p}-a,555-0101\n,555-0102\n{p}-c,555-0103\n")
    job = one_job(bsf.bulk2.Account.insert(csv_file=path, wait=WAIT))
    assert {k: v for k, v in job.items() if k != "job_id"} == {
        "numberRecordsFailed": 1, "numberRecordsProcessed": 3, "numberRecordsTotal": 3}
    jid = job["job_id"]

    ok = bsf.bulk2.Account.get_successful_records(jid)
    ids = [r["sf__Id"] for r in rows_of(ok)]
    assert len(ids) == 2 and all(i.startswith("001") and len(i) == 18 for i in ids), ok
    assert ok == ('"sf__Id","sf__Created",Name,Phone\n'
                  f'"{ids[0]}","true","{p}-a","555-0101"\n'
                  f'"{ids[1]}","true","{p}-c","555-0103"\n')
    assert bsf.bulk2.Account.get_failed_records(jid) == (
        '"sf__Id","sf__Error",Name,Phone\n'
        '"","REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --","","555-0102"\n')
    assert bsf.bulk2.Account.get_unprocessed_records(jid) == "Name,Phone\n"

    everything = bsf.bulk2.Account.get_all_ingest_records(jid)
    assert everything == {
        "successfulRecords": [
            {"sf__Id": ids[0], "sf__Created": "true", "Name": f"{p}-a", "Phone": "555-0101"},
            {"sf__Id": ids[1], "sf__Created": "true", "Name": f"{p}-c", "Phone": "555-0103"},
        ],
        "failedRecords": [{
            "sf__Id": "", "sf__Error": "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            "Name": "", "Phone": "555-0102"}],
        "unprocessedRecords": [],
    }
    written = soql(bsf, f"SELECT Id, Name, Phone FROM Account WHERE Name LIKE '{p}-%' ORDER BY Name")
    assert [(r["Id"], r["Name"], r["Phone"]) for r in written] == [
        (ids[0], f"{p}-a", "555-0101"), (ids[1], f"{p}-c", "555-0103")]


def test_insert_records_in_several_jobs_on_threads(bsf):
    p = uniq("b2thr")
    records = [{"Name": f"{p}-{i}", "NumberOfEmployees": str(i)} for i in range(5)]
    res = bsf.bulk2.Account.insert(records=records, batch_size=2, concurrency=2, wait=WAIT)
    assert [(r["numberRecordsTotal"], r["numberRecordsProcessed"], r["numberRecordsFailed"]) for r in res] == [
        (2, 2, 0), (2, 2, 0), (1, 1, 0)]
    assert len({r["job_id"] for r in res}) == 3, "one job per part"
    written = soql(bsf, f"SELECT Name, NumberOfEmployees FROM Account WHERE Name LIKE '{p}-%' ORDER BY Name")
    assert [(r["Name"], r["NumberOfEmployees"]) for r in written] == [(f"{p}-{i}", i) for i in range(5)]


def test_upsert_by_external_id(bsf, tmp_path):
    p = uniq("b2up")
    first = one_job(bsf.bulk2.Account.upsert(
        csv_file=write(tmp_path, "up1.csv", f"External_Id__c,Name\n{p}-x1,{p}-one\n{p}-x2,{p}-two\n"),
        external_id_field="External_Id__c", wait=WAIT))
    assert (first["numberRecordsProcessed"], first["numberRecordsFailed"]) == (2, 0)
    made = rows_of(bsf.bulk2.Account.get_successful_records(first["job_id"]))
    assert [(r["sf__Created"], r["External_Id__c"]) for r in made] == [("true", f"{p}-x1"), ("true", f"{p}-x2")]

    second = one_job(bsf.bulk2.Account.upsert(
        records=[{"External_Id__c": f"{p}-x1", "Name": f"{p}-one-renamed"},
                 {"External_Id__c": f"{p}-x3", "Name": f"{p}-three"}],
        external_id_field="External_Id__c", wait=WAIT))
    assert (second["numberRecordsProcessed"], second["numberRecordsFailed"]) == (2, 0)
    res = {r["External_Id__c"]: r for r in rows_of(bsf.bulk2.Account.get_successful_records(second["job_id"]))}
    assert (res[f"{p}-x1"]["sf__Id"], res[f"{p}-x1"]["sf__Created"]) == (made[0]["sf__Id"], "false")
    assert res[f"{p}-x3"]["sf__Created"] == "true"

    written = soql(bsf, f"SELECT Id, Name, External_Id__c FROM Account WHERE External_Id__c LIKE '{p}-%' "
                        "ORDER BY External_Id__c")
    assert [(r["Id"], r["Name"]) for r in written] == [
        (made[0]["sf__Id"], f"{p}-one-renamed"), (made[1]["sf__Id"], f"{p}-two"),
        (res[f"{p}-x3"]["sf__Id"], f"{p}-three")]


def test_update_sets_and_nulls_fields(bsf, tmp_path):
    p = uniq("b2upd")
    ins = one_job(bsf.bulk2.Account.insert(
        records=[{"Name": f"{p}-a", "Phone": "555-0111", "Industry": "Energy"},
                 {"Name": f"{p}-b", "Phone": "555-0112", "Industry": "Energy"}], wait=WAIT))
    a, b = [r["sf__Id"] for r in rows_of(bsf.bulk2.Account.get_successful_records(ins["job_id"]))]
    # empty leaves a field as it is, #N/A sets it null
    path = write(tmp_path, "upd.csv", f"Id,Phone,Industry\n{a},555-0999,#N/A\n{b},,Banking\n")
    job = one_job(bsf.bulk2.Account.update(csv_file=path, wait=WAIT))
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (2, 0)
    assert [(r["sf__Id"], r["sf__Created"]) for r in rows_of(bsf.bulk2.Account.get_successful_records(job["job_id"]))] == [
        (a, "false"), (b, "false")]
    written = soql(bsf, f"SELECT Id, Phone, Industry FROM Account WHERE Name LIKE '{p}-%' ORDER BY Name")
    assert [(r["Id"], r["Phone"], r["Industry"]) for r in written] == [
        (a, "555-0999", None), (b, "555-0112", "Banking")]


def test_delete_and_hard_delete(bsf, tmp_path):
    p = uniq("b2del")
    ins = one_job(bsf.bulk2.Account.insert(records=[{"Name": f"{p}-{k}"} for k in ("soft", "hard", "kept")],
                                           wait=WAIT))
    by_name = {r["Name"]: r["sf__Id"] for r in rows_of(bsf.bulk2.Account.get_successful_records(ins["job_id"]))}
    soft, hard, kept = by_name[f"{p}-soft"], by_name[f"{p}-hard"], by_name[f"{p}-kept"]

    job = one_job(bsf.bulk2.Account.delete(csv_file=write(tmp_path, "del.csv", f"Id\n{soft}\n"), wait=WAIT))
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (1, 0)
    assert bsf.bulk2.Account.get_successful_records(job["job_id"]) == f'"sf__Id","sf__Created",Id\n"{soft}","false","{soft}"\n'
    job = one_job(bsf.bulk2.Account.hard_delete(records=[{"Id": hard}], wait=WAIT))
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (1, 0)

    assert [r["Id"] for r in soql(bsf, f"SELECT Id FROM Account WHERE Name LIKE '{p}-%'")] == [kept]
    every = soql(bsf, f"SELECT Id, IsDeleted FROM Account WHERE Name LIKE '{p}-%' ORDER BY Name", include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in every] == [(kept, False), (soft, True)]

    # deleting the deleted one again: a failed row, with the id
    job = one_job(bsf.bulk2.Account.delete(records=[{"Id": soft}], wait=WAIT))
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (1, 1)
    failed = rows_of(bsf.bulk2.Account.get_failed_records(job["job_id"]))
    assert [r["sf__Id"] for r in failed] == [soft]
    assert failed[0]["sf__Error"].startswith("ENTITY_IS_DELETED:"), failed

    # simple-salesforce itself refuses a delete file with more than an Id column
    with pytest.raises(SalesforceBulkV2LoadError):
        bsf.bulk2.Account.delete(records=[{"Id": kept, "Name": "x"}], wait=WAIT)


@pytest.mark.parametrize(("delimiter", "char", "line_ending", "eol"), [
    ("PIPE", "|", "CRLF", "\r\n"),
    ("TAB", "\t", "LF", "\n"),
    ("SEMICOLON", ";", "CRLF", "\r\n"),
    ("CARET", "^", "LF", "\n"),
    ("BACKQUOTE", "`", "LF", "\n"),
])
def test_delimiters_and_line_endings(bsf, delimiter, char, line_ending, eol):
    p = uniq(f"b2{delimiter.lower()}")
    name = f"{p} with {char} and \"quotes\""
    job = one_job(bsf.bulk2.Account.insert(
        records=[{"Name": name, "Description": "two\r\nlines"}, {"Name": f"{p}-plain", "Description": "x"}],
        column_delimiter=delimiter, line_ending=line_ending, wait=WAIT))
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (2, 0)
    text = bsf.bulk2.Account.get_successful_records(job["job_id"])
    assert text.startswith(f'"sf__Id"{char}"sf__Created"{char}'), repr(text)
    assert text.endswith(eol) and text.count(eol) >= 3, repr(text)
    got = rows_of(text, delimiter=char, lineterminator=eol)
    assert sorted((r["Name"], r["Description"]) for r in got) == sorted(
        [(name, "two\r\nlines"), (f"{p}-plain", "x")])

    pages = list(bsf.bulk2.Account.query(
        f"SELECT Name, Description FROM Account WHERE Name LIKE '{p}%' ORDER BY Name",
        column_delimiter=delimiter, line_ending=line_ending, wait=WAIT))
    assert len(pages) == 1
    assert pages[0].startswith(f'"Name"{char}"Description"{eol}'), repr(pages[0])
    assert [(r["Name"], r["Description"]) for r in rows_of(pages[0], delimiter=char, lineterminator=eol)] == sorted(
        [(name, "two\r\nlines"), (f"{p}-plain", "x")])


@pytest.fixture(scope="module")
def seeded(bsf, tmp_path_factory) -> list[str]:
    """The ids of N Accounts B2Q-00001.. seeded by one insert job, in Name order."""
    path = tmp_path_factory.mktemp("seed") / "seed.csv"
    path.write_text("Name,NumberOfEmployees\n" + "".join(f"{P}-{i:05d},{i}\n" for i in range(1, N + 1)))
    job = one_job(bsf.bulk2.Account.insert(csv_file=str(path), wait=WAIT))
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (N, 0)
    return [r["sf__Id"] for r in rows_of(bsf.bulk2.Account.get_successful_records(job["job_id"]))]


QUERY = f"SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '{P}-%' ORDER BY Name"


def test_query_pages_with_max_records(bsf, seeded):
    pages = list(bsf.bulk2.Account.query(QUERY, max_records=1000, wait=WAIT))
    assert len(pages) == 3
    rows = []
    for page in pages:
        assert page.startswith('"Id","Name","NumberOfEmployees"\n'), "every page starts with the header"
        got = rows_of(page)
        assert len(got) == 1000
        rows.extend(got)
    assert [r["Id"] for r in rows] == seeded
    assert rows[0] == {"Id": seeded[0], "Name": f"{P}-00001", "NumberOfEmployees": "1"}
    assert rows[-1] == {"Id": seeded[-1], "Name": f"{P}-{N:05d}", "NumberOfEmployees": str(N)}

    # the default page (simple-salesforce asks for 50,000) holds them all
    (page,) = list(bsf.bulk2.Account.query(QUERY, wait=WAIT))
    assert [r["Id"] for r in rows_of(page)] == seeded


def test_query_results_headers(bsf, seeded):
    """The paging calls simple-salesforce's get_query_results makes, with what it reads back."""
    client = bsf.bulk2.Account._client
    job = client.create_job(Operation.query, QUERY)
    client.wait_for_job(job["id"], True, WAIT)
    first = client.get_query_results(job["id"], "", 1200)
    second = client.get_query_results(job["id"], first["locator"], 1200)
    third = client.get_query_results(job["id"], second["locator"], 1200)
    assert [p["number_of_records"] for p in (first, second, third)] == [1200, 1200, 600]
    assert first["locator"] and second["locator"] and first["locator"] != second["locator"]
    assert third["locator"] == "", 'the last page\'s Sforce-Locator is "null"'
    # a locator may be replayed
    again = client.get_query_results(job["id"], first["locator"], 1200)
    assert again["records"] == second["records"]


def test_download_writes_each_page_to_a_file(bsf, seeded, tmp_path):
    results = bsf.bulk2.Account.download(QUERY, path=str(tmp_path), max_records=1000, wait=WAIT)
    assert [r["number_of_records"] for r in results] == [1000, 1000, 1000]
    assert results[-1]["locator"] == ""
    ids = []
    for r in results:
        assert os.path.dirname(r["file"]) == str(tmp_path)
        with open(r["file"], encoding="utf-8", newline="") as fh:
            ids.extend(row["Id"] for row in csv.DictReader(fh))
    assert ids == seeded


def test_query_all_includes_deleted(bsf, seeded):
    """Deletes two of the seeded rows: after the other tests that read them."""
    gone = seeded[:2]
    job = one_job(bsf.bulk2.Account.delete(records=[{"Id": i} for i in gone], wait=WAIT))
    assert job["numberRecordsFailed"] == 0
    q = f"SELECT Id, IsDeleted FROM Account WHERE Name LIKE '{P}-%' ORDER BY Name"
    live = [r for page in bsf.bulk2.Account.query(q, wait=WAIT) for r in rows_of(page)]
    assert len(live) == N - 2 and {r["IsDeleted"] for r in live} == {"false"}
    every = [r for page in bsf.bulk2.Account.query_all(q, max_records=2000, wait=WAIT) for r in rows_of(page)]
    assert len(every) == N
    assert [(r["Id"], r["IsDeleted"]) for r in every[:3]] == [(gone[0], "true"), (gone[1], "true"), (seeded[2], "false")]


def test_unknown_object_raises_malformed_request(bsf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        bsf.bulk2.No_Such_Thing__c.insert(records=[{"Name": "x"}], wait=WAIT)
    assert info.value.status == 400
    assert [e["errorCode"] for e in info.value.content] == ["INVALIDJOB"]
    assert "No_Such_Thing__c" in info.value.content[0]["message"]


def test_unknown_column_fails_the_job(bsf):
    p = uniq("b2badcol")
    with pytest.raises(SalesforceOperationError) as info:
        bsf.bulk2.Account.insert(records=[{"Name": p, "Not_A_Field__c": "1"}], wait=WAIT)
    assert str(info.value).startswith("Job failure. Response content: ")
    assert "Not_A_Field__c" in str(info.value)
    assert soql(bsf, f"SELECT Id FROM Account WHERE Name = '{p}'") == []


def test_bad_query_raises_malformed_request(bsf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        list(bsf.bulk2.Account.query("SELECT Id FROM No_Such_Thing__c", wait=WAIT))
    assert info.value.status == 400
    assert "No_Such_Thing__c" in info.value.content[0]["message"]
    with pytest.raises(SalesforceMalformedRequest):
        list(bsf.bulk2.Account.query("SELECT COUNT() FROM Account", wait=WAIT))

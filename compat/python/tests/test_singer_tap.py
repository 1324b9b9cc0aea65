"""The Singer tap ``tap-salesforce`` 2.8.1 (singer-io), run as its users run it:
``--discover`` for a catalog, then a sync with the Account stream selected,
reading its stdout's Singer messages.

What the tap does, and what these tests rely on: it logs in with the OAuth
refresh-token grant (``refresh_token``, ``client_id``, ``client_secret`` from
its config) at ``https://login.salesforce.com`` — a host it has no setting for,
so ``singer_tap_runner.py`` sends only that request to the server — and uses
the ``instance_url`` of the answer for everything else, at API 61.0. Discovery
describes every object. With ``api_type: BULK`` a sync reads ``/limits``, then
makes a Bulk API 1.0 ``queryAll`` job with ``contentType: CSV`` from a JSON
request (``Content-Type: application/json``, answer read as JSON), posts the
SOQL as a ``text/csv`` batch (answer parsed as XML), closes the job (JSON),
then GETs the batch info and the result list with ``Content-Type:
application/json`` and parses both answers as XML (Salesforce answers batch
resources in the job's format, XML for a CSV job, whatever the request says),
and reads each result as CSV; it leaves compound address fields out of a Bulk
query. With ``api_type: REST`` it pages ``/queryAll`` instead. Values become
the catalog's JSON schema types (CSV empty strings → null).

The tap pins ``requests==2.33.0`` where ``requirements.txt`` has 2.34.2, so it
gets a venv of its own, ``compat/.work/venv-tap-salesforce``, installed here
from ``tap-salesforce-requirements.txt`` (redone when that file or the Python
version changes, as ``compat/run`` does for its venvs).

This module runs its own server, so record counts are exact.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from harness import API_VERSION, COMPAT_DIR, Server, start_server, uniq

REQUIREMENTS = COMPAT_DIR / "python" / "tap-salesforce-requirements.txt"
VENV = COMPAT_DIR / ".work" / "venv-tap-salesforce"
STAMP = COMPAT_DIR / ".work" / "venv-tap-salesforce.stamp"
RUNNER = Path(__file__).resolve().parent / "singer_tap_runner.py"
TAP_API = "61.0"  # tap_salesforce.salesforce.rest.API_VERSION
ADDRESSES = {"BillingAddress", "ShippingAddress"}  # compound fields: REST only
CALLBACK = "http://localhost:1717/cb"


@pytest.fixture(scope="module")
def tap_python() -> str:
    """The tap's venv, made (or remade) when its requirements changed."""
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest() + "-" + sys.version.split()[0]
    python = VENV / "bin" / "python"
    if not (python.exists() and STAMP.exists() and STAMP.read_text() == want):
        STAMP.unlink(missing_ok=True)
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(REQUIREMENTS)], check=True)
        STAMP.write_text(want)
    return str(python)


@pytest.fixture(scope="module")
def tserver() -> Iterator[Server]:
    srv = start_server("singer-tap")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def rest(tserver: Server) -> requests.Session:
    s = requests.Session()
    s.verify = tserver.ca_cert
    s.trust_env = False
    s.headers["Authorization"] = f"Bearer {tserver.info['access_token']}"
    return s


def refresh_token(server: Server) -> str:
    """A refresh token from the web-server flow, as a user gets one for the
    tap's config: the sign-in form posted, the code exchanged."""
    s = requests.Session()
    s.verify = server.ca_cert
    s.trust_env = False
    info = server.info
    page = s.get(f"{server.https_base}/services/oauth2/authorize", params={
        "response_type": "code", "client_id": info["client_id"], "redirect_uri": CALLBACK,
        "scope": "api refresh_token", "state": "tap"})
    assert page.status_code == 200, page.text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    form.update(username=info["username"], pw=info["password"])
    signed_in = s.post(f"{server.https_base}/services/oauth2/authorize", data=form, allow_redirects=False)
    assert signed_in.status_code == 302, signed_in.text
    code = parse_qs(urlparse(signed_in.headers["location"]).query)["code"][0]
    token = s.post(f"{server.https_base}/services/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": info["client_id"],
        "client_secret": info["client_secret"], "redirect_uri": CALLBACK})
    assert token.status_code == 200, token.text
    return token.json()["refresh_token"]


class Tap:
    """tap-salesforce with one config (``api_type``) in a directory of its own."""

    def __init__(self, python: str, server: Server, api_type: str, workdir: Path) -> None:
        self.python = python
        self.server = server
        self.dir = workdir
        self.dir.mkdir()
        self.config = self.dir / "config.json"
        self.config.write_text(json.dumps({
            "refresh_token": refresh_token(server),
            "client_id": server.info["client_id"],
            "client_secret": server.info["client_secret"],
            "start_date": "2000-01-01T00:00:00Z",
            "api_type": api_type,
            "select_fields_by_default": True,
        }))
        self.stderr = ""

    def run(self, *args: str) -> str:
        proc = subprocess.run(
            [self.python, str(RUNNER), "--config", str(self.config), *args],
            capture_output=True, text=True, timeout=300,
            env={**os.environ, "FORCEBUS_TAP_BASE": self.server.https_base,
                 "FORCEBUS_TAP_CA": self.server.ca_cert})
        self.stderr = proc.stderr
        assert proc.returncode == 0, f"tap exited {proc.returncode}:\n{proc.stderr[-4000:]}"
        return proc.stdout

    def discover(self) -> dict:
        return json.loads(self.run("--discover"))

    def sync(self, catalog: dict, state: dict | None = None) -> list[dict]:
        path = self.dir / "catalog.json"
        path.write_text(json.dumps(catalog))
        args = ["--properties", str(path)]
        if state is not None:
            (self.dir / "state.json").write_text(json.dumps(state))
            args += ["--state", str(self.dir / "state.json")]
        return [json.loads(line) for line in self.run(*args).splitlines() if line.strip()]


def account_catalog(catalog: dict) -> dict:
    """The discovered catalog with only Account, selected, incremental on its
    replication key (what a Singer runner writes for a selected stream)."""
    (entry,) = [e for e in catalog["streams"] if e["stream"] == "Account"]
    (top,) = [m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == []]
    assert top["valid-replication-keys"] == ["SystemModstamp"], top
    assert top["table-key-properties"] == ["Id"], top
    top.update({"selected": True, "replication-method": "INCREMENTAL", "replication-key": "SystemModstamp"})
    return {"streams": [entry]}


def records(messages: list[dict]) -> list[dict]:
    return [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "Account"]


@pytest.fixture(scope="module")
def created(tserver: Server, rest: requests.Session) -> dict[str, dict[str, Any]]:
    """Four Accounts made over REST, the last one deleted (the tap queries with
    queryAll, so it is synced with ``IsDeleted`` true). By id."""
    prefix = uniq("tap")
    base = f"{tserver.https_base}/services/data/v{API_VERSION}/sobjects/Account"
    rows = [
        {"Name": f"{prefix} #1", "NumberOfEmployees": 12, "AnnualRevenue": 2500000,
         "Description": 'two lines,\nwith "quotes" and a comma', "Industry": "Energy"},
        {"Name": f"{prefix} #2", "BillingCity": "Paris", "Phone": "+33 1 23"},
        {"Name": f"{prefix} #3"},
        {"Name": f"{prefix} #4 deleted"},
    ]
    out = {}
    for row in rows:
        resp = rest.post(base, json=row)
        assert resp.status_code == 201, resp.text
        out[resp.json()["id"]] = {**row, "IsDeleted": False}
    last = list(out)[-1]
    assert rest.delete(f"{base}/{last}").status_code == 204
    out[last]["IsDeleted"] = True
    return out


@pytest.fixture(scope="module")
def bulk_tap(tap_python: str, tserver: Server, tmp_path_factory) -> Tap:
    return Tap(tap_python, tserver, "BULK", tmp_path_factory.mktemp("tap") / "bulk")


@pytest.fixture(scope="module")
def bulk_synced(bulk_tap: Tap, created) -> tuple[dict, list[dict], str]:
    """The BULK catalog for Account, the messages of one sync, its log."""
    catalog = account_catalog(bulk_tap.discover())
    messages = bulk_tap.sync(catalog)
    return catalog, messages, bulk_tap.stderr


def test_bulk_sync_emits_the_accounts(tserver, created, bulk_synced):
    catalog, messages, log = bulk_synced
    props = catalog["streams"][0]["schema"]["properties"]
    mdata = {tuple(m["breadcrumb"]): m["metadata"] for m in catalog["streams"][0]["metadata"]}
    for compound in ADDRESSES:  # left out of a Bulk query by the tap
        assert mdata[("properties", compound)]["inclusion"] == "unsupported", compound

    schema = [m for m in messages if m["type"] == "SCHEMA"]
    assert [(m["stream"], m["key_properties"]) for m in schema] == [("Account", ["Id"])]

    recs = records(messages)
    by_id = {r["Id"]: r for r in recs}
    assert len(recs) == len(by_id) == len(created), recs
    assert set(by_id) == set(created)
    for rid, want in created.items():
        got = by_id[rid]
        for field, value in want.items():
            assert got[field] == value, (rid, field, got[field], value)
        assert set(got) == set(props) - ADDRESSES, set(got) ^ set(props)
        assert got["OwnerId"] == tserver.info["user_id"]
    first, second, third, _ = created
    assert by_id[first]["NumberOfEmployees"] == 12 and by_id[first]["AnnualRevenue"] == 2500000.0
    assert by_id[second]["Description"] is None  # an empty CSV cell
    assert by_id[third]["BillingCity"] is None
    # in SystemModstamp order (the tap's ORDER BY), the bookmark the last one's
    stamps = [r["SystemModstamp"] for r in recs]
    assert stamps == sorted(stamps)
    (final,) = [m for m in messages if m["type"] == "STATE"][-1:]
    assert final["value"]["bookmarks"]["Account"]["SystemModstamp"] == stamps[-1]

    # and it went through Bulk API 1.0, not the REST query
    assert f"{tserver.https_base}/services/async/{TAP_API}/job/" in log
    assert "/queryAll" not in log


def test_rest_sync_gives_the_same_records(tap_python, tserver, created, bulk_synced, tmp_path):
    _, bulk_messages, _ = bulk_synced
    tap = Tap(tap_python, tserver, "REST", tmp_path / "rest")
    messages = tap.sync(account_catalog(tap.discover()))
    assert f"/services/data/v{TAP_API}/queryAll" in tap.stderr
    assert "/services/async/" not in tap.stderr

    rest_recs = {r["Id"]: r for r in records(messages)}
    bulk_recs = {r["Id"]: r for r in records(bulk_messages)}
    assert set(rest_recs) == set(bulk_recs) == set(created)
    for rid, got in rest_recs.items():
        assert got["BillingAddress"] == (
            {"city": "Paris", "country": None, "geocodeAccuracy": None, "latitude": None,
             "longitude": None, "postalCode": None, "state": None, "street": None}
            if created[rid].get("BillingCity") else None), got["BillingAddress"]
        assert {k: v for k, v in got.items() if k not in ADDRESSES} == bulk_recs[rid]


def test_bulk_sync_from_a_bookmark(tserver, rest, created, bulk_tap, bulk_synced):
    """A second BULK sync with the state the first one wrote: the SOQL's
    ``SystemModstamp >=`` the bookmark, so the last record again and the new one."""
    catalog, messages, _ = bulk_synced
    state = [m for m in messages if m["type"] == "STATE"][-1]["value"]
    time.sleep(0.01)
    name = uniq("tap-later")
    resp = rest.post(f"{tserver.https_base}/services/data/v{API_VERSION}/sobjects/Account", json={"Name": name})
    assert resp.status_code == 201, resp.text

    again = records(bulk_tap.sync(catalog, state))
    last_before = records(messages)[-1]
    assert [(r["Id"], r["Name"]) for r in again] == [
        (last_before["Id"], last_before["Name"]), (resp.json()["id"], name)]
    assert f"SystemModstamp >= {state['bookmarks']['Account']['SystemModstamp']}" in bulk_tap.stderr

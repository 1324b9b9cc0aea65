"""aiosalesforce (async, on httpx) as its users write it: a ``Salesforce`` client made from
an ``httpx.AsyncClient``, a base URL and an ``Auth``, then ``sobject``, ``query``,
``composite`` and ``bulk_v2``.

What the library does on the wire, and what these tests assert on:

- ``Salesforce(base_url=...)`` accepts only ``https://<name>.my.salesforce.com`` (also
  ``.sandbox.`` / ``.develop.``) and refuses any other URL, so these tests give it
  ``https://forcebus.my.salesforce.com`` and an httpx transport (``ToServer``) that sends
  each request to the server's TLS port instead, path, query and headers unchanged,
  trusting the server's CA. The transport also notes every call (method, path, status,
  bearer token) for the tests that assert on the calls made.
- Authentication: ``SoapLogin`` POSTs a partner ``login`` envelope (password followed by
  the security token) to ``/services/Soap/u/{v}`` and reads ``sessionId`` with a regular
  expression; ``ClientCredentialsFlow`` POSTs ``grant_type=client_credentials`` to
  ``/services/oauth2/token``; a subclass of ``Auth`` can hand over a token it already has
  (``StaticToken`` here, the ready line's token). A failed login raises
  ``AuthenticationError`` with the SOAP ``exceptionCode`` or the OAuth ``error``. A 401 on
  any call makes the client log in again and resend the request once.
- Every call carries ``Authorization: Bearer``, ``Sforce-Call-Options:
  client=aiosalesforce/…`` and ``Sforce-Line-Ending: LF``. An answer of 400 or more raises
  from the body's first ``errorCode`` / ``message``: ``NotFoundError`` for 404,
  ``AuthorizationError`` for 403, ``RequestLimitExceededError`` for
  ``REQUEST_LIMIT_EXCEEDED``, ``ServerError`` for 5xx, ``SalesforceError`` otherwise, each
  with ``error_code``, ``error_message`` and the ``response``.
- The default retry policy resends a request (up to 3 times, with backoff) on a 5xx, a 429,
  or a body holding ``UNABLE_TO_LOCK_ROW`` or ``REQUEST_LIMIT_EXCEEDED``; each retry is a
  ``RetryEvent``. Events given to ``event_hooks`` carry ``consumed`` / ``remaining`` parsed
  from the ``Sforce-Limit-Info: api-usage=N/M`` header (``remaining`` is ``M``, the org's
  allocation, not what is left of it).
- ``query`` GETs ``/query?q=`` (``/queryAll`` with ``include_all_records``) and follows
  ``nextRecordsUrl`` (prefixed with the base URL) until there is none.
- ``sobject``: create (POST), get (GET, ``fields=`` when given, by external id), update
  (PATCH), upsert (PATCH by external id; the external id field is taken out of the body),
  delete (DELETE, also by external id).
- ``composite.batch()`` POSTs ``/composite/batch`` (``haltOnError``, ``batchRequests`` with
  ``richInput``); ``composite()`` POSTs ``/composite`` (``allOrNone``,
  ``collateSubrequests``, ``referenceId`` made up by the library). A subrequest's
  ``raise_for_status`` maps its status and body as above.
- ``bulk_v2``: ingest only (no Bulk API 2.0 query in this version). Each operation writes
  the records as one CSV (empty for ``None``), creates the job (COMMA, LF), PUTs the data,
  PATCHes ``UploadComplete``, polls the job until it is no longer Open / UploadComplete /
  InProgress, then reads ``successfulResults``, ``failedResults`` and
  ``unprocessedrecords`` as CSV dicts. ``bulk_v2.insert`` and the others poll every 5 s;
  ``bulk_v2.ingest.perform_operation`` takes ``polling_interval``, so most tests use it.

What these tests leave out, because the library gets it wrong against any server: a
reference (``subrequest.reference.id``) put in a body or a ``get()`` URL as the documented
examples do is serialized without its ``@{…}`` (orjson writes the ``str`` it subclasses), so
the tests pass ``str(reference)``; a reference inside a ``query()`` or ``get()`` URL is
percent-encoded by httpx (``%40%7B…%7D``); ingest results are split with ``splitlines()``,
so a value holding a line break comes back without it.

This module runs its own server (and one more for the API limit), so counts are exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
from dataclasses import dataclass
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from aiosalesforce import ClientCredentialsFlow, RetryPolicy, Salesforce, SoapLogin, format_soql
from aiosalesforce.auth import Auth
from aiosalesforce.exceptions import (
    AuthenticationError,
    NotFoundError,
    RequestLimitExceededError,
    SalesforceError,
)
from aiosalesforce.retries import POLICY_DEFAULT

from harness import API_VERSION, Server, revoke, start_server, uniq

EXT = "External_Id__c"
# The only kind of URL the client takes; ToServer sends its requests to forcebus.
BASE_URL = "https://forcebus.my.salesforce.com"
TEST_TIMEOUT = 60


@pytest.fixture(scope="module")
def aserver() -> Iterator[Server]:
    srv = start_server("aiosalesforce")
    yield srv
    srv.stop()


@dataclass
class Call:
    method: str
    path: str  # path and query, as sent
    status: int
    bearer: str | None


class ToServer(httpx.AsyncBaseTransport):
    """Sends each request to the server's TLS port, whatever host its URL names, and notes
    the calls made (``verify``: what httpx trusts; by default the server's CA)."""

    def __init__(self, server: Server, verify: ssl.SSLContext | bool | None = None) -> None:
        self.target = httpx.URL(server.https_base)
        if verify is None:
            verify = ssl.create_default_context(cafile=server.ca_cert)
        self.inner = httpx.AsyncHTTPTransport(verify=verify)
        self.calls: list[Call] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url.copy_with(scheme="https", host=self.target.host, port=self.target.port)
        forwarded = httpx.Request(request.method, url, headers=request.headers,
                                  stream=request.stream, extensions=request.extensions)
        response = await self.inner.handle_async_request(forwarded)
        auth = request.headers.get("authorization", "")
        self.calls.append(Call(request.method, request.url.raw_path.decode(), response.status_code,
                               auth.removeprefix("Bearer ") or None))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class StaticToken(Auth):
    """An access token the caller already has (the library's documented way: subclass
    ``Auth``)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    async def _acquire_new_access_token(self, client: Salesforce) -> str:
        return self.token


# The default policy's rules with short waits, so a retried call takes well under a second.
FAST_RETRIES = RetryPolicy(
    response_rules=POLICY_DEFAULT.response_rules,
    exception_rules=POLICY_DEFAULT.exception_rules,
    backoff_base=0.05,
    backoff_max=0.1,
)


@contextlib.asynccontextmanager
async def connect(server: Server, auth: Auth | None = None, *, transport: ToServer | None = None,
                  **kwargs: Any) -> AsyncIterator[Salesforce]:
    """A client on ``server`` (the ready line's token unless ``auth`` is given)."""
    async with httpx.AsyncClient(transport=transport or ToServer(server), timeout=30) as http:
        yield Salesforce(http, BASE_URL, auth or StaticToken(server.info["access_token"]),
                         version=API_VERSION, **kwargs)


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TEST_TIMEOUT))


async def rows(sf: Salesforce, soql: str, *, all_rows: bool = False) -> list[dict]:
    return [r async for r in sf.query(soql, include_all_records=all_rows)]


async def ingest(sf: Salesforce, operation: str, sobject: str, records: list[dict], **kwargs: Any):
    """One ingest job through ``perform_operation``, polled every 0.1 s: its JobResult."""
    results = [r async for r in sf.bulk_v2.ingest.perform_operation(
        operation, sobject, records, polling_interval=0.1, **kwargs)]
    assert len(results) == 1
    return results[0]


def without_attributes(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "attributes"}


# ---- authentication ------------------------------------------------------------------


def test_soap_login_and_client_credentials_reach_the_same_org(aserver):
    info = aserver.info
    name = uniq("aiosf-auth")

    async def main():
        soap_transport, cc_transport = ToServer(aserver), ToServer(aserver)
        soap = SoapLogin(info["username"], info["password"], info["security_token"])
        async with connect(aserver, soap, transport=soap_transport) as sf:
            account_id = await sf.sobject.create("Account", {"Name": name})
            limits = await sf.get_limits()
        cc = ClientCredentialsFlow(info["client_id"], info["client_secret"])
        async with connect(aserver, cc, transport=cc_transport) as sf:
            record = await sf.sobject.get("Account", account_id, fields=["Name", "CreatedById"])
        return soap_transport.calls, cc_transport.calls, account_id, limits, record

    soap_calls, cc_calls, account_id, limits, record = run(main())
    assert (soap_calls[0].method, soap_calls[0].path, soap_calls[0].status) == (
        "POST", f"/services/Soap/u/{API_VERSION}", 200)
    assert (cc_calls[0].method, cc_calls[0].path, cc_calls[0].status) == (
        "POST", "/services/oauth2/token", 200)
    # Each flow's token is its own, and neither is the ready line's.
    tokens = {soap_calls[1].bearer, cc_calls[1].bearer, info["access_token"]}
    assert len(tokens) == 3 and None not in tokens
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert record["Id"] == account_id
    assert record["Name"] == name
    assert record["CreatedById"] == info["user_id"]


def test_a_wrong_password_or_secret_raises_authentication_error(aserver):
    info = aserver.info

    async def attempt(auth: Auth, **kwargs: Any):
        transport = ToServer(aserver)
        async with connect(aserver, auth, transport=transport, **kwargs) as sf:
            with pytest.raises(AuthenticationError) as exc:
                await sf.get_limits()
        return exc.value, transport.calls

    soap_error, soap_calls = run(attempt(
        SoapLogin(info["username"], "not-the-password", ""), retry_policy=FAST_RETRIES))
    assert soap_error.error_code == "INVALID_LOGIN"
    assert soap_error.error_message == (
        "Invalid username, password, security token; or user locked out.")
    # Salesforce answers a login fault with 500, which the default rules retry: the first
    # try and three retries, and nothing past the login.
    assert soap_error.response.status_code == 500
    assert [(c.path, c.status) for c in soap_calls] == [(f"/services/Soap/u/{API_VERSION}", 500)] * 4

    cc_error, cc_calls = run(attempt(ClientCredentialsFlow(info["client_id"], "not-the-secret")))
    assert cc_error.error_code == "invalid_client"
    assert cc_error.error_message == "invalid client credentials"
    assert cc_error.response.status_code == 400
    assert [(c.path, c.status) for c in cc_calls] == [("/services/oauth2/token", 400)]


def test_a_revoked_session_is_replaced_by_a_new_soap_login(aserver):
    info = aserver.info
    name = uniq("aiosf-relogin")

    async def main():
        transport = ToServer(aserver)
        soap = SoapLogin(info["username"], info["password"], info["security_token"])
        async with connect(aserver, soap, transport=transport) as sf:
            account_id = await sf.sobject.create("Account", {"Name": name})
            first_token = transport.calls[-1].bearer
            revoke(aserver, first_token)
            del transport.calls[:]
            record = await sf.sobject.get("Account", account_id, fields=["Name"])
        return first_token, transport.calls, record

    first_token, calls, record = run(main())
    get_path = f"/services/data/v{API_VERSION}/sobjects/Account/{record['Id']}?fields=Name"
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("GET", get_path, 401),
        ("POST", f"/services/Soap/u/{API_VERSION}", 200),
        ("GET", get_path, 200),
    ]
    assert calls[0].bearer == first_token
    assert calls[2].bearer not in (None, first_token)
    assert record["Name"] == name


def test_the_ca_trusted_through_ssl_cert_file(aserver, monkeypatch):
    # What `forcebus trust` exports; httpx reads it when it makes its SSL context.
    monkeypatch.setenv("SSL_CERT_FILE", aserver.ca_cert)
    name = uniq("aiosf-tls")

    async def main():
        async with connect(aserver, transport=ToServer(aserver, verify=True)) as sf:
            account_id = await sf.sobject.create("Account", {"Name": name})
            return account_id, await sf.sobject.get("Account", account_id, fields=["Name"])

    account_id, record = run(main())
    assert record["Id"] == account_id
    assert record["Name"] == name


# ---- sObject rows ----------------------------------------------------------------------


def test_create_get_update_delete(aserver):
    name = uniq("aiosf-crud")

    async def main():
        async with connect(aserver) as sf:
            account_id = await sf.sobject.create(
                "Account", {"Name": name, "Industry": "Energy", "NumberOfEmployees": 12})
            full = await sf.sobject.get("Account", account_id)
            await sf.sobject.update("Account", account_id, {"Phone": "555-0100", "Industry": None})
            some = await sf.sobject.get("Account", account_id, fields=["Name", "Phone", "Industry"])
            await sf.sobject.delete("Account", account_id)
            with pytest.raises(NotFoundError) as gone:
                await sf.sobject.get("Account", account_id)
            with pytest.raises(NotFoundError) as deleted:
                await sf.sobject.update("Account", account_id, {"Phone": "1"})
            return account_id, full, some, gone.value, deleted.value

    account_id, full, some, gone, deleted = run(main())
    assert account_id.startswith("001") and len(account_id) == 18
    assert full["attributes"] == {
        "type": "Account", "url": f"/services/data/v{API_VERSION}/sobjects/Account/{account_id}"}
    assert (full["Id"], full["Name"], full["Industry"], full["NumberOfEmployees"]) == (
        account_id, name, "Energy", 12)
    assert full["IsDeleted"] is False
    assert without_attributes(some) == {
        "Name": name, "Phone": "555-0100", "Industry": None, "Id": account_id}
    assert (gone.error_code, gone.response.status_code) == ("NOT_FOUND", 404)
    assert (deleted.error_code, deleted.error_message, deleted.response.status_code) == (
        "ENTITY_IS_DELETED", "entity is deleted", 404)


def test_upsert_get_and_delete_by_external_id(aserver):
    key = uniq("aiosf-ext")

    async def main():
        async with connect(aserver) as sf:
            created = await sf.sobject.upsert("Account", key, external_id_field=EXT,
                                              data={"Name": "first"})
            # The library drops the external id field from the body (Salesforce refuses it there).
            updated = await sf.sobject.upsert("Account", key, external_id_field=EXT,
                                              data={"Name": "second", EXT: key})
            by_ext = await sf.sobject.get("Account", key, external_id_field=EXT,
                                          fields=["Name", EXT])
            await sf.sobject.delete("Account", key, external_id_field=EXT)
            with pytest.raises(NotFoundError) as gone:
                await sf.sobject.get("Account", key, external_id_field=EXT)
            everything = await rows(
                sf, f"SELECT Id, Name, IsDeleted FROM Account WHERE {EXT} = '{key}'", all_rows=True)
            return created, updated, by_ext, gone.value, everything

    created, updated, by_ext, gone, everything = run(main())
    assert created.created is True
    assert created.id.startswith("001")
    assert (updated.id, updated.created) == (created.id, False)
    assert without_attributes(by_ext) == {"Name": "second", EXT: key, "Id": created.id}
    assert gone.error_code == "NOT_FOUND"
    assert [without_attributes(r) for r in everything] == [
        {"Id": created.id, "Name": "second", "IsDeleted": True}]


def test_errors_become_the_library_exceptions(aserver):
    async def main():
        caught = {}
        async with connect(aserver) as sf:
            cases = {
                "field": sf.sobject.create("Account", {"Name": "x", "No_Such_Field__c": 1}),
                "required": sf.sobject.create("Account", {"Industry": "Energy"}),
                "object": sf.sobject.create("No_Such_Object__c", {"Name": "x"}),
                "id": sf.sobject.get("Account", "001000000000000AAA"),
                "soql_field": rows(sf, "SELECT Nope FROM Account"),
                "soql_syntax": rows(sf, "SELECT Id FROM Account WHERE"),
                "soql_object": rows(sf, "SELECT Id FROM No_Such_Object__c"),
            }
            for label, coro in cases.items():
                try:
                    await coro
                except SalesforceError as exc:
                    caught[label] = exc
        return caught

    caught = run(main())
    got = {k: (type(e), e.error_code, e.response.status_code) for k, e in caught.items()}
    assert got == {
        "field": (SalesforceError, "INVALID_FIELD", 400),
        "required": (SalesforceError, "REQUIRED_FIELD_MISSING", 400),
        "object": (NotFoundError, "NOT_FOUND", 404),
        "id": (NotFoundError, "NOT_FOUND", 404),
        "soql_field": (SalesforceError, "INVALID_FIELD", 400),
        "soql_syntax": (SalesforceError, "MALFORMED_QUERY", 400),
        "soql_object": (SalesforceError, "INVALID_TYPE", 400),
    }
    assert caught["field"].error_message == "No such column 'No_Such_Field__c' on sobject of type Account"
    assert caught["required"].error_message == "Required fields are missing: [Name]"
    assert str(caught["required"]) == "[REQUIRED_FIELD_MISSING] Required fields are missing: [Name]"
    # The caret diagram Salesforce puts before a SOQL error's text.
    assert caught["soql_field"].error_message.startswith(
        "\nSELECT Nope FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Nope' on entity 'Account'.")


# ---- SOQL --------------------------------------------------------------------------------


def test_query_follows_next_records_url_past_2000_rows(aserver):
    prefix = uniq("aiosf-page")
    records = [{"Name": f"{prefix} {i:04d}", "NumberOfEmployees": i} for i in range(2500)]

    async def main():
        transport = ToServer(aserver)
        async with connect(aserver, transport=transport) as sf:
            inserted = await ingest(sf, "insert", "Account", records)
            ids = [r["sf__Id"] for r in inserted.successful_results]
            await ingest(sf, "delete", "Account", [{"Id": i} for i in ids[:3]])
            del transport.calls[:]
            live = await rows(sf, f"SELECT Id, Name FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name")
            query_calls = list(transport.calls)
            everything = await rows(
                sf, f"SELECT Id, IsDeleted FROM Account WHERE Name LIKE '{prefix}%' ORDER BY Name",
                all_rows=True)
        return ids, query_calls, live, everything

    ids, query_calls, live, everything = run(main())
    assert len(ids) == 2500
    assert [r["Name"] for r in live] == [r["Name"] for r in records[3:]]
    assert [r["Id"] for r in live] == ids[3:]
    # One page of 2,000, then the rest from the locator in nextRecordsUrl.
    base = f"/services/data/v{API_VERSION}"
    assert [c.status for c in query_calls] == [200, 200]
    assert query_calls[0].path.startswith(f"{base}/query?q=SELECT+Id%2C+Name+FROM+Account")
    assert query_calls[1].path.startswith(f"{base}/query/") and query_calls[1].path.endswith("-2000")
    assert [r["Id"] for r in everything] == ids
    assert [r["IsDeleted"] for r in everything] == [True] * 3 + [False] * 2497


def test_format_soql_values_match_the_records(aserver):
    prefix = uniq("aiosf-fmt")
    names = [f"{prefix} O'Brien \\ \"q\"", f"{prefix} line\nbreak\ttab", f"{prefix} 50% off_sale",
             f"{prefix} 50 percent offXsale"]

    async def main():
        async with connect(aserver) as sf:
            ids = [await sf.sobject.create("Account", {"Name": n, "NumberOfEmployees": i})
                   for i, n in enumerate(names)]
            found = {}
            queries = {
                "quotes": format_soql("SELECT Id FROM Account WHERE Name = {}", names[0]),
                "escapes": format_soql("SELECT Id FROM Account WHERE Name = {name}", name=names[1]),
                "like": format_soql("SELECT Id FROM Account WHERE Name LIKE '{p:like}%'",
                                    p=f"{prefix} 50% off_"),
                "in": format_soql("SELECT Id FROM Account WHERE Name IN {} ORDER BY Name",
                                  [names[3], names[0]]),
                "numbers_and_datetimes": format_soql(
                    "SELECT Id FROM Account WHERE Name LIKE {} AND NumberOfEmployees IN {}"
                    " AND CreatedDate > {} AND CreatedDate < {} ORDER BY NumberOfEmployees",
                    f"{prefix}%", (1, 2), dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
                    dt.datetime.now(dt.timezone(dt.timedelta(hours=5))) + dt.timedelta(hours=1)),
            }
            for label, soql in queries.items():
                found[label] = [ids.index(r["Id"]) for r in await rows(sf, soql)]
        return found

    assert run(main()) == {
        "quotes": [0],
        "escapes": [1],
        "like": [2],  # `%` and `_` escaped: not the Xsale one
        "in": [3, 0],
        "numbers_and_datetimes": [1, 2],
    }


# ---- composite ---------------------------------------------------------------------------


def test_composite_batch_results_and_halt_on_error(aserver):
    name = uniq("aiosf-batch") + ' <&> "quoted"'

    async def main():
        async with connect(aserver) as sf:
            async with sf.composite.batch() as batch:
                created = batch.sobject.create("Account", {"Name": name})
                query = batch.query(f"SELECT Id FROM Account WHERE Name = '{uniq('nobody')}'")
                bad = batch.sobject.create("Account", {"No_Such_Field__c": 1})
                missing = batch.sobject.get("Account", "001000000000000AAA")
            record = await sf.sobject.get("Account", created.id, fields=["Name"])
            async with sf.composite.batch(halt_on_error=True) as halting:
                first = halting.sobject.create("Account", {"No_Such_Field__c": 1})
                halted = halting.sobject.create("Account", {"Name": uniq("aiosf-halted")})
            errors = []
            for sub in (bad, missing, halted):
                with pytest.raises(SalesforceError) as exc:
                    sub.raise_for_status()
                errors.append((type(exc.value), exc.value.error_code))
            return created, query, bad, missing, record, first, halted, errors

    created, query, bad, missing, record, first, halted, errors = run(main())
    assert created.status_code == 201 and created.id.startswith("001")
    assert record["Name"] == name  # `<`, `&` and quotes survive the library's HTML unescape
    assert (query.status_code, query.records) == (200, [])
    assert bad.status_code == 400
    assert missing.status_code == 404
    assert (first.status_code, halted.status_code) == (400, 412)
    assert halted.result == [
        {"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}]
    assert errors == [
        (SalesforceError, "INVALID_FIELD"),
        (NotFoundError, "NOT_FOUND"),
        (SalesforceError, "BATCH_PROCESSING_HALTED"),
    ]


def test_composite_with_references(aserver):
    name, key = uniq("aiosf-comp"), uniq("aiosf-comp-ext")

    async def main():
        async with connect(aserver) as sf:
            async with sf.composite() as comp:
                account = comp.sobject.create("Account", {"Name": name})
                # str(): the reference object itself is written to JSON without its @{...}.
                contact = comp.sobject.create(
                    "Contact", {"LastName": "Doe", "AccountId": str(account.reference.id)})
                # update() puts the reference into its URL with an f-string: kept as is.
                updated = comp.sobject.update("Account", account.reference.id, {"Phone": "555-0199"})
                upserted = comp.sobject.upsert("Account", key, external_id_field=EXT,
                                               data={"Name": f"{name} ext"})
                query = comp.query(
                    f"SELECT Name, Phone, (SELECT LastName FROM Contacts) FROM Account WHERE Name = '{name}'")
            async with sf.composite() as plain:
                # As the documentation writes it: the body gets "Account_create_0.id".
                parent = plain.sobject.create("Account", {"Name": f"{name} 2"})
                orphan = plain.sobject.create(
                    "Contact", {"LastName": "Doe", "AccountId": parent.reference.id})
            return account, contact, updated, upserted, query, parent, orphan

    account, contact, updated, upserted, query, parent, orphan = run(main())
    assert account.id.startswith("001") and contact.id.startswith("003")
    assert account.response_http_headers == {
        "Location": f"/services/data/v{API_VERSION}/sobjects/Account/{account.id}"}
    assert updated.status_code == 204
    assert upserted.created is True and upserted.id.startswith("001")
    assert [without_attributes(r) for r in query.records] == [{
        "Name": name, "Phone": "555-0199",
        "Contacts": {"totalSize": 1, "done": True, "records": [
            {"attributes": {"type": "Contact",
                            "url": f"/services/data/v{API_VERSION}/sobjects/Contact/{contact.id}"},
             "LastName": "Doe"}]},
    }]
    assert parent.status_code == 201
    assert orphan.status_code == 400
    assert orphan.response_body[0]["errorCode"] == "MALFORMED_ID"
    assert "Account_create_0.id" in orphan.response_body[0]["message"]


def test_composite_all_or_none_rolls_back(aserver):
    name = uniq("aiosf-aon")

    async def main():
        async with connect(aserver) as sf:
            comp = sf.composite(all_or_none=True, autoraise=True)
            good = comp.sobject.create("Account", {"Name": name})
            bad = comp.sobject.create("Account", {"No_Such_Field__c": 1})
            with pytest.raises(ExceptionGroup) as group:
                await comp.execute()
            left = await rows(sf, f"SELECT Id FROM Account WHERE Name = '{name}'")
            return good, bad, group.value, left

    good, bad, group, left = run(main())
    assert [(type(e), e.error_code) for e in group.exceptions] == [
        (SalesforceError, "PROCESSING_HALTED"),
        (SalesforceError, "INVALID_FIELD"),
    ]
    assert (good.status_code, good.response_body) == (400, [{
        "message": "The transaction was rolled back since another operation in the same transaction failed.",
        "errorCode": "PROCESSING_HALTED"}])
    assert bad.status_code == 400
    assert left == []


# ---- Bulk API 2.0 ingest -----------------------------------------------------------------


def test_bulk_insert_with_a_failing_row(aserver):
    prefix = uniq("aiosf-bulk")
    records = [
        {"Name": f"{prefix} 1", "Description": 'a "quote", a comma', "NumberOfEmployees": 7},
        {"Name": None, "Description": "no name", "NumberOfEmployees": 8},
        {"Name": f"{prefix} 3 Zoë ✓", "Description": None, "NumberOfEmployees": None},
    ]

    async def main():
        async with connect(aserver) as sf:
            # The high-level call, as documented (it polls every 5 s).
            result = await sf.bulk_v2.insert("Account", records)
            stored = await rows(
                sf, f"SELECT Id, Name, Description, NumberOfEmployees FROM Account"
                    f" WHERE Name LIKE '{prefix}%' ORDER BY Name")
        return result, stored

    result, stored = run(main())
    (job,) = result.jobs
    assert (job.state, job.operation, job.object, job.content_type) == (
        "JobComplete", "insert", "Account", "CSV")
    assert (job.line_ending, job.column_delimiter, job.job_type) == ("LF", "COMMA", "V2Ingest")
    assert job.id.startswith("750")
    ok = result.successful_results
    assert [(r["sf__Created"], r["Name"], r["Description"], r["NumberOfEmployees"]) for r in ok] == [
        ("true", f"{prefix} 1", 'a "quote", a comma', "7"),
        ("true", f"{prefix} 3 Zoë ✓", "", ""),
    ]
    assert result.failed_results == [{
        "sf__Id": "", "sf__Error": "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
        "Name": "", "Description": "no name", "NumberOfEmployees": "8"}]
    assert result.unprocessed_records == []
    assert [without_attributes(r) for r in stored] == [
        {"Id": ok[0]["sf__Id"], "Name": f"{prefix} 1", "Description": 'a "quote", a comma',
         "NumberOfEmployees": 7},
        {"Id": ok[1]["sf__Id"], "Name": f"{prefix} 3 Zoë ✓", "Description": None,
         "NumberOfEmployees": None},
    ]


def test_bulk_upsert_update_delete_and_hard_delete(aserver):
    prefix = uniq("aiosf-bulk-ops")

    async def main():
        async with connect(aserver) as sf:
            first = await ingest(sf, "upsert", "Account",
                                 [{EXT: f"{prefix}-{i}", "Name": f"{prefix} {i}", "Phone": "1"}
                                  for i in (1, 2, 3)], external_id_field=EXT)
            again = await ingest(sf, "upsert", "Account",
                                 [{EXT: f"{prefix}-1", "Name": f"{prefix} 1 again"},
                                  {EXT: f"{prefix}-4", "Name": f"{prefix} 4"}], external_id_field=EXT)
            ids = {r[EXT]: r["sf__Id"] for r in first.successful_results + again.successful_results}
            updated = await ingest(sf, "update", "Account", [
                {"Id": ids[f"{prefix}-2"], "Name": f"{prefix} 2 updated", "Phone": "#N/A"},
                {"Id": "001000000000000AAA", "Name": "nobody"},
            ])
            deleted = await ingest(sf, "delete", "Account", [{"Id": ids[f"{prefix}-3"]}])
            hard = await ingest(sf, "hardDelete", "Account", [{"Id": ids[f"{prefix}-4"]}])
            left = await rows(sf, f"SELECT {EXT}, Name, Phone, IsDeleted FROM Account"
                                  f" WHERE Name LIKE '{prefix}%' ORDER BY Name", all_rows=True)
        return first, again, ids, updated, deleted, hard, left

    first, again, ids, updated, deleted, hard, left = run(main())
    assert [r["sf__Created"] for r in first.successful_results] == ["true"] * 3
    assert [(r[EXT], r["sf__Created"]) for r in again.successful_results] == [
        (f"{prefix}-1", "false"), (f"{prefix}-4", "true")]
    assert again.job_info.external_id_field_name == EXT
    assert [(r["sf__Id"], r["sf__Created"]) for r in updated.successful_results] == [
        (ids[f"{prefix}-2"], "false")]
    assert [(r["sf__Id"], r["sf__Error"]) for r in updated.failed_results] == [
        ("001000000000000AAA", "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--")]
    assert [r["sf__Id"] for r in deleted.successful_results] == [ids[f"{prefix}-3"]]
    assert [r["sf__Id"] for r in hard.successful_results] == [ids[f"{prefix}-4"]]
    assert (deleted.job_info.operation, hard.job_info.operation) == ("delete", "hardDelete")
    # The hard-deleted record is gone even from queryAll; the soft-deleted one is there.
    assert [without_attributes(r) for r in left] == [
        {EXT: f"{prefix}-1", "Name": f"{prefix} 1 again", "Phone": "1", "IsDeleted": False},
        {EXT: f"{prefix}-2", "Name": f"{prefix} 2 updated", "Phone": None, "IsDeleted": False},
        {EXT: f"{prefix}-3", "Name": f"{prefix} 3", "Phone": "1", "IsDeleted": True},
    ]


def test_bulk_job_management_and_errors(aserver):
    async def main():
        async with connect(aserver) as sf:
            ingest_client = sf.bulk_v2.ingest
            job = await ingest_client.create_job("insert", "Account")
            aborted = await ingest_client.abort_job(job.id)
            listed = [j.id async for j in ingest_client.list_jobs()]
            await ingest_client.delete_job(job.id)
            with pytest.raises(NotFoundError) as gone:
                await ingest_client.get_job(job.id)
            with pytest.raises(SalesforceError) as unknown:
                await ingest(sf, "insert", "No_Such_Object__c", [{"Name": "x"}])
            failed = await ingest(sf, "insert", "Account", [{"Name": "x", "No_Such_Field__c": "y"}])
        return job, aborted, listed, gone.value, unknown.value, failed

    job, aborted, listed, gone, unknown, failed = run(main())
    assert job.state == "Open"
    assert job.content_url == f"services/data/v{API_VERSION}/jobs/ingest/{job.id}/batches"
    assert (aborted.id, aborted.state) == (job.id, "Aborted")
    assert job.id in listed
    assert (gone.error_code, gone.response.status_code) == ("NOT_FOUND", 404)
    assert (type(unknown), unknown.error_code, unknown.response.status_code) == (
        SalesforceError, "INVALIDJOB", 400)
    assert unknown.error_message == "sObject type 'No_Such_Object__c' is not supported."
    # A column Account lacks fails the job; the library returns it with every row unprocessed.
    assert failed.job_info.state == "Failed"
    assert (failed.successful_results, failed.failed_results) == ([], [])
    assert failed.unprocessed_records == [{"Name": "x", "No_Such_Field__c": "y"}]


# ---- API usage and retries ---------------------------------------------------------------


def test_events_carry_the_api_usage_header(aserver):
    events: list[Any] = []

    async def main():
        async with connect(aserver, event_hooks=[events.append]) as sf:
            await sf.get_limits()
            await rows(sf, "SELECT Id FROM Account LIMIT 1")

    run(main())
    responses = [e for e in events if e.type == "response"]
    consumed = [e for e in events if e.type == "rest_api_call_consumption"]
    assert len(responses) == 2 and len(consumed) == 2
    # `api-usage=used/allowed`: the library names the second number `remaining`, but it is
    # the org's daily allocation (15,000 by default), as Salesforce documents the header.
    assert [e.remaining for e in responses] == [15000, 15000]
    first, second = (e.consumed for e in responses)
    assert first > 0 and second == first + 1
    assert [e.count for e in consumed] == [1, 1]


@pytest.fixture
def limited_server() -> Iterator[Server]:
    srv = start_server("aiosalesforce-limit",
                       env={"FORCEBUS_DAILY_API_REQUESTS": "5", "FORCEBUS_ENFORCE_API_LIMIT": "true"})
    yield srv
    srv.stop()


def test_request_limit_exceeded_is_retried_then_raised(limited_server):
    events: list[Any] = []

    async def main():
        transport = ToServer(limited_server)
        async with connect(limited_server, transport=transport, event_hooks=[events.append],
                           retry_policy=FAST_RETRIES) as sf:
            made = []
            with pytest.raises(RequestLimitExceededError) as exc:
                for i in range(10):
                    made.append(await sf.sobject.create("Account", {"Name": f"limited {i}"}))
        return made, exc.value, transport.calls

    made, error, calls = run(main())
    assert len(made) == 5
    assert (error.error_code, error.error_message, error.response.status_code) == (
        "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", 403)
    # The sixth create: the first try and the policy's three retries, each refused.
    assert [c.status for c in calls] == [201] * 5 + [403] * 4
    assert [e.attempt for e in events if e.type == "retry"] == [1, 2, 3]
    # The refused calls count too (used 6, 7, 8 of the allocation of 5).
    assert [(e.consumed, e.remaining) for e in events if e.type == "retry"] == [(6, 5), (7, 5), (8, 5)]

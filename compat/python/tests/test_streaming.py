"""Streaming API (CometD / Bayeux long-polling) through aiosfstream-ng
(aiocometd-ng underneath), the asyncio Salesforce streaming client.

Runs its own server. aiosfstream only authenticates against the hard-coded
login.salesforce.com, so the tests pass an ``AuthenticatorBase`` subclass that
hands out the ready line's access token and the server's plain-HTTP instance
URL without any network call. Change Data Capture events on
``/data/AccountChangeEvent`` come from REST writes (``requests``, Bearer
token): ``ReplayOption.ALL_EVENTS`` (-2) replays retained events and then
delivers live ones on the client's stock endpoint ``/cometd/45.0``; a
``DefaultMappingStorage`` filled by a first run makes a second run (on
``/cometd/59.0``) resume after the stored replay id; a custom channel
``/data/<Name>__chn`` with a filter delivers only matching records; a rejected
token makes aiocometd re-authenticate and resend the handshake once; a token
revoked mid-session makes it re-authenticate (a ``PasswordAuthenticator`` whose
token URL is the server's ``/services/oauth2/token``) and carry on; an invalid
replay id raises ``ServerError`` with the Salesforce text, and
``replay_fallback`` recovers from it. On a server with its data on disk: one
Account's CREATE / UPDATE / DELETE / UNDELETE (SOAP ``undelete``) on
``/data/ChangeEvents`` and ``/data/AccountChangeEvent``, a restart (SIGKILL),
then ``ALL_EVENTS`` replaying events from before it and a
``DefaultMappingStorage`` resuming after the stored replay ids.

Every test is bounded by ``asyncio.wait_for`` (``TEST_TIMEOUT``).
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import signal
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
import requests
from aiosfstream_ng import Client, DefaultMappingStorage, ReplayMarker, ReplayOption
from aiosfstream_ng.auth import AuthenticatorBase, PasswordAuthenticator
from aiosfstream_ng.exceptions import ServerError

from harness import API_VERSION, Server, revoke, start_server, uniq

CHANNEL = "/data/AccountChangeEvent"
ALL = "/data/ChangeEvents"
CHANNELS = (ALL, CHANNEL)
LIFECYCLE = ["CREATE", "UPDATE", "DELETE", "UNDELETE"]
TEST_TIMEOUT = 20.0
Message = dict[str, Any]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("streaming")
    yield srv
    srv.stop()


class TokenAuthenticator(AuthenticatorBase):
    """Hands out fixed tokens, one per ``authenticate()`` call (the last one
    repeats), with the server's instance URL; counts the calls."""

    def __init__(self, server: Server, *tokens: str) -> None:
        super().__init__()
        self._server = server
        self._tokens = list(tokens) or [server.info["access_token"]]
        self.calls = 0

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        token = self._tokens[min(self.calls, len(self._tokens) - 1)]
        self.calls += 1
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "instance_url": self._server.info["instance_url"],
            "id": f"{self._server.info['instance_url']}/id/{self._server.info['org_id']}/{self._server.info['user_id']}",
        }


class Recorder:
    """Mixed into an authenticator (an aiocometd extension that sees every
    payload): keeps the Bayeux exchange, each sent message with the
    Authorization header it went with, and the tokens ``authenticate()`` got."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: list[tuple[str, Message]] = []
        self.received: list[Message] = []
        self.tokens: list[str] = []

    async def outgoing(self, payload: list[Message], headers: dict[str, str]) -> None:
        await super().outgoing(payload, headers)  # type: ignore[misc]
        self.sent.extend((headers.get("Authorization", ""), copy.deepcopy(m)) for m in payload)

    async def incoming(self, payload: list[Message], headers: Any = None) -> None:
        await super().incoming(payload, headers)  # type: ignore[misc]
        self.received.extend(copy.deepcopy(m) for m in payload)

    async def authenticate(self) -> None:
        await super().authenticate()  # type: ignore[misc]
        self.tokens.append(self.access_token)  # type: ignore[attr-defined]

    def meta(self, channel: str) -> list[Message]:
        return [m for m in self.received if m.get("channel") == channel]

    def sent_on(self, channel: str) -> list[tuple[str, Message]]:
        return [(a, m) for a, m in self.sent if m.get("channel") == channel]


class RecordingTokenAuthenticator(Recorder, TokenAuthenticator):
    pass


class LocalPasswordAuthenticator(Recorder, PasswordAuthenticator):
    """The stock username-password flow, with the token URL (hard-coded to
    login.salesforce.com) pointed at the server's ``/services/oauth2/token``:
    every ``authenticate()`` is a real password grant with a fresh token."""

    def __init__(self, server: Server) -> None:
        super().__init__(
            consumer_key=server.info["client_id"],
            consumer_secret=server.info["client_secret"],
            username=server.info["username"],
            password=server.info["password"],
        )
        self._server = server

    @property
    def _token_url(self) -> str:
        return f"{self._server.info['instance_url']}/services/oauth2/token"


class Client59(Client):
    """The stock client on ``/cometd/59.0`` instead of its built-in 45.0."""

    @staticmethod
    def get_cometd_url(instance_url: str) -> str:
        return f"{instance_url}/cometd/{API_VERSION}"


# --- REST writes ----------------------------------------------------------------


def _rest(server: Server, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.request(
        method,
        f"{server.info['instance_url']}/services/data/v{API_VERSION}{path}",
        json=body,
        headers={"Authorization": f"Bearer {server.info['access_token']}"},
        timeout=10,
    )


def create_account(server: Server, **fields: Any) -> str:
    resp = _rest(server, "POST", "/sobjects/Account", fields)
    assert resp.status_code == 201, f"create Account: {resp.status_code} {resp.text}"
    return resp.json()["id"]


async def acreate_account(server: Server, **fields: Any) -> str:
    return await asyncio.to_thread(create_account, server, **fields)


def soap_undelete(server: Server, record_id: str) -> None:
    """``undelete`` through the SOAP partner API with a SessionHeader."""
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:urn="urn:partner.soap.sforce.com">'
        "<soapenv:Header><urn:SessionHeader>"
        f"<urn:sessionId>{server.info['access_token']}</urn:sessionId>"
        "</urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><urn:undelete><urn:ids>{record_id}</urn:ids></urn:undelete></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    resp = requests.post(
        f"{server.info['instance_url']}/services/Soap/u/{API_VERSION}",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "undelete"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert "<success>true</success>" in resp.text, resp.text


@dataclass
class Lifecycle:
    id: str
    name: str
    phone: str


def account_lifecycle(server: Server, name: str) -> Lifecycle:
    """Create, update (Phone), delete (REST) and undelete (SOAP) one Account."""
    rec = Lifecycle(id=create_account(server, Name=name), name=name, phone="555-0146")
    resp = _rest(server, "PATCH", f"/sobjects/Account/{rec.id}", {"Phone": rec.phone})
    assert resp.status_code == 204, resp.text
    resp = _rest(server, "DELETE", f"/sobjects/Account/{rec.id}")
    assert resp.status_code == 204, resp.text
    soap_undelete(server, rec.id)
    return rec


# --- receiving --------------------------------------------------------------------


def header(msg: Message) -> dict[str, Any]:
    return msg["data"]["payload"]["ChangeEventHeader"]


def find_change(messages: list[Message], record_id: str, change_type: str = "CREATE") -> Message | None:
    for m in messages:
        h = m.get("data", {}).get("payload", {}).get("ChangeEventHeader")
        if h and h.get("changeType") == change_type and record_id in h.get("recordIds", []):
            return m
    return None


def summary(messages: list[Message]) -> str:
    return repr([
        (m["data"]["event"]["replayId"], header(m)["changeType"], header(m)["recordIds"])
        for m in messages
    ])


async def receive_until(client: Client, messages: list[Message],
                        done: Callable[[list[Message]], bool], what: str, timeout: float = 15.0) -> None:
    """Append what ``client.receive()`` yields to ``messages`` until ``done``."""

    async def pump() -> None:
        while not done(messages):
            messages.append(await client.receive())

    try:
        await asyncio.wait_for(pump(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; got {summary(messages)}") from None


async def drain(client: Client, messages: list[Message], settle: float = 0.25) -> None:
    """Give a stray extra event time to arrive, then take whatever is queued."""
    await asyncio.sleep(settle)
    while client.has_pending_messages:
        messages.append(await client.receive())


async def wait_until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    async def poll() -> Any:
        while not (v := check()):
            await asyncio.sleep(0.02)
        return v

    try:
        return await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


def on(messages: list[Message], channel: str) -> list[Message]:
    return [m for m in messages if m["channel"] == channel]


def invalid_replay_error(replay_id: int) -> str:
    """streaming-cometd.md 2.5; two spaces after "invalid."."""
    return (f"400::The replayId {{{replay_id}}} you provided was invalid.  Please provide a valid ID, "
            "-2 to replay all events, or -1 to replay only new events.")


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TEST_TIMEOUT))


def check_change_event(msg: Message, *, channel: str, record_id: str, change_type: str,
                       user_id: str, fields: dict[str, Any] | None = None, api: str = "rest") -> None:
    assert msg["channel"] == channel
    assert "successful" not in msg, "event messages carry no 'successful'"
    data = msg["data"]
    assert isinstance(data["schema"], str) and len(data["schema"]) == 22, data["schema"]
    replay_id = data["event"]["replayId"]
    assert isinstance(replay_id, int) and not isinstance(replay_id, bool) and replay_id > 0, replay_id
    h = data["payload"]["ChangeEventHeader"]
    assert h["entityName"] == "Account"
    assert h["recordIds"] == [record_id]
    assert h["changeType"] == change_type
    assert isinstance(h["changedFields"], list) and all(isinstance(f, str) for f in h["changedFields"])
    assert h["changeOrigin"].startswith(f"com/salesforce/api/{api}/{API_VERSION}"), h["changeOrigin"]
    assert isinstance(h["transactionKey"], str) and h["transactionKey"]
    assert isinstance(h["sequenceNumber"], int) and h["sequenceNumber"] >= 1
    # aiosfstream stores str(commitTimestamp) as the replay marker's date.
    assert isinstance(h["commitTimestamp"], int) and h["commitTimestamp"] > 1_600_000_000_000
    assert isinstance(h["commitNumber"], int)
    assert h["commitUser"] == user_id
    for name, value in (fields or {}).items():
        assert data["payload"].get(name) == value, f"payload.{name}: {data['payload'].get(name)!r}"


def replay_ids(messages: list[Message]) -> list[int]:
    return [m["data"]["event"]["replayId"] for m in messages]


def assert_increasing(messages: list[Message]) -> None:
    ids = replay_ids(messages)
    assert all(a < b for a, b in zip(ids, ids[1:])), f"replay ids strictly increase: {ids}"


def check_lifecycle(messages: list[Message], rec: Lifecycle, user_id: str, channel: str) -> list[Message]:
    """Exactly the four events of ``rec``'s life cycle on ``channel``, in order."""
    ours = [m for m in on(messages, channel) if rec.id in header(m)["recordIds"]]
    assert [header(m)["changeType"] for m in ours] == LIFECYCLE, summary(messages)
    c, u, d, un = ours
    check_change_event(c, channel=channel, record_id=rec.id, change_type="CREATE", user_id=user_id,
                       fields={"Name": rec.name})
    check_change_event(u, channel=channel, record_id=rec.id, change_type="UPDATE", user_id=user_id,
                       fields={"Phone": rec.phone})
    assert {"Phone", "LastModifiedDate"} <= set(header(u)["changedFields"]), header(u)["changedFields"]
    check_change_event(d, channel=channel, record_id=rec.id, change_type="DELETE", user_id=user_id)
    check_change_event(un, channel=channel, record_id=rec.id, change_type="UNDELETE", user_id=user_id,
                       api="soap")
    assert_increasing(ours)
    return ours


# --- tests --------------------------------------------------------------------------


def test_all_events_then_live(server: Server) -> None:
    """ReplayOption.ALL_EVENTS: two Accounts written before the subscribe are
    replayed, a third written while subscribed arrives live."""
    user_id = server.info["user_id"]
    n1, n2, n3 = uniq("aio-a"), uniq("aio-b"), uniq("aio-c")
    id1 = create_account(server, Name=n1)
    id2 = create_account(server, Name=n2, Phone="555-0102")

    async def scenario() -> tuple[list[Message], str]:
        messages: list[Message] = []
        auth = TokenAuthenticator(server)
        async with Client(auth, replay=ReplayOption.ALL_EVENTS) as client:
            assert client.url.endswith("/cometd/45.0"), client.url  # the client's own default
            await client.subscribe(CHANNEL)
            await receive_until(client, messages,
                                lambda ms: bool(find_change(ms, id1) and find_change(ms, id2)),
                                "the two retained CREATE events")
            id3 = await acreate_account(server, Name=n3)
            await receive_until(client, messages, lambda ms: bool(find_change(ms, id3)),
                                "the live CREATE event")
        assert auth.calls == 1, "no re-authentication was needed"
        return messages, id3

    messages, id3 = run(scenario())
    e1, e2, e3 = find_change(messages, id1), find_change(messages, id2), find_change(messages, id3)
    check_change_event(e1, channel=CHANNEL, record_id=id1, change_type="CREATE", user_id=user_id,
                       fields={"Name": n1})
    check_change_event(e2, channel=CHANNEL, record_id=id2, change_type="CREATE", user_id=user_id,
                       fields={"Name": n2, "Phone": "555-0102"})
    check_change_event(e3, channel=CHANNEL, record_id=id3, change_type="CREATE", user_id=user_id,
                       fields={"Name": n3})
    assert_increasing(messages)
    order = [messages.index(e) for e in (e1, e2, e3)]
    assert order == sorted(order), "events arrive in write order"


def test_resume_from_default_mapping_storage(server: Server) -> None:
    """A DefaultMappingStorage filled by a first run (-2 by default) makes a
    second run subscribe from the stored replay id: only newer events."""
    id_a = create_account(server, Name=uniq("aio-resume-a"))
    mapping: dict[str, ReplayMarker] = {}

    async def first_run() -> Message:
        messages: list[Message] = []
        storage = DefaultMappingStorage(mapping, ReplayOption.ALL_EVENTS)
        async with Client59(TokenAuthenticator(server), replay=storage) as client:
            assert client.url.endswith(f"/cometd/{API_VERSION}"), client.url
            await client.subscribe(CHANNEL)
            await receive_until(client, messages, lambda ms: bool(find_change(ms, id_a)),
                                "event A in the first run")
        return find_change(messages, id_a)

    e_a = run(first_run())
    marker = mapping.get(CHANNEL)
    assert marker is not None, f"the first run stored a replay marker: {mapping!r}"
    # A was the newest write when the first run stopped reading.
    assert marker.replay_id == e_a["data"]["event"]["replayId"], (marker, e_a["data"]["event"])
    assert marker.date == str(header(e_a)["commitTimestamp"])

    # Written while no client listens.
    id_b = create_account(server, Name=uniq("aio-resume-b"))
    id_c = create_account(server, Name=uniq("aio-resume-c"))

    async def second_run() -> tuple[list[Message], str]:
        messages: list[Message] = []
        storage = DefaultMappingStorage(mapping, ReplayOption.ALL_EVENTS)
        async with Client59(TokenAuthenticator(server), replay=storage) as client:
            await client.subscribe(CHANNEL)
            await receive_until(client, messages,
                                lambda ms: bool(find_change(ms, id_b) and find_change(ms, id_c)),
                                "events B and C (after the stored replay id)")
            id_d = await acreate_account(server, Name=uniq("aio-resume-d"))
            await receive_until(client, messages, lambda ms: bool(find_change(ms, id_d)),
                                "live event D")
        return messages, id_d

    messages, id_d = run(second_run())
    assert find_change(messages, id_a) is None, f"event A is not replayed again: {summary(messages)}"
    assert all(r > marker.replay_id for r in replay_ids(messages)), (marker.replay_id, summary(messages))
    assert_increasing(messages)
    assert mapping[CHANNEL].replay_id == find_change(messages, id_d)["data"]["event"]["replayId"], \
        "the storage moved on to the last event received"


def test_custom_channel_with_filter(server: Server) -> None:
    """/data/<Name>__chn built through the tooling API with a filter on
    AccountChangeEvent delivers only the matching record's event, under the
    custom channel's name."""
    name = f"AioStream{uniq('x').split('-')[1][:6]}"
    channel = f"/data/{name}__chn"
    resp = _rest(server, "POST", "/tooling/sobjects/PlatformEventChannel",
                 {"FullName": f"{name}__chn", "Metadata": {"channelType": "data", "label": name}})
    assert resp.status_code == 201, resp.text
    resp = _rest(server, "POST", "/tooling/sobjects/PlatformEventChannelMember", {
        "FullName": f"{name}_chn_AccountChangeEvent",
        "Metadata": {
            "eventChannel": f"{name}__chn",
            "selectedEntity": "AccountChangeEvent",
            "filterExpression": "Industry = 'Agriculture'",
        },
    })
    assert resp.status_code == 201, resp.text

    async def scenario() -> tuple[list[Message], str, str]:
        messages: list[Message] = []
        async with Client59(TokenAuthenticator(server), replay=ReplayOption.ALL_EVENTS) as client:
            await client.subscribe(channel)
            other = await acreate_account(server, Name=uniq("aio-chn-tech"), Industry="Technology")
            farm = await acreate_account(server, Name=uniq("aio-chn-farm"), Industry="Agriculture")
            await receive_until(client, messages, lambda ms: bool(find_change(ms, farm)),
                                f"the matching event on {channel}")
        return messages, other, farm

    messages, other, farm = run(scenario())
    check_change_event(find_change(messages, farm), channel=channel, record_id=farm, change_type="CREATE",
                       user_id=server.info["user_id"], fields={"Industry": "Agriculture"})
    # Written first, so it would have been delivered before the matching one.
    assert find_change(messages, other) is None, f"the filter drops Technology: {summary(messages)}"
    assert all(m["channel"] == channel for m in messages)


def test_rejected_token_reauthenticates_once(server: Server) -> None:
    """A 403 handshake makes aiocometd call the authenticator again and resend
    the handshake once: a good second token opens the client, a bad one fails
    with the server's error."""
    good = server.info["access_token"]

    async def recovers() -> int:
        auth = TokenAuthenticator(server, "00DBAD000000000!stale", good)
        async with Client59(auth, replay=ReplayOption.NEW_EVENTS) as client:
            await client.subscribe(CHANNEL)
            messages: list[Message] = []
            rid = await acreate_account(server, Name=uniq("aio-reauth"))
            await receive_until(client, messages, lambda ms: bool(find_change(ms, rid)), "a live event")
        return auth.calls

    assert run(recovers()) == 2, "one re-authentication after the denied handshake"

    async def gives_up() -> tuple[ServerError, int]:
        auth = TokenAuthenticator(server, "00DBAD000000000!stale")
        client = Client59(auth)
        with pytest.raises(ServerError) as info:
            await client.open()
        await client.close()
        return info.value, auth.calls

    err, calls = run(gives_up())
    assert calls == 2, "authenticated, denied, re-authenticated, denied"
    assert err.error_code == 403, err.response
    assert err.error_message == "Handshake denied", err.response
    assert err.response["ext"]["sfdc"]["failureReason"] == "401::Authentication invalid", err.response
    assert err.response["advice"]["reconnect"] == "none", err.response


def test_revoked_token_reauthenticates_and_recovers(server: Server) -> None:
    """A token revoked mid-session: the next connect gets 401::Authentication
    invalid; aiocometd calls ``authenticate()`` again (a password grant at the
    server's token URL: a fresh token) and resends the connect with it; the
    client then receives a new event."""

    async def scenario() -> tuple[LocalPasswordAuthenticator, list[Message], list[str]]:
        auth = LocalPasswordAuthenticator(server)
        messages: list[Message] = []
        async with Client59(auth, replay=ReplayOption.NEW_EVENTS) as client:
            await client.subscribe(CHANNEL)
            id_before = await acreate_account(server, Name=uniq("aio-revoke-before"))
            await receive_until(client, messages, lambda ms: bool(find_change(ms, id_before)),
                                "an event while the token is valid")
            await asyncio.to_thread(revoke, server, auth.tokens[0])
            # Wakes the parked connect if it went out before the revoke; the
            # next one carries the revoked token.
            id_after = await acreate_account(server, Name=uniq("aio-revoke-after"))
            await receive_until(client, messages, lambda ms: bool(find_change(ms, id_after)),
                                "the event written after the revoke")

            def resent() -> bool:
                return len(auth.tokens) == 2 and any(
                    a == f"Bearer {auth.tokens[1]}" for a, _ in auth.sent_on("/meta/connect"))

            await wait_until(resent, "a connect resent with a fresh token after the 401")
            id_recovered = await acreate_account(server, Name=uniq("aio-revoke-recovered"))
            await receive_until(client, messages, lambda ms: bool(find_change(ms, id_recovered)),
                                "a live event after the re-authentication")
            await drain(client, messages)
        return auth, messages, [id_before, id_after, id_recovered]

    auth, messages, ids = run(scenario())
    assert len(auth.tokens) == 2, f"authenticated twice: {auth.tokens}"
    assert auth.tokens[0] != auth.tokens[1], "the second password grant gave a fresh token"
    failed = [m for m in auth.meta("/meta/connect") if not m.get("successful")]
    assert len(failed) == 1, failed
    assert failed[0]["error"] == "401::Authentication invalid", failed[0]
    assert failed[0]["advice"]["reconnect"] == "none", failed[0]
    # Up to the failed connect everything went with the first token; the
    # connect resent right after it (a new message id) and all later requests
    # with the fresh one.
    at = next(i for i, (_, m) in enumerate(auth.sent) if m.get("id") == failed[0]["id"])
    assert all(a == f"Bearer {auth.tokens[0]}" for a, _ in auth.sent[:at + 1]), auth.sent[:at + 1]
    after = auth.sent[at + 1:]
    assert after and after[0][1]["channel"] == "/meta/connect", after
    assert after[0][1]["clientId"] == failed[0]["clientId"], "the same session"
    assert all(a == f"Bearer {auth.tokens[1]}" for a, _ in after), after
    # The server kept the session (the token is checked per request), so the
    # resent connect is enough: no second handshake, no resubscribe.
    assert [m["successful"] for m in auth.meta("/meta/handshake")] == [True]
    for rid in ids:
        assert sum(1 for m in messages if rid in header(m)["recordIds"]) == 1, (rid, summary(messages))
    assert_increasing(messages)


def test_invalid_replay_id(server: Server) -> None:
    """A stored replay id far beyond the last event: the subscribe fails with
    the Salesforce text, raised as ``ServerError``; with ``replay_fallback`` the
    client resubscribes with -2 instead."""
    bad = 999_999_999
    expected = invalid_replay_error(bad)
    marker = ReplayMarker(date="2024-01-01T00:00:00.000Z", replay_id=bad)

    async def fails() -> tuple[ServerError, RecordingTokenAuthenticator]:
        auth = RecordingTokenAuthenticator(server)
        async with Client59(auth, replay={CHANNEL: marker}) as client:
            with pytest.raises(ServerError) as info:
                await client.subscribe(CHANNEL)
        return info.value, auth

    err, auth = run(fails())
    assert err.error_code == 400, err.response
    assert err.response["error"] == expected, err.response
    assert err.error_message == expected.split("::", 1)[1], err.error_message
    assert err.response["subscription"] == CHANNEL
    assert err.response["successful"] is False
    [(_, sent)] = auth.sent_on("/meta/subscribe")
    assert sent["ext"]["replay"] == {CHANNEL: bad}, sent

    retained = create_account(server, Name=uniq("aio-fallback-retained"))

    async def falls_back() -> tuple[list[Message], str, RecordingTokenAuthenticator]:
        auth = RecordingTokenAuthenticator(server)
        messages: list[Message] = []
        async with Client59(auth, replay={CHANNEL: marker}, replay_fallback=ReplayOption.ALL_EVENTS) as client:
            await client.subscribe(CHANNEL)
            live = await acreate_account(server, Name=uniq("aio-fallback-live"))
            await receive_until(client, messages, lambda ms: bool(find_change(ms, retained) and find_change(ms, live)),
                                "the retained and the live event")
        return messages, live, auth

    messages, live, auth = run(falls_back())
    subs = [m for _, m in auth.sent_on("/meta/subscribe")]
    assert [m["ext"]["replay"] for m in subs] == [{CHANNEL: bad}, {CHANNEL: -2}], subs
    assert [m.get("error") for m in auth.meta("/meta/subscribe")] == [expected, None]
    assert messages.index(find_change(messages, retained)) < messages.index(find_change(messages, live)), \
        f"-2 replayed the retained event before the live one: {summary(messages)}"
    assert_increasing(messages)


# --- both CDC channels, a restart on the same data ---------------------------


@pytest.fixture(scope="module")
def restartable() -> Iterator[dict[str, Any]]:
    """A server keeping its data on disk; the restart test replaces it with a
    second one on the same data directory. Also carries state between tests."""
    data_dir = tempfile.mkdtemp(prefix="forcebus-python-restart-")
    state: dict[str, Any] = {
        "data_dir": data_dir,
        "servers": [start_server("streaming-restart-1", data_dir=data_dir, in_memory=False)],
    }
    yield state
    for srv in state["servers"]:
        srv.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_lifecycle_on_both_channels(restartable: dict[str, Any]) -> None:
    """CREATE, UPDATE, DELETE, UNDELETE of one Account arrive on
    /data/ChangeEvents and /data/AccountChangeEvent. -1 (NEW_EVENTS, the
    storage's default): not the seed User's startup CREATE that
    /data/ChangeEvents retains."""
    server = restartable["servers"][-1]
    mapping: dict[str, ReplayMarker] = {}

    async def scenario() -> tuple[list[Message], Lifecycle, RecordingTokenAuthenticator]:
        auth = RecordingTokenAuthenticator(server)
        messages: list[Message] = []
        async with Client59(auth, replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS)) as client:
            for ch in CHANNELS:
                await client.subscribe(ch)
            rec = await asyncio.to_thread(account_lifecycle, server, uniq("aio-life"))
            await receive_until(
                client, messages,
                lambda ms: all(find_change(on(ms, ch), rec.id, "UNDELETE") for ch in CHANNELS),
                "the UNDELETE on both channels")
            await drain(client, messages)
        return messages, rec, auth

    messages, rec, auth = run(scenario())
    assert [m["ext"]["replay"] for _, m in auth.sent_on("/meta/subscribe")] == [{ALL: -1}, {CHANNEL: -1}]
    for ch in CHANNELS:
        got = on(messages, ch)
        assert len(got) == 4, f"exactly four events on {ch}: {summary(got)}"
        check_lifecycle(messages, rec, server.info["user_id"], ch)
        assert mapping[ch].replay_id == got[-1]["data"]["event"]["replayId"], (ch, mapping[ch])
    restartable.update(rec=rec, live={ch: on(messages, ch) for ch in CHANNELS}, mapping=dict(mapping))


def test_restart_replays_retained_and_resumes(restartable: dict[str, Any]) -> None:
    """SIGKILL, a new server on the same data directory (new port and token, so
    new clients): ALL_EVENTS (-2) gets the events from before the restart and
    the one after it; a DefaultMappingStorage with the stored ids only the later one."""
    assert "rec" in restartable, "the previous test stored its record and replay markers"
    rec: Lifecycle = restartable["rec"]
    old: Server = restartable["servers"][-1]
    assert old.kill(signal.SIGKILL) == -signal.SIGKILL
    server = start_server("streaming-restart-2", data_dir=restartable["data_dir"], in_memory=False)
    restartable["servers"].append(server)
    user_id = server.info["user_id"]
    assert user_id == old.info["user_id"]
    phone2 = "555-0147"
    resp = _rest(server, "PATCH", f"/sobjects/Account/{rec.id}", {"Phone": phone2})
    assert resp.status_code == 204, resp.text

    def is_later(m: Message) -> bool:
        return header(m)["changeType"] == "UPDATE" and m["data"]["payload"].get("Phone") == phone2

    async def read(replay: Any) -> tuple[list[Message], RecordingTokenAuthenticator]:
        auth = RecordingTokenAuthenticator(server)
        messages: list[Message] = []
        async with Client59(auth, replay=replay) as client:
            for ch in CHANNELS:
                await client.subscribe(ch)
            await receive_until(client, messages,
                                lambda ms: all(any(is_later(m) for m in on(ms, ch)) for ch in CHANNELS),
                                "the post-restart UPDATE on both channels")
            await drain(client, messages)
        return messages, auth

    replayed, _ = run(read(ReplayOption.ALL_EVENTS))
    stored = dict(restartable["mapping"])
    resumed, resumed_auth = run(read(DefaultMappingStorage(stored, ReplayOption.NEW_EVENTS)))
    assert [m["ext"]["replay"] for _, m in resumed_auth.sent_on("/meta/subscribe")] == [
        {ch: restartable["mapping"][ch].replay_id} for ch in CHANNELS]

    for ch in CHANNELS:
        got = on(replayed, ch)
        seed = [m for m in got if header(m)["entityName"] == "User"]
        accounts = [m for m in got if header(m)["entityName"] == "Account"]
        if ch == ALL:
            assert len(seed) == 1 and got[0] is seed[0], f"the seed User's CREATE first on {ch}: {summary(got)}"
            assert header(seed[0])["changeType"] == "CREATE"
            assert header(seed[0])["recordIds"] == [user_id]
        else:
            assert seed == [], summary(got)
        assert len(accounts) == 5, f"four retained Account events and the later one on {ch}: {summary(got)}"
        assert len(got) == len(seed) + len(accounts)
        assert [m["data"] for m in accounts[:4]] == [m["data"] for m in restartable["live"][ch]], \
            f"{ch}: retained events replay as delivered live"
        check_change_event(accounts[4], channel=ch, record_id=rec.id, change_type="UPDATE", user_id=user_id,
                           fields={"Phone": phone2})
        assert "LastModifiedDate" in header(accounts[4])["changedFields"]
        assert_increasing(got)

        later = on(resumed, ch)
        assert [m["data"] for m in later] == [accounts[4]["data"]], f"{ch} from the stored id: {summary(later)}"
        assert later[0]["data"]["event"]["replayId"] > restartable["mapping"][ch].replay_id

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
token makes aiocometd re-authenticate and resend the handshake once.

Every test is bounded by ``asyncio.wait_for`` (``TEST_TIMEOUT``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterator

import pytest
import requests
from aiosfstream_ng import Client, DefaultMappingStorage, ReplayMarker, ReplayOption
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.exceptions import ServerError

from harness import API_VERSION, Server, start_server, uniq

CHANNEL = "/data/AccountChangeEvent"
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


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TEST_TIMEOUT))


def check_change_event(msg: Message, *, channel: str, record_id: str, change_type: str,
                       user_id: str, fields: dict[str, Any] | None = None) -> None:
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
    assert h["changeOrigin"].startswith(f"com/salesforce/api/rest/{API_VERSION}"), h["changeOrigin"]
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

"""Platform events (org-rest-cdc.md 5, streaming-cometd.md 2.7):
``Order_Shipped__e`` (declared in ``fixtures/forcebus.toml``) published with
simple-salesforce (``sf.Order_Shipped__e.create()``: a 201 whose ``errors``
holds the ``OPERATION_ENQUEUED`` pseudo-error with the EventUuid, which
simple-salesforce hands back as is) and received through aiosfstream-ng on
``/event/Order_Shipped__e``: live events with their fields and EventUuid, a
``DefaultMappingStorage`` whose markers come from ``payload.CreatedDate``, a
second client resuming from the first event's replay id (exactly the later
two), ``ALL_EVENTS`` (-2), ``event.EventUuid`` only from endpoint API 52.0 on
(the client's stock ``/cometd/45.0`` gets none), publish errors as
simple-salesforce exceptions.

Runs its own server, so its event bus holds only what these tests publish.
Every streaming test is bounded by ``asyncio.wait_for`` (``TEST_TIMEOUT``).
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import pytest
import requests
from aiosfstream_ng import Client, DefaultMappingStorage, ReplayMarker, ReplayOption
from aiosfstream_ng.auth import AuthenticatorBase
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from harness import API_VERSION, Server, start_server

EVENT = "Order_Shipped__e"
CHANNEL = f"/event/{EVENT}"
TEST_TIMEOUT = 20.0
CREATED_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
Message = dict[str, Any]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("platform-events")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sf(server: Server) -> Salesforce:
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    return Salesforce(session_id=server.info["access_token"], instance_url=server.https_base,
                      session=session, version=API_VERSION)


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    """Carried between the tests of this module, which run in file order."""
    return {}


class TokenAuthenticator(AuthenticatorBase):
    """The ready line's token and plain-HTTP instance URL, no network call
    (aiosfstream's own authenticators only talk to login.salesforce.com)."""

    def __init__(self, server: Server) -> None:
        super().__init__()
        self._server = server

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        info = self._server.info
        return 200, {
            "access_token": info["access_token"],
            "token_type": "Bearer",
            "instance_url": info["instance_url"],
            "id": f"{info['instance_url']}/id/{info['org_id']}/{info['user_id']}",
        }


class Client59(Client):
    """The stock client on ``/cometd/59.0`` instead of its built-in 45.0."""

    @staticmethod
    def get_cometd_url(instance_url: str) -> str:
        return f"{instance_url}/cometd/{API_VERSION}"


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TEST_TIMEOUT))


async def receive_until(client: Client, messages: list[Message],
                        done: Callable[[list[Message]], bool], what: str, timeout: float = 15.0) -> None:
    async def pump() -> None:
        while not done(messages):
            messages.append(await client.receive())

    try:
        await asyncio.wait_for(pump(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; got {orders(messages)}") from None


async def drain(client: Client, messages: list[Message], settle: float = 0.25) -> None:
    """Give a stray extra event time to arrive, then take whatever is queued."""
    await asyncio.sleep(settle)
    while client.has_pending_messages:
        messages.append(await client.receive())


def orders(messages: list[Message]) -> list[Any]:
    return [m.get("data", {}).get("payload", {}).get("Order_Number__c") for m in messages]


def publish(sf: Salesforce, **fields: Any) -> str:
    """Publish one event with simple-salesforce; returns the EventUuid."""
    res = sf.Order_Shipped__e.create(fields)
    assert res["success"] is True, res
    assert res["id"].startswith("e0"), res
    assert len(res["errors"]) == 1, res
    err = res["errors"][0]
    assert err["statusCode"] == "OPERATION_ENQUEUED", res
    assert UUID.match(err["message"]), res
    assert err["fields"] == [], res
    return err["message"]


def check_event(msg: Message, *, user_id: str, uuid: str | None, fields: dict[str, Any]) -> None:
    assert msg["channel"] == CHANNEL
    assert "successful" not in msg
    data = msg["data"]
    assert sorted(data) == ["event", "payload", "schema"], data
    assert isinstance(data["schema"], str) and len(data["schema"]) == 22, data["schema"]
    payload = data["payload"]
    assert CREATED_DATE.match(payload["CreatedDate"]), payload["CreatedDate"]
    created = datetime.strptime(payload["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 600, payload["CreatedDate"]
    assert payload["CreatedById"] == user_id
    replay_id = data["event"]["replayId"]
    assert isinstance(replay_id, int) and not isinstance(replay_id, bool) and replay_id > 0, replay_id
    if uuid is None:
        assert "EventUuid" not in data["event"], data["event"]
    else:
        assert data["event"]["EventUuid"] == uuid, data["event"]
    for name, value in fields.items():
        assert payload.get(name) == value, f"payload.{name}: {payload.get(name)!r}"


def assert_increasing(messages: list[Message]) -> None:
    ids = [m["data"]["event"]["replayId"] for m in messages]
    assert all(a < b for a, b in zip(ids, ids[1:])), f"replay ids strictly increase: {ids}"


EVENTS = [
    {"Order_Number__c": "PY-1001", "Weight__c": 2.5, "Shipped__c": True, "Ship_Date__c": "2024-05-02"},
    {"Order_Number__c": "PY-1002", "Weight__c": 10.75},
    {"Order_Number__c": "PY-1003", "Shipped__c": False},
]


def test_receive_published_events(server: Server, sf: Salesforce, state: dict[str, Any]) -> None:
    """Subscribed with NEW_EVENTS through a DefaultMappingStorage: the three
    events published while subscribed arrive in order, with their fields and
    the EventUuid of their publish result; the storage keeps the last one's
    marker (``payload.CreatedDate``, replay id)."""
    schema = sf.restful(f"sobjects/{EVENT}/eventSchema", params={"payloadFormat": "COMPACT"})
    mapping: dict[str, ReplayMarker] = {}

    async def scenario() -> tuple[list[Message], list[str]]:
        messages: list[Message] = []
        async with Client59(TokenAuthenticator(server),
                            replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS)) as client:
            await client.subscribe(CHANNEL)
            uuids = [await asyncio.to_thread(publish, sf, **fields) for fields in EVENTS]
            await receive_until(client, messages, lambda ms: len(ms) >= 3, "the three events")
            await drain(client, messages)
        return messages, uuids

    messages, uuids = run(scenario())
    assert orders(messages) == ["PY-1001", "PY-1002", "PY-1003"], orders(messages)
    assert len(set(uuids)) == 3
    for msg, uuid, fields in zip(messages, uuids, EVENTS):
        check_event(msg, user_id=server.info["user_id"], uuid=uuid, fields=fields)
        assert msg["data"]["schema"] == schema["uuid"], "data.schema is the eventSchema's uuid"
    assert_increasing(messages)
    last = messages[-1]["data"]
    assert mapping[CHANNEL] == ReplayMarker(date=last["payload"]["CreatedDate"], replay_id=last["event"]["replayId"])
    state["live"] = messages


def test_resume_from_first_replay_id(server: Server, state: dict[str, Any]) -> None:
    """A replay storage holding the first event's marker: the new client
    receives exactly the later two, then the storage holds the last one."""
    live: list[Message] = state["live"]
    first = live[0]["data"]
    mapping = {CHANNEL: ReplayMarker(date=first["payload"]["CreatedDate"], replay_id=first["event"]["replayId"])}

    async def scenario() -> list[Message]:
        messages: list[Message] = []
        async with Client59(TokenAuthenticator(server),
                            replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS)) as client:
            await client.subscribe(CHANNEL)
            await receive_until(client, messages, lambda ms: len(ms) >= 2, "the two later events")
            await drain(client, messages, settle=0.5)
        return messages

    messages = run(scenario())
    assert [m["data"] for m in messages] == [m["data"] for m in live[1:]], \
        f"exactly the events after the stored id, as delivered live: {orders(messages)}"
    assert mapping[CHANNEL].replay_id == live[2]["data"]["event"]["replayId"]


def test_all_events_replays_then_live(server: Server, sf: Salesforce, state: dict[str, Any]) -> None:
    """ALL_EVENTS (-2): the three retained events exactly as delivered live,
    then one published while subscribed."""
    live: list[Message] = state["live"]

    async def scenario() -> tuple[list[Message], str]:
        messages: list[Message] = []
        async with Client59(TokenAuthenticator(server), replay=ReplayOption.ALL_EVENTS) as client:
            await client.subscribe(CHANNEL)
            await receive_until(client, messages, lambda ms: len(ms) >= 3, "the retained events")
            uuid = await asyncio.to_thread(publish, sf, Order_Number__c="PY-2001")
            await receive_until(client, messages, lambda ms: "PY-2001" in orders(ms), "the live event")
            await drain(client, messages)
        return messages, uuid

    messages, uuid = run(scenario())
    assert orders(messages) == ["PY-1001", "PY-1002", "PY-1003", "PY-2001"], orders(messages)
    assert [m["data"] for m in messages[:3]] == [m["data"] for m in live], "retained events replay as delivered live"
    check_event(messages[3], user_id=server.info["user_id"], uuid=uuid, fields={"Order_Number__c": "PY-2001"})
    assert_increasing(messages)
    state["all"] = messages


def test_no_eventuuid_before_api_52(server: Server, state: dict[str, Any]) -> None:
    """On the client's stock endpoint ``/cometd/45.0`` the same events arrive
    without ``event.EventUuid``: Salesforce documents the field for CometD
    clients from endpoint API version 52.0 on (platform_events_event_uuid)."""
    everything: list[Message] = state["all"]

    async def scenario() -> list[Message]:
        messages: list[Message] = []
        async with Client(TokenAuthenticator(server), replay=ReplayOption.ALL_EVENTS) as client:
            assert client.url.endswith("/cometd/45.0"), client.url  # the client's own default
            await client.subscribe(CHANNEL)
            await receive_until(client, messages, lambda ms: len(ms) >= len(everything), "the retained events")
            await drain(client, messages)
        return messages

    messages = run(scenario())
    assert orders(messages) == orders(everything), orders(messages)
    for old, new in zip(messages, everything):
        check_event(old, user_id=server.info["user_id"], uuid=None, fields={})
        assert old["data"] == {**new["data"], "event": {"replayId": new["data"]["event"]["replayId"]}}, \
            "on 45.0 the same event, without EventUuid"


def test_publish_errors_raise(sf: Salesforce) -> None:
    """Validation errors: 400 with a Salesforce error array, raised by
    simple-salesforce as SalesforceMalformedRequest."""
    cases = [
        ({"Weight__c": 1}, "REQUIRED_FIELD_MISSING", ["Order_Number__c"]),
        ({"Order_Number__c": "PY-" + "9" * 20}, "STRING_TOO_LONG", ["Order_Number__c"]),
        ({"Order_Number__c": "PY-3001", "Nope__c": 1}, "INVALID_FIELD", None),
        ({"Order_Number__c": "PY-3002", "Weight__c": 123456789.5}, "NUMBER_OUTSIDE_VALID_RANGE", ["Weight__c"]),
    ]
    for fields, code, names in cases:
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.Order_Shipped__e.create(fields)
        content = info.value.content
        assert isinstance(content, list) and len(content) == 1, content
        assert content[0]["errorCode"] == code, (fields, content)
        assert content[0]["message"], content
        if names is not None:
            assert content[0]["fields"] == names, content
        assert info.value.status == 400

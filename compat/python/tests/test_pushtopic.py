"""PushTopics (org-rest-cdc.md 3.5, streaming-cometd.md 2.4 and 2.7) through
simple-salesforce (``sf.PushTopic.create``) and aiosfstream-ng: a filtered
subscription ``/topic/<Name>?Industry=Technology`` accepted although aiosfstream
puts the whole subscription string in ``ext.replay`` (Salesforce keys it without
the query; forcebus takes either), next to ``/topic/<Name>``
on the same client (each notification under the exact string subscribed);
replay markers from ``data.event.createdDate``; resuming from a stored replay id.

(The Node clients cannot take a filtered channel: the CometD JS client refuses
"?" and "=" in a channel name, and faye accepts the subscribe but throws on the
first delivery; aiocometd does not check names.)

Runs its own server. Every test is bounded by ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Callable, Iterator

import pytest
import requests
from aiosfstream_ng import Client, DefaultMappingStorage, ReplayMarker, ReplayOption
from aiosfstream_ng.auth import AuthenticatorBase
from simple_salesforce import Salesforce

from harness import API_VERSION, Server, start_server, uniq

TEST_TIMEOUT = 20.0
CREATED_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
Message = dict[str, Any]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("pushtopic")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sf(server: Server) -> Salesforce:
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    return Salesforce(session_id=server.info["access_token"], instance_url=server.https_base,
                      session=session, version=API_VERSION)


class TokenAuthenticator(AuthenticatorBase):
    """The ready line's token and plain-HTTP instance URL, no network call."""

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
    @staticmethod
    def get_cometd_url(instance_url: str) -> str:
        return f"{instance_url}/cometd/{API_VERSION}"


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TEST_TIMEOUT))


def brief(messages: list[Message]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m["channel"], m["data"]["event"]["type"], m["data"]["sobject"]) for m in messages]


async def receive_until(client: Client, messages: list[Message],
                        done: Callable[[list[Message]], bool], what: str, timeout: float = 15.0) -> None:
    async def pump() -> None:
        while not done(messages):
            messages.append(await client.receive())

    try:
        await asyncio.wait_for(pump(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; got {brief(messages)}") from None


async def drain(client: Client, messages: list[Message], settle: float = 0.25) -> None:
    await asyncio.sleep(settle)
    while client.has_pending_messages:
        messages.append(await client.receive())


@pytest.fixture(scope="module")
def topic(sf: Salesforce) -> str:
    """A PushTopic on every Account (Referenced: Name and Industry)."""
    name = f"PyAcc{uniq('t').split('-')[1][:8]}"
    res = sf.PushTopic.create({
        "Name": name,
        "Query": "SELECT Id, Name, Industry FROM Account",
        "ApiVersion": 59.0,
        "NotifyForFields": "Referenced",
    })
    assert res["success"] is True and res["errors"] == [], res
    assert res["id"].startswith("0IF"), res
    return name


@pytest.fixture(scope="module")
def state() -> dict[str, Any]:
    """Carried between the tests of this module, which run in file order."""
    return {}


def test_filtered_channel_in_replay_map_is_accepted(server: Server, sf: Salesforce, topic: str) -> None:
    """aiosfstream keys ``ext.replay`` by the whole subscription string, query
    included (``{"/topic/N?Industry=Technology": -1}``). Salesforce looks the map up
    under the channel without its query; forcebus accepts either key, so the
    stock client subscribes to a filtered channel and gets only what matches."""
    filtered = f"/topic/{topic}?Industry=Technology"
    names = {k: uniq(f"py-ptf-{k}") for k in ("farm", "tech")}

    async def scenario() -> list[Message]:
        messages: list[Message] = []
        async with Client59(TokenAuthenticator(server), replay=ReplayOption.NEW_EVENTS) as client:
            await client.subscribe(filtered)
            await asyncio.to_thread(sf.Account.create, {"Name": names["farm"], "Industry": "Agriculture"})
            await asyncio.to_thread(sf.Account.create, {"Name": names["tech"], "Industry": "Technology"})
            await receive_until(client, messages, lambda m: len(m) >= 1, "the Technology account")
            await drain(client, messages)
        return messages

    got = run(scenario())
    assert [(m["channel"], m["data"]["sobject"]["Name"]) for m in got] == [(filtered, names["tech"])], brief(got)


def test_filtered_and_plain_subscriptions(server: Server, sf: Salesforce, topic: str, state: dict[str, Any]) -> None:
    """One client on ``/topic/N`` and ``/topic/N?Industry=Technology``, with an
    empty replay mapping (nothing stored yet, so no ``ext.replay``: -1): the
    plain channel gets every new Account, the filtered one only the Technology
    ones, each under its own channel string. The mapping then holds markers
    made from ``data.event.createdDate``."""
    plain = f"/topic/{topic}"
    filtered = f"/topic/{topic}?Industry=Technology"
    mapping: dict[str, ReplayMarker] = {}
    names = {k: uniq(f"py-pt-{k}") for k in ("farm", "tech", "tech2")}

    def create(key: str, industry: str) -> str:
        return sf.Account.create({"Name": names[key], "Industry": industry})["id"]

    async def live() -> tuple[list[Message], dict[str, str]]:
        messages: list[Message] = []
        ids: dict[str, str] = {}
        async with Client59(TokenAuthenticator(server), replay=mapping) as client:
            await client.subscribe(plain)
            await client.subscribe(filtered)
            ids["farm"] = await asyncio.to_thread(create, "farm", "Agriculture")
            ids["tech"] = await asyncio.to_thread(create, "tech", "Technology")
            ids["tech2"] = await asyncio.to_thread(create, "tech2", "Technology")
            await receive_until(
                client, messages,
                lambda ms: sum(1 for m in ms if m["data"]["sobject"]["Id"] == ids["tech2"]) == 2,
                "the last Account on both channels")
            await drain(client, messages)
        return messages, ids

    messages, ids = run(live())

    def note(channel: str, key: str, industry: str) -> tuple[str, str, dict[str, Any]]:
        return (channel, "created", {"Id": ids[key], "Name": names[key], "Industry": industry})

    on_plain = [m for m in messages if m["channel"] == plain]
    on_filtered = [m for m in messages if m["channel"] == filtered]
    assert len(on_plain) + len(on_filtered) == len(messages), f"no other channel names: {brief(messages)}"
    assert brief(on_plain) == [note(plain, "farm", "Agriculture"), note(plain, "tech", "Technology"),
                               note(plain, "tech2", "Technology")]
    assert brief(on_filtered) == [note(filtered, "tech", "Technology"), note(filtered, "tech2", "Technology")]
    for m in messages:
        assert "successful" not in m
        assert CREATED_DATE.match(m["data"]["event"]["createdDate"]), m["data"]["event"]
        assert sorted(m["data"]) == ["event", "sobject"], m["data"]
    ids_plain = [m["data"]["event"]["replayId"] for m in on_plain]
    assert ids_plain == sorted(set(ids_plain)), f"replay ids strictly increase: {ids_plain}"
    for channel, got in ((plain, on_plain), (filtered, on_filtered)):
        last = got[-1]["data"]["event"]
        assert mapping[channel] == ReplayMarker(date=last["createdDate"], replay_id=last["replayId"]), mapping
    state.update(on_plain=on_plain, names=names, ids=ids)


def test_resume_plain_topic_from_stored_id(server: Server, sf: Salesforce, topic: str, state: dict[str, Any]) -> None:
    """A DefaultMappingStorage holding the first notification's marker: the two
    later retained notifications, exactly as delivered live, then a new one."""
    plain = f"/topic/{topic}"
    on_plain: list[Message] = state["on_plain"]
    first = on_plain[0]["data"]["event"]
    mapping = {plain: ReplayMarker(date=first["createdDate"], replay_id=first["replayId"])}
    name = uniq("py-pt-after")

    async def scenario() -> tuple[list[Message], str]:
        got: list[Message] = []
        async with Client59(TokenAuthenticator(server),
                            replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS)) as client:
            await client.subscribe(plain)
            await receive_until(client, got, lambda ms: len(ms) >= 2, "the two later notifications")
            rid = await asyncio.to_thread(lambda: sf.Account.create({"Name": name, "Industry": "Banking"})["id"])
            await receive_until(client, got, lambda ms: any(m["data"]["sobject"]["Id"] == rid for m in ms),
                                "the new notification")
            await drain(client, got)
        return got, rid

    got, rid = run(scenario())
    assert [m["data"] for m in got[:2]] == [m["data"] for m in on_plain[1:]], brief(got)
    assert brief(got[2:]) == [(plain, "created", {"Id": rid, "Name": name, "Industry": "Banking"})], brief(got)
    assert mapping[plain].replay_id == got[-1]["data"]["event"]["replayId"]

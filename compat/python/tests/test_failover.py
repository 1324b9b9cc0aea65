"""Failover on PostgreSQL with a real Streaming API client (aiosfstream-ng, subscribed
with a replay-id storage): it rides through SIGKILL of the node serving its org and
reconnects by itself (re-handshake after `403::Unknown client`, resubscribe from the
stored replay id), getting every change event, in order, none twice. Twice over: a
second node waiting for the first's ports (a restart in place), and three nodes on ports
of their own with the client on one that does not serve the org."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from typing import Any, Iterator

import pytest
import requests
from aiosfstream_ng import DefaultMappingStorage, ReplayMarker, ReplayOption

from harness import Postgres, Server, free_port, start_server, uniq
from test_streaming import (
    CHANNEL,
    _rest,
    Client59,
    Message,
    RecordingTokenAuthenticator,
    acreate_account,
    assert_increasing,
    find_change,
    receive_until,
    summary,
)


@pytest.fixture
def cluster() -> Iterator[dict[str, Any]]:
    pg = Postgres()
    state: dict[str, Any] = {"pg": pg, "servers": []}
    try:
        yield state
    finally:
        for srv in state["servers"]:
            srv.stop()
        pg.stop()


def node(pg: Postgres, name: str, listen: tuple[str, str]) -> Server:
    return start_server(name, in_memory=False, listen=listen, extra=["--store", pg.url],
                        env={"FORCEBUS_LEASE_SECS": "2"})


def test_a_subscriber_rides_through_the_serving_node_being_killed(cluster: dict[str, Any]) -> None:
    pg: Postgres = cluster["pg"]
    listen = (f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}")
    first = node(pg, "failover-1", listen)
    cluster["servers"].append(first)
    took_over: list[Server] = []
    second = threading.Thread(target=lambda: took_over.append(node(pg, "failover-2", listen)))
    mapping: dict[str, ReplayMarker] = {}

    async def scenario() -> tuple[list[Message], list[str], RecordingTokenAuthenticator]:
        auth = RecordingTokenAuthenticator(first)
        messages: list[Message] = []
        ids: list[str] = []
        # connection_timeout=0: aiocometd-ng 0.5.6's reconnect watchdog passes `loop=` to
        # asyncio.wait_for, gone since Python 3.10, so on 3.10+ any reconnect makes
        # receive() raise TransportTimeoutError at once; without the watchdog the client
        # reconnects by itself, as it would on a Salesforce instance's restart.
        async with Client59(auth, replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS),
                            connection_timeout=0) as client:
            await client.subscribe(CHANNEL)
            ids.append(await acreate_account(first, Name=uniq("before")))
            await receive_until(client, messages, lambda ms: bool(find_change(ms, ids[0])), "the first event")
            second.start()
            await asyncio.sleep(1)
            assert not took_over, "the second node waits for the ports while the first holds them"
            first.kill(signal.SIGKILL)
            # The second node listens once the ports are free, and serves the org once the
            # first one's lease has expired (2 s).
            await asyncio.to_thread(second.join, 30)
            assert took_over, "the second node took over"
            cluster["servers"].append(took_over[0])
            # Written before the client has found the new node: replayed from its stored id.
            for n in range(3):
                ids.append(await acreate_when_served(took_over[0], Name=uniq(f"after-{n}")))
            await receive_until(client, messages, lambda ms: all(find_change(ms, i) for i in ids),
                                "every event after the takeover", timeout=40)
        return messages, ids, auth

    messages, ids, auth = asyncio.run(asyncio.wait_for(scenario(), 90))
    creates = [m for m in messages if m["data"]["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"]
    got = [m["data"]["payload"]["ChangeEventHeader"]["recordIds"][0] for m in creates]
    assert got == ids, f"every event once, in order: {summary(messages)}"
    assert_increasing(messages)
    assert_resubscribed(auth, messages[0]["data"]["event"]["replayId"])


def assert_resubscribed(auth: RecordingTokenAuthenticator, stored: int) -> None:
    handshakes = [m for _, m in auth.sent if m.get("channel") == "/meta/handshake"]
    assert len(handshakes) >= 2, "the client handshook again with the new node"
    subs = [m for _, m in auth.sent if m.get("channel") == "/meta/subscribe"]
    assert subs[-1]["ext"]["replay"][CHANNEL] == stored, \
        "it resubscribed from the replay id it had stored"


def create_when_served(server: Server, **fields: Any) -> str:
    """Creates an Account through ``server``, again while it answers 503 (no node serves
    the org: the seconds between its node's death and a takeover)."""
    deadline = time.monotonic() + 30
    while True:
        resp = _rest(server, "POST", "/sobjects/Account", fields)
        if resp.status_code != 503 or time.monotonic() > deadline:
            assert resp.status_code == 201, f"create Account: {resp.status_code} {resp.text}"
            return resp.json()["id"]
        time.sleep(0.2)


async def acreate_when_served(server: Server, **fields: Any) -> str:
    return await asyncio.to_thread(create_when_served, server, **fields)


def node_id(server: Server) -> str:
    return requests.get(f"http://{server.info['http']}/forcebus/health", timeout=5).json()["node"]


def test_a_subscriber_on_another_node_rides_through_the_serving_node_being_killed(
        cluster: dict[str, Any]) -> None:
    pg: Postgres = cluster["pg"]
    own_ports = ("127.0.0.1:0", "127.0.0.1:0")
    serving = node(pg, "spread-a", own_ports)
    cluster["servers"].append(serving)
    others = [node(pg, f"spread-{n}", own_ports) for n in ("b", "c")]
    cluster["servers"].extend(others)
    writer, through = others
    assert len({node_id(s) for s in (serving, writer, through)}) == 3
    mapping: dict[str, ReplayMarker] = {}

    stored: list[int] = []

    async def scenario() -> tuple[list[Message], list[str], RecordingTokenAuthenticator]:
        # The client signs in, handshakes and long-polls through a node that does not
        # serve the org: every call is passed on to the serving one.
        auth = RecordingTokenAuthenticator(through)
        messages: list[Message] = []
        ids: list[str] = []
        async with Client59(auth, replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS),
                            connection_timeout=0) as client:
            await client.subscribe(CHANNEL)
            ids.append(await acreate_account(serving, Name=uniq("before")))
            ids.append(await acreate_account(writer, Name=uniq("before-b")))
            await receive_until(client, messages, lambda ms: all(find_change(ms, i) for i in ids),
                                "the first events")
            stored.append(messages[-1]["data"]["event"]["replayId"])
            serving.kill(signal.SIGKILL)
            # Written through the third node once one of the two left has taken the org.
            for n in range(3):
                ids.append(await acreate_when_served(writer, Name=uniq(f"after-{n}")))
            await receive_until(client, messages, lambda ms: all(find_change(ms, i) for i in ids),
                                "every event after the takeover", timeout=40)
        return messages, ids, auth

    messages, ids, auth = asyncio.run(asyncio.wait_for(scenario(), 90))
    creates = [m for m in messages if m["data"]["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"]
    got = [m["data"]["payload"]["ChangeEventHeader"]["recordIds"][0] for m in creates]
    assert got == ids, f"every event once, in order: {summary(messages)}"
    assert_increasing(messages)
    assert_resubscribed(auth, stored[0])

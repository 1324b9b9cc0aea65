"""Failover on PostgreSQL with a real Streaming API client: two forcebus servers
on one database and the same ports (the second stands by without listening);
aiosfstream-ng, subscribed with a replay-id storage, stays connected through
SIGKILL of the serving one: it reconnects by itself when the standby has taken
over (re-handshake after `403::Unknown client`, resubscribe from the stored
replay id) and gets every change event, in order, none twice."""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any, Iterator

import pytest
from aiosfstream_ng import DefaultMappingStorage, ReplayMarker, ReplayOption

from harness import Postgres, Server, free_port, start_server, uniq
from test_streaming import (
    CHANNEL,
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
    standby = threading.Thread(target=lambda: took_over.append(node(pg, "failover-2", listen)))
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
            standby.start()
            await asyncio.sleep(1)
            assert not took_over, "the standby waits while the first node serves"
            first.kill(signal.SIGKILL)
            # The standby takes the lease once it expires (2 s) and listens on the same port.
            await asyncio.to_thread(standby.join, 30)
            assert took_over, "the standby took over"
            cluster["servers"].append(took_over[0])
            # Written before the client has found the new node: replayed from its stored id.
            for n in range(3):
                ids.append(await acreate_account(took_over[0], Name=uniq(f"after-{n}")))
            await receive_until(client, messages, lambda ms: all(find_change(ms, i) for i in ids),
                                "every event after the takeover", timeout=40)
        return messages, ids, auth

    messages, ids, auth = asyncio.run(asyncio.wait_for(scenario(), 90))
    creates = [m for m in messages if m["data"]["payload"]["ChangeEventHeader"]["changeType"] == "CREATE"]
    got = [m["data"]["payload"]["ChangeEventHeader"]["recordIds"][0] for m in creates]
    assert got == ids, f"every event once, in order: {summary(messages)}"
    assert_increasing(messages)
    handshakes = [m for _, m in auth.sent if m.get("channel") == "/meta/handshake"]
    assert len(handshakes) >= 2, "the client handshook again with the new node"
    subs = [m for _, m in auth.sent if m.get("channel") == "/meta/subscribe"]
    assert subs[-1]["ext"]["replay"][CHANNEL] == messages[0]["data"]["event"]["replayId"], \
        "it resubscribed from the replay id it had stored"

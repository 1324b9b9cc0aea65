"""aiosfstream-ng (aiocometd-ng underneath) behind a loopback proxy that abandons a
parked ``/meta/connect`` mid-hold: the proxy answers the client ``504`` while the
upstream request stays open, aiocometd retries its connect on the same clientId, and
the two connects overlap at the server. The session must live through a quiet longer
than the session timeout (1 s, ``fixtures/forcebus-streaming-overlap.toml``) and get
the next change event without a new handshake. On the build before the fix the session
was swept under the parked retry: the event never came and the next connect got
``403::Unknown client``.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import requests

from harness import COMPAT_DIR, Server, start_server, uniq
from test_streaming import (
    CHANNEL, TEST_TIMEOUT, Client59, Message, RecordingTokenAuthenticator, create_account,
    find_change, receive_until, wait_until,
)

CONFIG = str(COMPAT_DIR / "fixtures" / "forcebus-streaming-overlap.toml")
QUIET = 1.5  # seconds: longer than the fixture's session timeout (1 s)
ABANDON_AFTER = 0.5  # seconds the proxy waits before answering an abandoned connect 504


class AbandoningProxy:
    """Forwards every request to the server; the ``/meta/connect``s numbered in
    ``doomed`` (from 1) are answered ``504`` after ``ABANDON_AFTER`` while their upstream
    requests stay open. Keeps what the server finally answered each abandoned connect."""

    def __init__(self, upstream_port: int, doomed: set[int]) -> None:
        self.upstream_port = upstream_port
        self.doomed = doomed
        self.connects = 0
        self.abandoned = 0
        self.abandoned_answers: list[Any] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with proxy._lock:
                    is_connect = b'"/meta/connect"' in body
                    proxy.connects += is_connect
                    abandon = is_connect and proxy.connects in proxy.doomed
                if abandon:
                    threading.Thread(target=proxy._answer_upstream, args=(self, body), daemon=True).start()
                    threading.Event().wait(ABANDON_AFTER)
                    with proxy._lock:
                        proxy.abandoned += 1
                    self._reply(504, b"gateway timeout", "text/plain")
                    self.close_connection = True
                    return
                status, data, ctype = proxy._forward(self, body)
                self._reply(status, data, ctype)

            def _reply(self, status: int, data: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(handler.command, handler.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, data, resp.getheader("Content-Type", "application/json")

    def _answer_upstream(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        _, data, _ = self._forward(handler, body)
        with self._lock:
            self.abandoned_answers.append(json.loads(data))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ProxiedAuthenticator(RecordingTokenAuthenticator):
    """The ready line's token, with the proxy as the instance URL."""

    def __init__(self, server: Server, proxy: AbandoningProxy) -> None:
        super().__init__(server)
        self._proxy = proxy

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        status, body = await super()._authenticate()
        return status, {**body, "instance_url": self._proxy.base}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("streaming-overlap", CONFIG)
    yield srv
    srv.stop()


def sweep_by_handshake(server: Server) -> None:
    """A handshake straight to the server, which sweeps expired sessions when it makes one."""
    resp = requests.post(
        f"{server.info['instance_url']}/cometd/59.0",
        json=[{"channel": "/meta/handshake", "version": "1.0",
               "supportedConnectionTypes": ["long-polling"]}],
        headers={"Authorization": f"Bearer {server.info['access_token']}"},
        timeout=10,
    )
    assert resp.json()[0]["successful"] is True, resp.text


def test_abandoned_connect_keeps_the_session(server: Server) -> None:
    # A session's first connect is answered at once; the second is the first the server
    # parks, and the proxy gives up on it.
    proxy = AbandoningProxy(server.port, doomed={2})

    async def scenario() -> tuple[list[Message], str, ProxiedAuthenticator]:
        auth = ProxiedAuthenticator(server, proxy)
        # connection_timeout=0: aiocometd-ng 0.5.6 (the newest) passes ``loop=`` to
        # ``asyncio.wait_for`` in the watchdog that enforces it, which Python 3.10 removed,
        # so a ``receive()`` made while its transport is reconnecting (here: the retry
        # after the 504, parked until the event comes) fails at once with
        # TransportTimeoutError on Python >= 3.10, whatever the server does. Without the
        # watchdog the client waits on its parked retry as it would on Python 3.9.
        async with Client59(auth, connection_timeout=0) as client:
            await client.subscribe(CHANNEL)
            await wait_until(lambda: proxy.abandoned >= 1 and proxy.abandoned_answers,
                             "the server to release the abandoned connect")
            # A quiet past the session timeout while the retry is parked, then a sweep.
            await asyncio.sleep(QUIET)
            await asyncio.to_thread(sweep_by_handshake, server)
            record_id = await asyncio.to_thread(create_account, server, Name=uniq("overlap"))
            messages: list[Message] = []
            await receive_until(client, messages, lambda ms: find_change(ms, record_id) is not None,
                                "the change event after the quiet")
            # The session goes on: the next connect gets the next event. (On the build
            # before the fix the parked connect still answered with the first event, but
            # the session was gone and the next connect got 403::Unknown client.)
            second = await asyncio.to_thread(create_account, server, Name=uniq("overlap-2"))
            await receive_until(client, messages, lambda ms: find_change(ms, second) is not None,
                                "the change event after that")
        return messages, second, auth

    try:
        messages, record_id, auth = asyncio.run(asyncio.wait_for(scenario(), TEST_TIMEOUT))
    finally:
        proxy.close()

    assert find_change(messages, record_id) is not None
    # The released connect was answered empty and successful (to the proxy only).
    released = proxy.abandoned_answers[0]
    assert [(m["channel"], m["successful"]) for m in released] == [("/meta/connect", True)], released
    # One session throughout: one handshake, every connect on its clientId, no 403.
    handshakes = [m for m in auth.meta("/meta/handshake") if m.get("successful")]
    assert len(handshakes) == 1, auth.meta("/meta/handshake")
    client_id = handshakes[0]["clientId"]
    connects = [m for _, m in auth.sent_on("/meta/connect")]
    assert len(connects) >= 3, connects
    assert all(m["clientId"] == client_id for m in connects)
    assert not [m for m in auth.meta("/meta/connect") if m.get("successful") is False]

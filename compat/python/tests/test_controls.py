"""What aiosfstream-ng (aiocometd-ng underneath) really does when the test
controls (``/forcebus/v1/control``) make Salesforce's streaming failures happen.

Every client authenticates with the stock ``PasswordAuthenticator`` whose
token URL (hard-coded to login.salesforce.com) is the server's
``/services/oauth2/token``: each ``authenticate()`` is a real password grant
handing out a fresh token, and the tests count them. A recording extension
keeps every Bayeux message sent (with its ``Authorization`` header) and received.

* ``drop_sessions`` while an ``async for`` loop receives: the parked connect is
  answered ``successful``, the next one gets ``403::Unknown client``;
  aiocometd re-authenticates once (a new token), resends, gets the 403 again,
  follows the ``handshake`` advice and resubscribes in the first connect's
  batch from the stored replay id: an Account created right after the drop
  arrives in the same loop, and so does one created after the resubscribe.
* Replay ids aged out by ``clock advance_secs`` 73 h (access tokens expire too):
  a new client with a stored id gets ``ServerError`` 400 with Salesforce's
  text, ``replay_fallback`` resubscribes with -2. A connected client whose
  stored id ages out, then a dropped session: the automatic resubscribe fails
  with that 400 — which aiocometd swallows: the channel leaves
  ``client.subscriptions``, ``replay_fallback`` is not applied, ``receive()``
  raises nothing and later events never arrive.
* ``delivery_delay_ms`` 1500: an event arrives no sooner than 1.5 s after its
  create was sent (and after its ``commitTimestamp``); after
  ``DELETE /forcebus/v1/control`` promptly.
* ``GAP_UPDATE`` for real record ids and ``GAP_OVERFLOW`` from
  ``/control/gap``: delivered to aiosfstream on ``/data/AccountChangeEvent``
  and ``/data/ChangeEvents`` as header-only events, stored as replay markers.

Every test is bounded by ``asyncio.wait_for`` (``TEST_TIMEOUT``).
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any, Callable, Iterator

import pytest
import requests
from aiosfstream_ng import Client, DefaultMappingStorage, ReplayMarker, ReplayOption
from aiosfstream_ng.auth import PasswordAuthenticator
from aiosfstream_ng.exceptions import ServerError

from harness import API_VERSION, Server, start_server, uniq

CHANNEL = "/data/AccountChangeEvent"
ALL = "/data/ChangeEvents"
TEST_TIMEOUT = 20.0
AGE_OUT_SECS = 73 * 3600  # past the 72 h retention of change events
OVERFLOW_ID = "000000000000000AAA"
UNKNOWN_CLIENT = {
    "channel": "/meta/connect", "error": "403::Unknown client",
    "advice": {"interval": 0, "reconnect": "handshake"}, "successful": False,
}
Message = dict[str, Any]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """For the tests that leave the clock alone; each clears the controls it set."""
    srv = start_server("controls")
    yield srv
    srv.stop()


@pytest.fixture
def aged_server() -> Iterator[Server]:
    """A server of its own for a test that moves the org's clock (durably)."""
    srv = start_server("controls-clock")
    yield srv
    srv.stop()


# --- the client side ----------------------------------------------------------


class LocalPasswordAuthenticator(PasswordAuthenticator):
    """The stock username-password flow against the server's token URL, as an
    aiocometd extension that also records the exchange: ``sent`` (each message
    with the Authorization header it went with), ``batches`` (each POST's
    messages), ``received``, and the token every ``authenticate()`` got."""

    def __init__(self, server: Server) -> None:
        super().__init__(
            consumer_key=server.info["client_id"],
            consumer_secret=server.info["client_secret"],
            username=server.info["username"],
            password=server.info["password"],
        )
        self._server = server
        self.sent: list[tuple[str, Message]] = []
        self.batches: list[list[Message]] = []
        self.received: list[Message] = []
        self.tokens: list[str] = []

    @property
    def _token_url(self) -> str:
        return f"{self._server.info['instance_url']}/services/oauth2/token"

    async def authenticate(self) -> None:
        await super().authenticate()
        assert self.access_token
        self.tokens.append(self.access_token)

    async def outgoing(self, payload: list[Message], headers: dict[str, str]) -> None:
        await super().outgoing(payload, headers)
        self.batches.append(copy.deepcopy(payload))
        self.sent.extend((headers.get("Authorization", ""), copy.deepcopy(m)) for m in payload)

    async def incoming(self, payload: list[Message], headers: Any = None) -> None:
        await super().incoming(payload, headers)
        self.received.extend(copy.deepcopy(m) for m in payload)

    def meta(self, channel: str) -> list[Message]:
        return [m for m in self.received if m.get("channel") == channel]

    def sent_on(self, channel: str) -> list[tuple[str, Message]]:
        return [(a, m) for a, m in self.sent if m.get("channel") == channel]

    def connect_parked(self) -> bool:
        """A connect is out with no reply yet."""
        return len(self.sent_on("/meta/connect")) > len(self.meta("/meta/connect"))


class Client59(Client):
    """The stock client on ``/cometd/59.0`` instead of its built-in 45.0."""

    @staticmethod
    def get_cometd_url(instance_url: str) -> str:
        return f"{instance_url}/cometd/{API_VERSION}"


# --- the server side ------------------------------------------------------------


def control(server: Server, method: str, path: str = "", body: dict[str, Any] | None = None,
            status: int = 200) -> dict[str, Any]:
    """``/forcebus/v1/control{path}`` with the ready line's admin key."""
    resp = requests.request(
        method, f"{server.info['instance_url']}/forcebus/v1/control{path}", json=body,
        headers={"Authorization": f"Bearer {server.info['admin_key']}"}, timeout=10)
    assert resp.status_code == status, f"{method} control{path} {body}: {resp.status_code} {resp.text}"
    return resp.json()


async def acontrol(server: Server, method: str, path: str = "", body: dict[str, Any] | None = None,
                   status: int = 200) -> dict[str, Any]:
    return await asyncio.to_thread(control, server, method, path, body, status)


def password_login(server: Server) -> str:
    resp = requests.post(f"{server.info['instance_url']}/services/oauth2/token", data={
        "grant_type": "password",
        "client_id": server.info["client_id"],
        "client_secret": server.info["client_secret"],
        "username": server.info["username"],
        "password": server.info["password"],
    }, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def create(server: Server, sobject: str, token: str | None = None, **fields: Any) -> str:
    resp = requests.post(
        f"{server.info['instance_url']}/services/data/v{API_VERSION}/sobjects/{sobject}",
        json=fields,
        headers={"Authorization": f"Bearer {token or server.info['access_token']}"},
        timeout=10,
    )
    assert resp.status_code == 201, f"create {sobject}: {resp.status_code} {resp.text}"
    return resp.json()["id"]


async def acreate(server: Server, sobject: str = "Account", token: str | None = None, **fields: Any) -> str:
    return await asyncio.to_thread(create, server, sobject, token, **fields)


# --- receiving --------------------------------------------------------------------


def header(msg: Message) -> dict[str, Any]:
    return msg["data"]["payload"]["ChangeEventHeader"]


def replay_id(msg: Message) -> int:
    return msg["data"]["event"]["replayId"]


def find(messages: list[Message], record_id: str, change_type: str = "CREATE") -> Message | None:
    for m in messages:
        h = m["data"]["payload"]["ChangeEventHeader"]
        if h["changeType"] == change_type and record_id in h["recordIds"]:
            return m
    return None


def summary(messages: list[Message]) -> str:
    return repr([(m["channel"], replay_id(m), header(m)["changeType"], header(m)["recordIds"]) for m in messages])


async def receive_until(client: Client, messages: list[Message], done: Callable[[list[Message]], bool],
                        what: str, timeout: float = 10.0) -> None:
    async def pump() -> None:
        while not done(messages):
            messages.append(await client.receive())

    try:
        await asyncio.wait_for(pump(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; got {summary(messages)}") from None


async def wait_until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    async def poll() -> Any:
        while not (v := check()):
            await asyncio.sleep(0.02)
        return v

    try:
        return await asyncio.wait_for(poll(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


async def park_connect(auth: LocalPasswordAuthenticator) -> None:
    """Wait until a connect is out, and give it time to reach the server and
    park there (so a control answers it rather than the next one)."""
    await wait_until(auth.connect_parked, "a connect on its way to the server")
    await asyncio.sleep(0.5)


def invalid_replay_error(rid: int) -> str:
    """streaming-cometd.md 2.5; two spaces after "invalid."."""
    return (f"400::The replayId {{{rid}}} you provided was invalid.  Please provide a valid ID, "
            "-2 to replay all events, or -1 to replay only new events.")


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, TEST_TIMEOUT))


def without_ids(m: Message) -> Message:
    return {k: v for k, v in m.items() if k not in ("id", "clientId")}


# --- tests --------------------------------------------------------------------------


def test_dropped_session_reauthenticates_rehandshakes_and_resubscribes(server: Server) -> None:
    """``{"drop_sessions": true}`` while ``async for`` receives: the parked
    connect comes back ``successful``; the next gets ``403::Unknown client``;
    aiocometd calls ``authenticate()`` once (a fresh token), resends the connect
    (same clientId), gets the 403 again, handshakes and sends the resubscribe
    with the first connect, carrying the replay id the storage kept. An Account
    created right after the drop (before the client sends anything again) and
    one created after the resubscribe both arrive in the same loop, once each."""

    async def scenario() -> tuple[LocalPasswordAuthenticator, list[Message], list[str], dict[str, ReplayMarker]]:
        auth = LocalPasswordAuthenticator(server)
        mapping: dict[str, ReplayMarker] = {}
        got: list[Message] = []
        ids: list[str] = []
        async with Client59(auth, replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS)) as client:
            await client.subscribe(CHANNEL)
            ids.append(await acreate(server, Name=uniq("ctl-drop-before")))
            async for msg in client:
                got.append(msg)
                if len(got) == 1:
                    await park_connect(auth)
                    # Blocking calls: the event loop, and so the client, waits
                    # until both are done. The second Account is committed while
                    # the client has no session; only the replay can bring it.
                    drops = control(server, "GET")["streaming"]["session_drops"]
                    state = control(server, "POST", "/streaming", {"drop_sessions": True})
                    assert state["streaming"]["session_drops"] == drops + 1, state
                    ids.append(create(server, "Account", Name=uniq("ctl-drop-during")))
                elif len(got) == 2:
                    await wait_until(lambda: [m.get("successful") for m in auth.meta("/meta/subscribe")] == [True, True],
                                     "the automatic resubscribe's reply")
                    ids.append(await acreate(server, Name=uniq("ctl-drop-after")))
                else:
                    break
        return auth, got, ids, mapping

    auth, got, ids, mapping = run(scenario())
    assert [header(m)["recordIds"] for m in got] == [[i] for i in ids], summary(got)
    assert all(header(m)["changeType"] == "CREATE" and m["channel"] == CHANNEL for m in got), summary(got)
    rids = [replay_id(m) for m in got]
    assert rids == sorted(rids) and len(set(rids)) == 3, rids
    assert mapping[CHANNEL].replay_id == rids[2]

    # One token request for the dropped session, on top of the one at open().
    assert len(auth.tokens) == 2 and auth.tokens[0] != auth.tokens[1], auth.tokens
    hs = auth.meta("/meta/handshake")
    assert [m["successful"] for m in hs] == [True, True], hs
    old, new = hs[0]["clientId"], hs[1]["clientId"]
    assert old != new

    # The connects of the old session: ..., the parked one answered at the
    # drop (successful), then the 403 twice — the second is the resend after
    # authenticate(), same clientId, new token.
    replies = [m for m in auth.meta("/meta/connect") if m.get("clientId", old) == old]
    assert replies[-3]["successful"] is True and "error" not in replies[-3], replies[-3:]
    assert [without_ids(m) for m in replies[-2:]] == [UNKNOWN_CLIENT] * 2, replies[-2:]
    old_connects = [(a, m) for a, m in auth.sent_on("/meta/connect") if m["clientId"] == old]
    assert [a for a, _ in old_connects[-2:]] == [f"Bearer {auth.tokens[0]}", f"Bearer {auth.tokens[1]}"], \
        old_connects[-2:]
    assert [m["id"] for _, m in old_connects[-2:]] == [r["id"] for r in replies[-2:]]

    # The new session: the handshake alone, then one POST with its first
    # connect and the resubscribe, replay id = the event received before the drop.
    at = next(i for i, b in enumerate(auth.batches) if b[0]["channel"] == "/meta/handshake" and i > 0)
    handshake, first = auth.batches[at], auth.batches[at + 1]
    assert [m["channel"] for m in handshake] == ["/meta/handshake"]
    assert [m["channel"] for m in first] == ["/meta/connect", "/meta/subscribe"], first
    assert first[1]["clientId"] == new and first[1]["subscription"] == CHANNEL
    assert first[1]["ext"]["replay"] == {CHANNEL: rids[0]}, first[1]
    assert all(a == f"Bearer {auth.tokens[1]}" for a, m in auth.sent if m.get("clientId") == new)
    assert [m["ext"]["replay"] for _, m in auth.sent_on("/meta/subscribe")] == [{CHANNEL: -1}, {CHANNEL: rids[0]}]


def test_aged_out_replay_id_on_subscribe(aged_server: Server) -> None:
    """A consumer stores the replay id of the first event, goes away while
    another change happens, and comes back after 73 h of org time: both events
    are purged and the ready line's token has expired. The new client's
    password grant works; ``subscribe()`` raises ``ServerError`` 400 with
    Salesforce's text; with ``replay_fallback=ALL_EVENTS`` it resubscribes with
    -2 and gets only what was written after the jump."""
    server = aged_server
    mapping: dict[str, ReplayMarker] = {}

    async def first_run() -> int:
        got: list[Message] = []
        async with Client59(LocalPasswordAuthenticator(server),
                            replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS)) as client:
            await client.subscribe(CHANNEL)
            early = await acreate(server, Name=uniq("ctl-aged-early"))
            await receive_until(client, got, lambda ms: bool(find(ms, early)), "the early event")
        return replay_id(got[0])

    stored = run(first_run())
    assert mapping[CHANNEL].replay_id == stored
    create(server, "Account", Name=uniq("ctl-aged-unseen"))  # later than the stored id, never received
    clock = control(server, "POST", "/clock", {"advance_secs": AGE_OUT_SECS})["clock"]
    assert clock["offset_secs"] == AGE_OUT_SECS, clock
    stale = requests.get(f"{server.info['instance_url']}/services/data/v{API_VERSION}/limits",
                         headers={"Authorization": f"Bearer {server.info['access_token']}"}, timeout=10)
    assert stale.status_code == 401 and stale.json()[0]["errorCode"] == "INVALID_SESSION_ID", stale.text

    async def refused() -> tuple[ServerError, LocalPasswordAuthenticator]:
        auth = LocalPasswordAuthenticator(server)
        async with Client59(auth, replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS)) as client:
            with pytest.raises(ServerError) as info:
                await client.subscribe(CHANNEL)
        return info.value, auth

    err, auth = run(refused())
    assert len(auth.tokens) == 1, "the fresh token from the password grant was accepted"
    assert err.error_code == 400, err.response
    assert err.response["error"] == invalid_replay_error(stored), err.response
    assert err.response["subscription"] == CHANNEL and err.response["successful"] is False
    [(_, sent)] = auth.sent_on("/meta/subscribe")
    assert sent["ext"]["replay"] == {CHANNEL: stored}
    assert mapping[CHANNEL].replay_id == stored, "a failed subscribe leaves the storage alone"

    token = password_login(server)

    async def falls_back() -> tuple[list[Message], str, LocalPasswordAuthenticator]:
        auth = LocalPasswordAuthenticator(server)
        got: list[Message] = []
        async with Client59(auth, replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS),
                            replay_fallback=ReplayOption.ALL_EVENTS) as client:
            await client.subscribe(CHANNEL)
            late = await acreate(server, token=token, Name=uniq("ctl-aged-late"))
            await receive_until(client, got, lambda ms: bool(find(ms, late)), "the event written after the jump")
            await asyncio.sleep(0.25)
            while client.has_pending_messages:
                got.append(await client.receive())
        return got, late, auth

    got, late, auth = run(falls_back())
    assert [m["ext"]["replay"] for _, m in auth.sent_on("/meta/subscribe")] == [{CHANNEL: stored}, {CHANNEL: -2}]
    assert [m.get("error") for m in auth.meta("/meta/subscribe")] == [invalid_replay_error(stored), None]
    assert [header(m)["recordIds"] for m in got] == [[late]], f"-2 replays nothing purged: {summary(got)}"
    assert mapping[CHANNEL].replay_id == replay_id(got[0]) > stored


def test_aged_out_replay_id_on_automatic_resubscribe(aged_server: Server) -> None:
    """A connected client whose stored replay id ages out (73 h jump; a Contact
    change newer than the stored id is purged too), then its session is
    dropped: the parked connect comes back ``successful``, the next one (with
    the old token) gets ``403::Unknown client``, aiocometd
    re-authenticates once, gets the 403 again, handshakes, and the automatic
    resubscribe (batched with the first connect) carries the stored id and is
    refused with the 400. aiocometd drops that reply (it queues only non-meta
    messages): no ``ServerError`` from ``receive()``, no ``replay_fallback``
    (-2) although one is configured, the channel silently leaves
    ``client.subscriptions`` while the client keeps connecting, and an Account
    created afterwards never arrives."""
    server = aged_server

    async def scenario() -> tuple[LocalPasswordAuthenticator, list[Message], int, BaseException | None]:
        auth = LocalPasswordAuthenticator(server)
        mapping: dict[str, ReplayMarker] = {}
        got: list[Message] = []
        raised: BaseException | None = None
        async with Client59(auth, replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS),
                            replay_fallback=ReplayOption.ALL_EVENTS) as client:
            await client.subscribe(CHANNEL)
            seen = await acreate(server, Name=uniq("ctl-live-seen"))
            await receive_until(client, got, lambda ms: bool(find(ms, seen)), "the event before the jump")
            stored = mapping[CHANNEL].replay_id
            # A change of another entity: on no channel of this client, but in
            # the same retention class, and newer than the stored id.
            await acreate(server, "Contact", LastName=uniq("ctl-live-contact"))
            await park_connect(auth)
            # Blocking: the client sends nothing between the jump and the drop.
            clock = control(server, "POST", "/clock", {"advance_secs": AGE_OUT_SECS})["clock"]
            assert clock["offset_secs"] == AGE_OUT_SECS, clock
            control(server, "POST", "/streaming", {"drop_sessions": True})
            await wait_until(lambda: len(auth.meta("/meta/subscribe")) == 2, "the automatic resubscribe's reply")
            await wait_until(lambda: auth.connect_parked() and auth.meta("/meta/connect")[-1].get("successful"),
                             "the new session connecting on")
            token = await asyncio.to_thread(password_login, server)
            after = await acreate(server, token=token, Name=uniq("ctl-live-after"))
            try:
                got.append(await asyncio.wait_for(client.receive(), 3.0))
            except asyncio.TimeoutError:
                pass
            except Exception as exc:  # noqa: BLE001 - what the client raises is the finding
                raised = exc
            assert find(got, after) is None, summary(got)
            assert auth.connect_parked(), "the client is still connected, with a connect parked"
            subs_left = set(client.subscriptions)
            assert subs_left == set(), f"the refused channel leaves the transport's set: {subs_left}"
            assert not client.closed
        return auth, got, stored, raised

    auth, got, stored, raised = run(scenario())
    assert raised is None, f"receive() raised {raised!r}"
    assert len(got) == 1, f"nothing after the event seen before the jump: {got}"
    assert len(auth.tokens) == 2 and auth.tokens[0] != auth.tokens[1], auth.tokens

    connects = [without_ids(m) for m in auth.meta("/meta/connect")]
    unknown = next(i for i, m in enumerate(connects) if m.get("error"))
    assert connects[unknown - 1]["successful"] is True, "the parked connect, answered at the drop"
    assert connects[unknown:unknown + 2] == [UNKNOWN_CLIENT] * 2, connects
    # The new session's first connect (batched with the refused resubscribe)
    # succeeded; the next one is parked (checked in the scenario).
    assert len(connects) == unknown + 3 and connects[-1]["successful"] is True, connects
    # The first 403 answered the old token (the session is looked up first),
    # its resend went with the fresh one: aiocometd re-authenticates on any 403.
    old = auth.meta("/meta/handshake")[0]["clientId"]
    old_connects = [a for a, m in auth.sent_on("/meta/connect") if m["clientId"] == old]
    assert old_connects[-2:] == [f"Bearer {auth.tokens[0]}", f"Bearer {auth.tokens[1]}"], old_connects

    subs_sent = [m["ext"]["replay"] for _, m in auth.sent_on("/meta/subscribe")]
    assert subs_sent == [{CHANNEL: -1}, {CHANNEL: stored}], f"no -2 fallback on the automatic path: {subs_sent}"
    at = max(i for i, b in enumerate(auth.batches) if b[0]["channel"] == "/meta/handshake")
    assert [m["channel"] for m in auth.batches[at + 1]] == ["/meta/connect", "/meta/subscribe"], auth.batches[at + 1]
    replies = auth.meta("/meta/subscribe")
    assert replies[1]["error"] == invalid_replay_error(stored), replies
    assert replies[1]["successful"] is False and replies[1]["subscription"] == CHANNEL
    assert [m["successful"] for m in auth.meta("/meta/handshake")] == [True, True]


def test_delivery_delay(server: Server) -> None:
    """``{"delivery_delay_ms": 1500}``: the event reaches the client no sooner
    than 1.5 s after the create was sent, and 1.5 s after its commitTimestamp;
    after ``DELETE /forcebus/v1/control`` the next one is prompt."""

    async def scenario() -> tuple[list[Message], list[tuple[float, float, float, int]]]:
        got: list[Message] = []
        timings: list[tuple[float, float, float, int]] = []
        try:
            async with Client59(LocalPasswordAuthenticator(server), replay=ReplayOption.NEW_EVENTS) as client:
                await client.subscribe(CHANNEL)
                for delay in (1500, None):
                    if delay:
                        state = await acontrol(server, "POST", "/streaming", {"delivery_delay_ms": delay})
                    else:
                        state = await acontrol(server, "DELETE")
                    assert state["streaming"]["delivery_delay_ms"] == (delay or 0), state
                    sent = time.monotonic()
                    rid = await acreate(server, Name=uniq("ctl-delay"))
                    returned = time.monotonic()
                    await receive_until(client, got, lambda ms: bool(find(ms, rid)), "the delayed event")
                    timings.append((sent, returned, time.monotonic(), int(time.time() * 1000)))
        finally:
            await acontrol(server, "DELETE")
        return got, timings

    got, timings = run(scenario())
    assert len(got) == 2, summary(got)
    (sent, returned, arrived, wall_ms), (_, returned2, arrived2, _) = timings
    assert arrived - sent >= 1.5, f"delayed event after {arrived - sent:.3f}s"
    assert wall_ms >= header(got[0])["commitTimestamp"] + 1500, (wall_ms, header(got[0])["commitTimestamp"])
    assert arrived2 - returned2 < 1.0, f"undelayed event {arrived2 - returned2:.3f}s after the create returned"


def test_gap_and_overflow_events(server: Server) -> None:
    """``/control/gap``: a GAP_UPDATE naming two real Accounts and a
    GAP_OVERFLOW reach aiosfstream on /data/AccountChangeEvent and
    /data/ChangeEvents as the control answered them: a header only
    (changeOrigin "", no changed fields, no record fields), its replay id;
    aiosfstream stores their markers like any change event's."""
    user_id = server.info["user_id"]
    mapping: dict[str, ReplayMarker] = {}

    async def scenario() -> tuple[list[Message], list[str], dict[str, Any], dict[str, Any]]:
        got: list[Message] = []
        async with Client59(LocalPasswordAuthenticator(server),
                            replay=DefaultMappingStorage(mapping, ReplayOption.NEW_EVENTS)) as client:
            for ch in (CHANNEL, ALL):
                await client.subscribe(ch)
            ids = [await acreate(server, Name=uniq("ctl-gap")) for _ in range(2)]
            gap = await acontrol(server, "POST", "/gap",
                                 {"object": "Account", "changeType": "GAP_UPDATE", "recordIds": ids}, status=201)
            overflow = await acontrol(server, "POST", "/gap", {"object": "Account", "overflow": True}, status=201)

            def done(ms: list[Message]) -> bool:
                return all(find([m for m in ms if m["channel"] == ch], OVERFLOW_ID, "GAP_OVERFLOW")
                           for ch in (CHANNEL, ALL))

            await receive_until(client, got, done, "the overflow event on both channels")
            await asyncio.sleep(0.25)
            while client.has_pending_messages:
                got.append(await client.receive())
        return got, ids, gap, overflow

    got, ids, gap, overflow = run(scenario())
    [gap_event] = gap["events"]
    [overflow_event] = overflow["events"]
    for ch in (CHANNEL, ALL):
        mine = [m for m in got if m["channel"] == ch]
        assert [(header(m)["changeType"], header(m)["recordIds"]) for m in mine] == [
            ("CREATE", [ids[0]]), ("CREATE", [ids[1]]), ("GAP_UPDATE", ids), ("GAP_OVERFLOW", [OVERFLOW_ID])
        ], summary(mine)
        for m, answered, change_type, record_ids in ((mine[2], gap_event, "GAP_UPDATE", ids),
                                                     (mine[3], overflow_event, "GAP_OVERFLOW", [OVERFLOW_ID])):
            assert set(m["data"]) == {"schema", "payload", "event"}, m
            assert m["data"]["event"] == {"replayId": answered["replayId"]}
            assert list(m["data"]["payload"]) == ["ChangeEventHeader"], f"no record fields: {m['data']['payload']}"
            h = header(m)
            # The control answers the protocol-neutral header; CometD JSON omits
            # nulledFields and diffFields (org-rest-cdc.md 4.2), as on the CREATEs.
            assert set(h) == set(header(mine[0])), (h, header(mine[0]))
            assert h == {k: v for k, v in answered["ChangeEventHeader"].items()
                         if k not in ("nulledFields", "diffFields")}, (h, answered)
            assert answered["ChangeEventHeader"]["nulledFields"] == answered["ChangeEventHeader"]["diffFields"] == []
            assert h["entityName"] == "Account" and h["changeType"] == change_type and h["recordIds"] == record_ids
            assert h["changeOrigin"] == ""
            assert h["changedFields"] == []
            assert h["sequenceNumber"] == 1 and h["commitUser"] == user_id
            assert isinstance(h["commitNumber"], int) and isinstance(h["transactionKey"], str) and h["transactionKey"]
            assert isinstance(h["commitTimestamp"], int) and h["commitTimestamp"] > 1_600_000_000_000
        creates = {header(m)["transactionKey"] for m in mine[:2]}
        assert header(mine[2])["transactionKey"] not in creates, "a transaction of its own"
        assert header(mine[3])["transactionKey"] != header(mine[2])["transactionKey"]
        assert replay_id(mine[0]) < replay_id(mine[1]) < replay_id(mine[2]) < replay_id(mine[3])
        assert mapping[ch] == ReplayMarker(date=str(header(mine[3])["commitTimestamp"]), replay_id=replay_id(mine[3]))

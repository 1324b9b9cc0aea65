"""forcebus's test controls (/forcebus/v1/control) seen through raw grpcio stubs: each
Pub/Sub failure armed for Subscribe and for a unary call (GetTopic, Publish) as the status
code, details and trailing metadata grpcio exposes; `times` counting; `end_streams` ending
an open Subscribe; a GAP_OVERFLOW (and a GAP_UPDATE) change event decoded with ``avro``.
Its own server (the controls are server-wide), every control cleared after each test."""

from __future__ import annotations

import io
import json
import re
import threading
import time
import urllib.request
from typing import Any

import avro.io
import avro.schema
import grpc
import pytest

from conftest import Server, start_server

TOPIC = "/data/AccountChangeEvent"
EVENT_TOPIC = "/event/Order_Shipped__e"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PREFIX = "sfdc.platform.eventbus.grpc."

# fail -> (status, Salesforce's text before " rpcId: …" ({org}/{topic} filled in), error-code)
FAILURES: dict[str, tuple[grpc.StatusCode, str, str | None]] = {
    "replayid.corrupted": (
        grpc.StatusCode.INVALID_ARGUMENT,
        "The Replay ID validation failed. Ensure that the Replay ID is valid.",
        PREFIX + "subscription.fetch.replayid.corrupted"),
    "RESOURCE_EXHAUSTED": (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "The service received too many connections and doesn't have the resources to accept new connections.",
        None),
    "UNAVAILABLE": (
        grpc.StatusCode.UNAVAILABLE,
        "upstream connect error or disconnect/reset before headers. reset reason: remote reset",
        None),
    "service.unavailable": (
        grpc.StatusCode.INTERNAL,
        "The service is unavailable. Try again later",
        PREFIX + "service.unavailable"),
    "auth.error": (
        grpc.StatusCode.UNAUTHENTICATED,
        "An authentication exception occurred. Provide valid authentication via metadata headers.",
        PREFIX + "service.auth.error"),
    "topic.not.found": (
        grpc.StatusCode.NOT_FOUND,
        "The topic information for org {org} and topic {topic} not found. "
        "Ensure the topic name is correct and that the topic exists.",
        PREFIX + "topic.not.found"),
    "subscription.limit.exceeded": (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "You have exceeded the event delivery limit for your org.",
        PREFIX + "subscription.limit.exceeded"),
    "managed.subscription.already.active": (
        grpc.StatusCode.ALREADY_EXISTS,
        "An active managed subscription with the same ID already exists. If a previous subscription "
        "with the same ID was stopped, there can be a delay before it expires. Try subscribing again later.",
        PREFIX + "managed.subscription.already.active"),
}


@pytest.fixture(scope="module")
def srv():
    s = start_server("controls")
    yield s
    s.stop()


def control(srv: Server, method: str, path: str = "", body: dict | None = None) -> Any:
    req = urllib.request.Request(
        f"http://{srv.info['http']}/forcebus/v1/control{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {srv.info['admin_key']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture
def stub(srv: Server, pb):
    channel = grpc.insecure_channel(srv.info["grpc"])
    yield pb[1].PubSubStub(channel)
    channel.close()
    control(srv, "DELETE")


def assert_status(err: grpc.RpcError, srv: Server, fail: str, topic: str = TOPIC) -> None:
    """Code, details = text + " rpcId: " + the rpc-id trailer, error-code present or absent."""
    code, text, error_code = FAILURES[fail]
    assert err.code() == code
    trailers = dict(err.trailing_metadata())
    assert UUID.match(trailers["rpc-id"]), trailers
    assert err.details() == text.format(org=srv.info["org_id"], topic=topic) + " rpcId: " + trailers["rpc-id"]
    assert trailers.get("error-code") == error_code, trailers


def requests_until(done: threading.Event, *reqs):
    """The given FetchRequests, then the request stream stays open (no half-close) until
    `done` is set, as a long-lived subscriber's would."""
    yield from reqs
    done.wait(15)


def fetch(pb2, n: int = 100):
    return pb2.FetchRequest(topic_name=TOPIC, replay_preset=pb2.ReplayPreset.EARLIEST, num_requested=n)


def decode(stub, pb2, srv: Server, schema_id: str, payload: bytes) -> dict:
    info = stub.GetSchema(pb2.SchemaRequest(schema_id=schema_id), metadata=srv.metadata())
    schema = avro.schema.parse(info.schema_json)
    return avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(payload)))


@pytest.mark.parametrize("fail", list(FAILURES))
def test_failure_on_subscribe(srv, stub, pb, fail):
    pb2, _ = pb
    control(srv, "POST", "/pubsub", {"fail": fail, "rpc": "Subscribe", "times": 1})
    done = threading.Event()
    responses = []
    with pytest.raises(grpc.RpcError) as err:
        try:
            for resp in stub.Subscribe(requests_until(done, fetch(pb2)), metadata=srv.metadata(), timeout=10):
                responses.append(resp)
        finally:
            done.set()
    # Right after the first FetchRequest, before any FetchResponse.
    assert responses == []
    assert_status(err.value, srv, fail)
    assert control(srv, "GET")["pubsub"]["fail"] == []


@pytest.mark.parametrize("rpc", ["GetTopic", "Publish"])
@pytest.mark.parametrize("fail", list(FAILURES))
def test_failure_on_a_unary_call_then_the_next_call_works(srv, stub, pb, fail, rpc):
    pb2, _ = pb

    # One Order_Shipped__e event, Avro-encoded with the topic's schema (fetched before the
    # failure is armed).
    topic = stub.GetTopic(pb2.TopicRequest(topic_name=EVENT_TOPIC), metadata=srv.metadata())
    info = stub.GetSchema(pb2.SchemaRequest(schema_id=topic.schema_id), metadata=srv.metadata())
    buf = io.BytesIO()
    avro.io.DatumWriter(avro.schema.parse(info.schema_json)).write({
        "CreatedDate": int(time.time() * 1000), "CreatedById": srv.info["user_id"],
        "Order_Number__c": "P-1", "Weight__c": None, "Shipped__c": None, "Ship_Date__c": None,
        "Shipped_At__c": None}, avro.io.BinaryEncoder(buf))
    event = pb2.ProducerEvent(id="c-1", schema_id=topic.schema_id, payload=buf.getvalue())

    def call():
        if rpc == "GetTopic":
            return stub.GetTopic(pb2.TopicRequest(topic_name=EVENT_TOPIC), metadata=srv.metadata(), timeout=10)
        return stub.Publish(pb2.PublishRequest(topic_name=EVENT_TOPIC, events=[event]),
                            metadata=srv.metadata(), timeout=10)

    control(srv, "POST", "/pubsub", {"fail": fail, "rpc": rpc, "times": 1})
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert_status(err.value, srv, fail, EVENT_TOPIC)
    ok = call()
    assert len(ok.rpc_id) == 36
    if rpc == "GetTopic":
        assert ok.topic_name == EVENT_TOPIC and ok.schema_id == topic.schema_id
    else:
        assert len(ok.results) == 1 and ok.results[0].correlation_key == "c-1"
        assert not ok.results[0].HasField("error"), ok.results[0].error
        assert int.from_bytes(ok.results[0].replay_id, "big") > 0


def test_times_counts_calls_of_the_armed_rpc_only(srv, stub, pb):
    pb2, _ = pb
    control(srv, "POST", "/pubsub", {"fail": "UNAVAILABLE", "rpc": "GetTopic", "times": 3})
    control(srv, "POST", "/pubsub", {"fail": "auth.error", "rpc": "Subscribe", "times": 1})

    def get_topic():
        return stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=srv.metadata(), timeout=10)

    for left in (2, 1, 0):
        with pytest.raises(grpc.RpcError) as err:
            get_topic()
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        armed = control(srv, "GET")["pubsub"]["fail"]
        want = [{"fail": "UNAVAILABLE", "rpc": "GetTopic", "remaining": left}] if left else []
        assert armed == want + [{"fail": "auth.error", "rpc": "Subscribe", "remaining": 1}]
    assert get_topic().topic_name == TOPIC
    # GetSchema was not armed; the Subscribe failure is still waiting.
    assert stub.GetSchema(pb2.SchemaRequest(schema_id=get_topic().schema_id), metadata=srv.metadata()).schema_json
    assert control(srv, "GET")["pubsub"]["fail"] == [{"fail": "auth.error", "rpc": "Subscribe", "remaining": 1}]


def test_without_rpc_any_call_fails(srv, stub, pb):
    pb2, _ = pb
    control(srv, "POST", "/pubsub", {"fail": "service.unavailable", "times": 2})
    with pytest.raises(grpc.RpcError) as first:
        stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=srv.metadata(), timeout=10)
    with pytest.raises(grpc.RpcError) as second:
        stub.GetSchema(pb2.SchemaRequest(schema_id="x"), metadata=srv.metadata(), timeout=10)
    for err in (first, second):
        assert_status(err.value, srv, "service.unavailable")
    assert stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=srv.metadata(), timeout=10).schema_id


def test_end_streams_ends_an_open_subscribe_with_internal(srv, stub, pb):
    pb2, _ = pb
    acct = srv.rest("POST", "/sobjects/Account", {"Name": "End streams"})["id"]
    done = threading.Event()
    call = stub.Subscribe(requests_until(done, fetch(pb2)), metadata=srv.metadata(), timeout=15)
    got: list[str] = []
    try:
        with pytest.raises(grpc.RpcError) as err:
            for resp in call:
                for e in resp.events:
                    event = decode(stub, pb2, srv, e.event.schema_id, e.event.payload)
                    got.append(event["ChangeEventHeader"]["recordIds"][0])
                    if acct in got:
                        # The stream is open and has delivered: end every open stream.
                        control(srv, "POST", "/pubsub", {"end_streams": True})
    finally:
        done.set()
    assert acct in got
    assert_status(err.value, srv, "service.unavailable")
    # Not sticky: a new Subscribe delivers again.
    done2 = threading.Event()
    call2 = stub.Subscribe(requests_until(done2, fetch(pb2, n=1)), metadata=srv.metadata(), timeout=10)
    try:
        first = next(iter(call2))
        assert len(first.events) == 1
    finally:
        done2.set()
        call2.cancel()


@pytest.mark.parametrize("gap", ["overflow", "GAP_UPDATE"])
def test_gap_event_on_subscribe_decoded_with_avro(srv, stub, pb, gap):
    pb2, _ = pb
    if gap == "overflow":
        body = {"object": "Account", "overflow": True}
        change_type, ids = "GAP_OVERFLOW", ["000000000000000AAA"]
    else:
        acct = srv.rest("POST", "/sobjects/Account", {"Name": "Gap"})["id"]
        body = {"object": "Account", "changeType": "GAP_UPDATE", "recordIds": [acct]}
        change_type, ids = "GAP_UPDATE", [acct]
    made = control(srv, "POST", "/gap", body)["events"]
    assert len(made) == 1
    replay_id = made[0]["replayId"]

    topic = stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=srv.metadata())
    done = threading.Event()
    call = stub.Subscribe(requests_until(done, fetch(pb2)), metadata=srv.metadata(), timeout=10)
    found = None
    try:
        for resp in call:
            for e in resp.events:
                if int.from_bytes(e.replay_id, "big") == replay_id:
                    found = e
            if found:
                break
    finally:
        done.set()
        call.cancel()
    assert found is not None
    assert found.event.schema_id == topic.schema_id
    event = decode(stub, pb2, srv, found.event.schema_id, found.event.payload)
    header = event.pop("ChangeEventHeader")
    assert header["changeType"] == change_type
    assert header["entityName"] == "Account"
    assert header["recordIds"] == ids
    assert header["changeOrigin"] == ""
    assert header["sequenceNumber"] == 1
    assert header["commitUser"] == srv.info["user_id"]
    assert header["transactionKey"] == made[0]["ChangeEventHeader"]["transactionKey"]
    assert header["commitNumber"] == made[0]["ChangeEventHeader"]["commitNumber"]
    assert header["changedFields"] == header["nulledFields"] == header["diffFields"] == []
    # No record data: every other field of the record is present and null.
    schema = avro.schema.parse(stub.GetSchema(pb2.SchemaRequest(schema_id=topic.schema_id),
                                              metadata=srv.metadata()).schema_json)
    assert set(event) == {f.name for f in schema.fields} - {"ChangeEventHeader"}
    assert "Name" in event and "BillingAddress" in event
    assert {k: v for k, v in event.items() if v is not None} == {}

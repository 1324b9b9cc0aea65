"""A grpcio client generated from the proto inside the npm package, over plaintext:
GetTopic, GetSchema, and Subscribe with the flow-control loop of Salesforce's official
Python example (a semaphore released only when a non-empty response reports
``pending_num_requested == 0``), payloads decoded with the Apache ``avro`` package and
bitmaps expanded the way that example does (``bitstring``)."""

from __future__ import annotations

import io
import threading

import avro.io
import avro.schema
import grpc
import pytest
from bitstring import BitArray

TOPIC = "/data/AccountChangeEvent"


def field_names(hex_str: str, record: avro.schema.RecordSchema) -> list[str]:
    """Bit i of the hex bitmap (least significant first) names field i of the record."""
    bits = BitArray(hex=hex_str[2:]).bin[::-1]
    return [record.fields[i].name for i, b in enumerate(bits) if b == "1"]


def record_branch(schema: avro.schema.Schema) -> avro.schema.RecordSchema | None:
    if isinstance(schema, avro.schema.UnionSchema):
        return next((s for s in schema.schemas if isinstance(s, avro.schema.RecordSchema)), None)
    return schema if isinstance(schema, avro.schema.RecordSchema) else None


def expand(record: avro.schema.RecordSchema, bitmap: list[str]) -> list[str]:
    """changedFields / nulledFields to names: element 0 top level, then `pos-0xbits`
    entries for compound fields, named `Parent.Child`."""
    names: list[str] = []
    for entry in bitmap:
        if entry.startswith("0x"):
            names += field_names(entry, record)
        elif "-" in entry:
            pos, hex_str = entry.split("-", 1)
            parent = record.fields[int(pos)]
            child = record_branch(parent.type)
            assert child is not None, f"{parent.name} is not compound"
            names += [f"{parent.name}.{n}" for n in field_names(hex_str, child)]
    return names


class Schemas:
    """GetSchema once per schema id, as the official example caches them."""

    def __init__(self, stub, pb2, metadata) -> None:
        self.stub, self.pb2, self.metadata, self.cache = stub, pb2, metadata, {}

    def get(self, schema_id: str) -> avro.schema.RecordSchema:
        if schema_id not in self.cache:
            info = self.stub.GetSchema(self.pb2.SchemaRequest(schema_id=schema_id), metadata=self.metadata)
            assert info.schema_id == schema_id and info.rpc_id
            self.cache[schema_id] = avro.schema.parse(info.schema_json)
        return self.cache[schema_id]


def decode(schema: avro.schema.RecordSchema, payload: bytes) -> dict:
    return avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(payload)))


def test_get_topic(server, stub, pb):
    pb2, _ = pb
    info = stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=server.metadata())
    assert info.topic_name == TOPIC
    assert info.tenant_guid == server.info["org_id"]
    assert info.can_subscribe is True
    assert info.can_publish is False
    assert len(info.schema_id) == 22
    assert len(info.rpc_id) == 36


def test_get_schema(server, stub, pb):
    pb2, _ = pb
    topic = stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=server.metadata())
    info = stub.GetSchema(pb2.SchemaRequest(schema_id=topic.schema_id), metadata=server.metadata())
    schema = avro.schema.parse(info.schema_json)
    assert schema.fullname == "com.sforce.eventbus.AccountChangeEvent"
    assert schema.fields[0].name == "ChangeEventHeader"
    header = schema.fields[0].type
    assert [f.name for f in header.fields][-3:] == ["nulledFields", "diffFields", "changedFields"]
    assert info.schema_id == topic.schema_id


def test_subscribe_with_the_official_flow_control_loop(server, stub, pb):
    pb2, _ = pb
    acct = server.rest("POST", "/sobjects/Account", {"Name": "Grpc Co", "Phone": "555-0100"})["id"]
    server.rest("PATCH", f"/sobjects/Account/{acct}", {"Name": "Acme", "Phone": "555-0199"})
    server.rest("PATCH", f"/sobjects/Account/{acct}", {"Phone": None, "BillingCity": "Lyon"})
    server.rest("DELETE", f"/sobjects/Account/{acct}")
    other = server.rest("POST", "/sobjects/Account", {"Name": "Second"})["id"]

    semaphore = threading.Semaphore(1)
    stop = threading.Event()
    requests_sent = []

    def fetch_requests():
        # As the official example: each release of the semaphore sends one FetchRequest.
        while True:
            semaphore.acquire()
            if stop.is_set():
                return
            requests_sent.append(2)
            yield pb2.FetchRequest(topic_name=TOPIC, replay_preset=pb2.ReplayPreset.EARLIEST, num_requested=2)

    schemas = Schemas(stub, pb2, server.metadata())
    call = stub.Subscribe(fetch_requests(), metadata=server.metadata())
    responses, decoded = [], []
    try:
        for resp in call:
            responses.append((len(resp.events), resp.pending_num_requested, resp.latest_replay_id))
            assert len(resp.latest_replay_id) == 8
            if resp.events:
                if resp.pending_num_requested == 0:
                    semaphore.release()
                for e in resp.events:
                    schema = schemas.get(e.event.schema_id)
                    event = decode(schema, e.event.payload)
                    header = event["ChangeEventHeader"]
                    decoded.append({
                        "replay_id": int.from_bytes(e.replay_id, "big"),
                        "type": header["changeType"],
                        "ids": header["recordIds"],
                        "changed": expand(schema, header["changedFields"]),
                        "nulled": expand(schema, header["nulledFields"]),
                        "event": event,
                    })
                assert int.from_bytes(resp.latest_replay_id, "big") == decoded[-1]["replay_id"]
            if len(decoded) >= 5:
                break
    finally:
        stop.set()
        semaphore.release()
        call.cancel()

    assert [d["type"] for d in decoded] == ["CREATE", "UPDATE", "UPDATE", "DELETE", "CREATE"]
    assert [d["ids"] for d in decoded] == [[acct]] * 4 + [[other]]
    assert decoded[0]["changed"] == [] and decoded[0]["event"]["Name"] == "Grpc Co"
    assert sorted(decoded[1]["changed"]) == ["LastModifiedDate", "Name", "Phone"]
    assert decoded[1]["event"]["Phone"] == "555-0199"
    assert sorted(decoded[2]["changed"]) == ["BillingAddress.City", "LastModifiedDate", "Phone"]
    assert decoded[2]["nulled"] == ["Phone"]
    assert decoded[2]["event"]["BillingAddress"]["City"] == "Lyon"
    ids = [d["replay_id"] for d in decoded]
    assert ids == sorted(ids)
    # Two events per request, and the exact credit left after each batch.
    assert [(n, p) for n, p, _ in responses if n] == [(2, 0), (2, 0), (1, 1)]
    assert len(requests_sent) == 3


def test_auth_failure_has_salesforces_status_and_trailer(server, stub, pb):
    pb2, _ = pb
    with pytest.raises(grpc.RpcError) as err:
        stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=server.metadata(token="00D000000000001!bogus"))
    e = err.value
    assert e.code() == grpc.StatusCode.UNAUTHENTICATED
    assert e.details().startswith(
        "An authentication exception occurred. Provide valid authentication via metadata headers. rpcId: ")
    trailers = dict(e.trailing_metadata())
    assert trailers["error-code"] == "sfdc.platform.eventbus.grpc.service.auth.error"
    assert e.details().endswith(trailers["rpc-id"])


def test_a_replay_id_beyond_the_log_is_corrupted(server, stub, pb):
    pb2, _ = pb
    req = pb2.FetchRequest(topic_name=TOPIC, replay_preset=pb2.ReplayPreset.CUSTOM,
                           replay_id=(2**62).to_bytes(8, "big"), num_requested=1)
    with pytest.raises(grpc.RpcError) as err:
        for _ in stub.Subscribe(iter([req]), metadata=server.metadata()):
            pass
    e = err.value
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert dict(e.trailing_metadata())["error-code"] == (
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted")


def test_unknown_topic_is_not_found(server, stub, pb):
    pb2, _ = pb
    with pytest.raises(grpc.RpcError) as err:
        stub.GetTopic(pb2.TopicRequest(topic_name="/data/NopeChangeEvent"), metadata=server.metadata())
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert err.value.details().startswith(
        f"The topic information for org {server.info['org_id']} and topic /data/NopeChangeEvent not found.")


def test_plaintext_and_tls_share_the_port(server, pb):
    pb2, pbg = pb
    with open(server.info["ca_cert"], "rb") as f:
        creds = grpc.ssl_channel_credentials(root_certificates=f.read())
    port = server.info["grpc"].rsplit(":", 1)[1]
    with grpc.secure_channel(f"localhost:{port}", creds) as channel:
        info = pbg.PubSubStub(channel).GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=server.metadata())
    assert info.topic_name == TOPIC

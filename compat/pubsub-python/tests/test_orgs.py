"""Many orgs on one server through grpcio (stubs from the npm package's proto): an org's
token reaches its own org's Pub/Sub API and events; a subscriber with org A's token and
org B's `tenantid` is refused UNAUTHENTICATED with Salesforce's auth trailer, as a
`tenantid` that is not the token's org is on Salesforce."""

from __future__ import annotations

import io
import json
import threading
import urllib.request

import avro.io
import avro.schema
import grpc
import pytest

TOPIC = "/data/AccountChangeEvent"


def admin(server, method: str, path: str, body: dict | None = None):
    req = urllib.request.Request(
        f"http://{server.info['http']}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.info['admin_key']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
    return json.loads(text) if text else None


def create_account(server, org: dict, name: str) -> str:
    req = urllib.request.Request(
        f"http://{server.info['http']}/services/data/v59.0/sobjects/Account", method="POST",
        data=json.dumps({"Name": name}).encode(),
        headers={"Authorization": f"Bearer {org['access_token']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["id"]


def metadata(server, org: dict, tenant: str | None = None) -> tuple:
    return (("accesstoken", org["access_token"]), ("instanceurl", f"https://{server.info['http']}"),
            ("tenantid", tenant or org["org_id"]))


@pytest.fixture
def two_orgs(server):
    orgs = [admin(server, "POST", "/forcebus/v1/orgs", {"name": f"grpc-{i}"}) for i in range(2)]
    yield orgs
    for o in orgs:
        admin(server, "DELETE", f"/forcebus/v1/orgs/{o['org_id']}")


def subscribe(stub, pb2, md, want: int) -> list:
    """Subscribes from EARLIEST; the decoded events once `want` arrived (or the call ended)."""
    stop = threading.Event()

    def requests():
        yield pb2.FetchRequest(topic_name=TOPIC, replay_preset=pb2.ReplayPreset.EARLIEST, num_requested=10)
        stop.wait(30)

    call = stub.Subscribe(requests(), metadata=md, timeout=15)
    events = []
    try:
        for resp in call:
            for e in resp.events:
                schema = avro.schema.parse(stub.GetSchema(pb2.SchemaRequest(schema_id=e.event.schema_id),
                                                          metadata=md).schema_json)
                events.append(avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(e.event.payload))))
            if len(events) >= want:
                break
    finally:
        stop.set()
        call.cancel()
    return events


def test_an_orgs_token_reaches_only_its_own_events(server, stub, pb, two_orgs):
    pb2, _ = pb
    a, b = two_orgs
    create_account(server, b, "Org B's")
    mine = create_account(server, a, "Org A's")
    topic = stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=metadata(server, a))
    assert topic.topic_name == TOPIC
    events = subscribe(stub, pb2, metadata(server, a), 1)
    assert [e["ChangeEventHeader"]["recordIds"] for e in events] == [[mine]]
    assert events[0]["Name"] == "Org A's"


def test_another_orgs_tenantid_is_refused(server, stub, pb, two_orgs):
    pb2, _ = pb
    a, b = two_orgs
    for call in (
        lambda md: stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=md),
        lambda md: list(stub.Subscribe(iter([pb2.FetchRequest(topic_name=TOPIC, num_requested=1)]),
                                       metadata=md, timeout=10)),
    ):
        with pytest.raises(grpc.RpcError) as err:
            call(metadata(server, a, tenant=b["org_id"]))
        e = err.value
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e
        assert dict(e.trailing_metadata())["error-code"] == "sfdc.platform.eventbus.grpc.service.auth.error"
    # The default org's tenantid with org A's token is refused too.
    with pytest.raises(grpc.RpcError) as err:
        stub.GetTopic(pb2.TopicRequest(topic_name=TOPIC), metadata=metadata(server, a, tenant=server.info["org_id"]))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

"""Every standard object with change events, through the Pub/Sub API: a record of each
(made over REST with its required fields, required parents first) publishes a CREATE
whose schema GetSchema resolves and the Apache ``avro`` package decodes, with the
record's id in its header and its entity name in the schema."""

from __future__ import annotations

import json
import queue
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import start_server
from test_pubsub_grpc import Schemas, decode

SAMPLES = {
    "int": 1, "double": 1, "currency": 1, "percent": 1, "long": 1,
    "date": "2026-01-02", "datetime": "2026-01-02T03:04:05.000Z", "time": "03:04:05.000Z",
    "email": "catalogue@example.com", "url": "https://example.com", "base64": "aGVsbG8=",
}


class Org:
    def __init__(self, server):
        self.server, self.describes, self.made = server, {}, {}

    def call(self, method, path, body=None):
        try:
            return self.server.rest(method, path, body)
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path} {json.dumps(body)}: {e.code} {e.read()!r}") from None

    def describe(self, name):
        if name not in self.describes:
            try:
                self.describes[name] = self.server.rest("GET", f"/sobjects/{name}/describe")
            except urllib.error.HTTPError:
                self.describes[name] = None
        return self.describes[name]

    def record(self, name, depth=0):
        """A record of `name` with its required fields (made once), or None."""
        if name == "User":
            return self.server.info["user_id"]
        if name in self.made:
            return self.made[name]
        if name == "Pricebook2":
            # Prices start in the Standard Price Book.
            q = urllib.parse.quote("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
            self.made[name] = self.call("GET", f"/query?q={q}")["records"][0]["Id"]
            return self.made[name]
        if name == "ContentDocument":
            # A document is made by its first version.
            version = self.record("ContentVersion", depth + 1)
            self.made[name] = self.call("GET", f"/sobjects/ContentVersion/{version}")["ContentDocumentId"]
            return self.made[name]
        d = self.describe(name)
        if d is None or not d["createable"] or depth > 4:
            return None
        body = {}
        for f in d["fields"]:
            if f["nillable"] or not f["createable"] or f["defaultedOnCreate"] or f["type"] == "boolean":
                continue
            if f["type"] == "reference":
                value = next((i for i in (self.record(t, depth + 1) for t in f["referenceTo"]) if i), None)
                if value is None:
                    return None
            elif f["type"] in ("picklist", "multipicklist", "combobox"):
                value = next((p["value"] for p in f["picklistValues"] if p["active"]), "A")
            else:
                value = SAMPLES.get(f["type"], "Catalogue!"[: max(1, min(10, f["length"] or 10))])
            body[f["name"]] = value
        if name == "Event":
            # A start and a duration (or an end), which describe cannot say.
            body.update(StartDateTime="2026-12-01T09:00:00.000Z", DurationInMinutes=30)
        if name == "PricebookEntry":
            # A line item (an opportunity's or a quote's) is priced from an active entry only.
            body.update(IsActive=True)
        if name == "OpportunityLineItem":
            # Its entry is nillable in describe (a product id may stand for it), but one of
            # them must be given.
            body.update(PricebookEntryId=self.record("PricebookEntry", depth + 1), UnitPrice=1)
        self.made[name] = self.call("POST", f"/sobjects/{name}", body)["id"]
        return self.made[name]


@pytest.fixture(scope="module")
def fresh():
    srv = start_server("catalogue")
    yield srv
    srv.stop()


def test_every_change_event_object_publishes_a_create_the_avro_reader_decodes(fresh, pb):
    import grpc

    pb2, pb2_grpc = pb
    org = Org(fresh)
    entries = org.call("GET", "/sobjects")["sobjects"]
    entities = {
        e["associateParentEntity"]: e["name"]
        for e in entries
        if e.get("associateEntityType") == "ChangeEvent" and not e["associateParentEntity"].endswith("__c")
    }
    assert {"CampaignChangeEvent", "Product2ChangeEvent", "ContentVersionChangeEvent",
            "OrderChangeEvent", "EventChangeEvent", "QuoteChangeEvent", "QuoteLineItemChangeEvent",
            "AccountContactRelationChangeEvent"} <= set(entities.values())
    made = {name: org.record(name) for name in sorted(entities) if name != "User"}
    # Salesforce makes these itself (approval processes, quick-text usage): they are not
    # createable through the data API. Everything else was made (User is the org's own
    # user: no CREATE to wait for).
    assert sorted(name for name, rid in made.items() if not rid) == [
        "ProcessInstance", "ProcessInstanceStep", "QuickTextUsage"]
    made = {name: rid for name, rid in made.items() if rid}
    # The Standard Price Book was born with the org (no event): a custom book has one.
    made["Pricebook2"] = org.call("POST", "/sobjects/Pricebook2", {"Name": "Catalogue"})["id"]

    channel = grpc.insecure_channel(fresh.info["grpc"])
    stub = pb2_grpc.PubSubStub(channel)
    schemas = Schemas(stub, pb2, fresh.metadata())
    wanted = {rid: name for name, rid in made.items()}
    seen: dict[str, str] = {}
    more: queue.Queue[bool] = queue.Queue()
    more.put(True)

    def requests():
        # 100 events a request (Salesforce's most), another when they have all come.
        first = True
        while more.get():
            preset = pb2.ReplayPreset.EARLIEST if first else pb2.ReplayPreset.LATEST
            first = False
            yield pb2.FetchRequest(topic_name="/data/ChangeEvents", replay_preset=preset, num_requested=100)

    call = stub.Subscribe(requests(), metadata=fresh.metadata(), timeout=60)
    try:
        for resp in call:
            for e in resp.events:
                schema = schemas.get(e.event.schema_id)
                event = decode(schema, e.event.payload)
                header = event["ChangeEventHeader"]
                for rid in header["recordIds"]:
                    if rid in wanted and header["changeType"] == "CREATE":
                        assert header["entityName"] == wanted[rid], header
                        assert schema.fullname == f"com.sforce.eventbus.{entities[wanted[rid]]}"
                        seen[rid] = wanted[rid]
            if set(made.values()) <= set(seen):
                break
            if resp.events and resp.pending_num_requested == 0:
                more.put(True)
    finally:
        more.put(False)
        call.cancel()
        channel.close()
    missing = sorted(name for name, rid in made.items() if rid not in seen)
    assert missing == [], f"no CREATE decoded for {missing}"

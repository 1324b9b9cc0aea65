"""Change Data Capture events decoded with the Apache ``avro`` package, the way
Salesforce's official Python Pub/Sub example does it, independently of the
server's own Avro code.

This module runs its own server with ``fixtures/forcebus-cdc.toml`` (adds the
custom object ``Invoice__c``), makes REST writes through simple-salesforce
(Account create / update / update / delete, SOAP ``undelete``; Contact create
and update of ``LastName``; an ``Invoice__c`` create), then reads every event
of the log (``GET /forcebus/v1/events``: the stored JSON document plus the
bare Avro payload). For each event it fetches the schema by id
(``/event/eventSchema/{id}?payloadFormat=COMPACT``), parses it with
``avro.schema.parse``, decodes the payload with ``DatumReader`` +
``BinaryDecoder`` and checks it against the JSON document: header scalars,
record ids, the change type, the bitmaps (``changedFields`` /
``nulledFields`` / ``diffFields``) expanded with the official example's
algorithm (``BitArray(hex=s[2:]).bin[::-1]``), and every body field
(datetimes as epoch milliseconds, dates as days since the epoch, compound
fields by part). Two Account updates are also checked byte for byte against
the bitmap forms of the spec (pubsub-api.md §5.4-5.5).
"""

from __future__ import annotations

import base64
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterator

import avro.io
import avro.schema
import pytest
import requests
from bitstring import BitArray
from simple_salesforce import Salesforce

from harness import API_VERSION, COMPAT_DIR, Server, start_server, uniq

CDC_CONFIG = str(COMPAT_DIR / "fixtures" / "forcebus-cdc.toml")

# pubsub-api.md §5.3: the header record, in this order.
HEADER_FIELDS = [
    "entityName", "recordIds", "changeType", "changeOrigin", "transactionKey",
    "sequenceNumber", "commitTimestamp", "commitNumber", "commitUser",
    "nulledFields", "diffFields", "changedFields",
]
HEADER_SCALARS = [
    "entityName", "changeOrigin", "transactionKey", "sequenceNumber",
    "commitTimestamp", "commitNumber", "commitUser",
]
BITMAP_FIELDS = ["changedFields", "nulledFields", "diffFields"]
CHANGE_TYPES = [
    "CREATE", "UPDATE", "DELETE", "UNDELETE",
    "GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW",
]

DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(?:[+-]\d{4}|Z)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --- the official example's bitmap expansion -----------------------------------
# (forcedotcom/pub-sub-api python/util/ChangeEventHeaderUtility.py: same steps,
# without mutating the caller's list)


def _bits(hex_str: str) -> str:
    """``BitArray(hex=...).bin`` reversed: character i is bit i."""
    return BitArray(hex=hex_str[2:]).bin[::-1]


def _names_from_bitstring(hex_str: str, record: avro.schema.RecordSchema) -> list[str]:
    fields = list(record.fields)
    return [fields[i].name for i, bit in enumerate(_bits(hex_str)) if bit == "1"]


def _value_schema(schema: avro.schema.Schema) -> avro.schema.Schema:
    """The record branch of an optional compound: [null,R], [string,R], [null,string,R]."""
    if schema.type == "union":
        branches = schema.schemas
        if len(branches) == 2 and branches[0].type in ("null", "string"):
            return branches[1]
        if len(branches) == 3 and branches[0].type == "null" and branches[1].type == "string":
            return branches[2]
    return schema


def expand_bitmap(schema: avro.schema.RecordSchema, bitmap: list[str]) -> list[str]:
    bitmap = list(bitmap)
    names: list[str] = []
    if not bitmap:
        return names
    if bitmap[0].startswith("0x"):
        names += _names_from_bitstring(bitmap[0], schema)
        bitmap = bitmap[1:]
    if bitmap and "-" in bitmap[-1]:
        for entry in bitmap:
            if "-" not in entry:
                continue
            pos, child_hex = entry.split("-")
            parent = schema.fields[int(pos)]
            child = _value_schema(parent.type)
            if child.type == "record":
                names += [f"{parent.name}.{n}" for n in _names_from_bitstring(child_hex, child)]
    return names


# Form rules of pubsub-api.md §5.4: upper-case hex, whole bytes, no leading
# zero byte; a zero element 0 only in front of compound entries.
TOP_RE = re.compile(r"^0x(?:[0-9A-F]{2})+$")
PART_RE = re.compile(r"^(\d+)-0x((?:[0-9A-F]{2})+)$")


def bitmap_form_errors(bitmap: list[str]) -> list[str]:
    errors = []
    for i, entry in enumerate(bitmap):
        if i == 0 and entry.startswith("0x"):
            if not TOP_RE.match(entry):
                errors.append(f"{entry!r}: element 0 is not upper-case whole-byte hex")
            elif len(entry) > 4 and entry[2:4] == "00":
                errors.append(f"{entry!r}: leading zero byte")
            elif int(entry[2:], 16) == 0 and len(bitmap) == 1:
                errors.append(f"{entry!r}: lone zero bitmap (an empty set is [])")
            continue
        m = PART_RE.match(entry)
        if not m:
            errors.append(f"{entry!r}: not <index>-0x<upper-case whole-byte hex>")
        elif len(m.group(2)) > 2 and m.group(2).startswith("00"):
            errors.append(f"{entry!r}: leading zero byte")
        elif int(m.group(2), 16) == 0:
            errors.append(f"{entry!r}: empty compound entry")
    return errors


# --- JSON document value -> Avro value ------------------------------------------


def _non_null(schema: avro.schema.Schema) -> avro.schema.Schema:
    if schema.type == "union":
        rest = [s for s in schema.schemas if s.type != "null"]
        assert len(rest) == 1, f"unexpected union {schema}"
        return rest[0]
    return schema


def datetime_ms(text: str) -> int:
    assert DATETIME_RE.match(text), f"not a Salesforce datetime: {text!r}"
    dt = datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def date_days(text: str) -> int:
    assert DATE_RE.match(text), f"not a date: {text!r}"
    return (date.fromisoformat(text) - date(1970, 1, 1)).days


def expected_scalar(value: Any, schema: avro.schema.Schema) -> Any:
    if isinstance(value, str) and schema.type == "long":
        return datetime_ms(value)
    if isinstance(value, str) and schema.type == "int":
        return date_days(value)
    return value


def body_errors(schema: avro.schema.RecordSchema, doc_fields: dict, decoded: dict) -> list[str]:
    """Every body field of the document equals the decoded one (converted);
    every schema field the document lacks decodes as None."""
    errors = []
    names = {f.name for f in schema.fields}
    for extra in sorted(set(doc_fields) - names):
        errors.append(f"document field {extra} is not in the schema")
    for field in schema.fields[1:]:
        got = decoded.get(field.name)
        if field.name not in doc_fields:
            if got is not None:
                errors.append(f"{field.name}: absent from the document, decoded {got!r}")
            continue
        want = doc_fields[field.name]
        ftype = _non_null(field.type)
        if want is None:
            if got is not None:
                errors.append(f"{field.name}: document null, decoded {got!r}")
        elif ftype.type == "record":
            if not isinstance(want, dict) or not isinstance(got, dict):
                errors.append(f"{field.name}: document {want!r}, decoded {got!r}")
                continue
            part_names = {p.name for p in ftype.fields}
            for extra in sorted(set(want) - part_names):
                errors.append(f"{field.name}.{extra}: in the document, not in the schema")
            for part in ftype.fields:
                exp = expected_scalar(want[part.name], _non_null(part.type)) if part.name in want else None
                if got.get(part.name) != exp:
                    errors.append(f"{field.name}.{part.name}: expected {exp!r}, decoded {got.get(part.name)!r}")
        else:
            exp = expected_scalar(want, ftype)
            if got != exp or type(got) is bool and type(exp) is not bool:
                errors.append(f"{field.name}: expected {exp!r} (document {want!r}), decoded {got!r}")
    return errors


def non_null_names(schema: avro.schema.RecordSchema, decoded: dict) -> set[str]:
    """Names of decoded body values that are set (compound parts as Parent.Child)."""
    out = set()
    for field in schema.fields[1:]:
        v = decoded.get(field.name)
        if isinstance(v, dict):
            out |= {f"{field.name}.{k}" for k, pv in v.items() if pv is not None}
        elif v is not None:
            out.add(field.name)
    return out


# --- fixtures -------------------------------------------------------------------


@dataclass
class Decoded:
    replay_id: int
    kind: str
    doc: dict
    schema: avro.schema.RecordSchema
    value: dict
    consumed: int
    size: int

    @property
    def header(self) -> dict:
        return self.value["ChangeEventHeader"]

    def names(self, which: str) -> list[str]:
        return expand_bitmap(self.schema, self.header[which])


@pytest.fixture(scope="module")
def cserver() -> Iterator[Server]:
    srv = start_server("cdc-avro", config=CDC_CONFIG)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def csession(cserver: Server) -> requests.Session:
    session = requests.Session()
    session.verify = cserver.ca_cert
    session.trust_env = False
    return session


@pytest.fixture(scope="module")
def csf(cserver: Server, csession: requests.Session) -> Salesforce:
    return Salesforce(
        session_id=cserver.info["access_token"],
        instance_url=cserver.https_base,
        session=csession,
        version=API_VERSION,
    )


def soap_undelete(server: Server, session: requests.Session, record_id: str) -> None:
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:urn="urn:partner.soap.sforce.com">'
        "<soapenv:Header><urn:SessionHeader>"
        f"<urn:sessionId>{server.info['access_token']}</urn:sessionId>"
        "</urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><urn:undelete><urn:ids>{record_id}</urn:ids></urn:undelete></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    resp = session.post(
        f"{server.https_base}/services/Soap/u/{API_VERSION}",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "undelete"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert "<success>true</success>" in resp.text, resp.text


@dataclass
class Writes:
    account: str
    account_name: str
    account_name2: str
    contact: str
    invoice: str


@pytest.fixture(scope="module")
def writes(cserver: Server, csession: requests.Session, csf: Salesforce) -> Writes:
    name = uniq("cdc-acme")
    acc = csf.Account.create({
        "Name": name,
        "BillingStreet": "1 Rue de Rivoli",
        "BillingCity": "Paris",
        "NumberOfEmployees": 42,
    })["id"]
    name2 = uniq("cdc-acme2")
    assert csf.Account.update(acc, {"Name": name2, "Phone": "555-0100"}) == 204
    assert csf.Account.update(acc, {"Phone": None, "BillingCity": "Lyon"}) == 204
    assert csf.Account.delete(acc) == 204
    soap_undelete(cserver, csession, acc)

    con = csf.Contact.create({"FirstName": "Ada", "LastName": "Lovelace", "AccountId": acc})["id"]
    assert csf.Contact.update(con, {"LastName": "King"}) == 204

    inv = csf.Invoice__c.create({
        "Name": "INV-0001",
        "Account__c": acc,
        "Total__c": 1234.5,
        "Due_Date__c": "2024-05-01",
        "Paid_At__c": "2024-05-02T08:55:27.000Z",
        "Paid__c": True,
    })["id"]
    return Writes(acc, name, name2, con, inv)


@pytest.fixture(scope="module")
def events(cserver: Server, csession: requests.Session, writes: Writes) -> list[dict]:
    """Every event of the log, paged 50 at a time."""
    out: list[dict] = []
    after = 0
    for _ in range(100):
        resp = csession.get(
            f"{cserver.https_base}/forcebus/v1/events",
            params={"after": after, "limit": 50},
            headers={"Authorization": f"Bearer {cserver.info['access_token']}"},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        page = resp.json()["events"]
        if not page:
            break
        out += page
        after = page[-1]["replayId"]
    ids = [e["replayId"] for e in out]
    assert ids == sorted(set(ids)), ids
    return out


@pytest.fixture(scope="module")
def schemas(csf: Salesforce, events: list[dict]) -> dict[str, tuple[dict, avro.schema.RecordSchema]]:
    """schema id -> (schema JSON as served, parsed schema)."""
    cache: dict[str, tuple[dict, avro.schema.RecordSchema]] = {}
    for ev in events:
        sid = ev["event"]["schemaId"]
        if sid not in cache:
            raw = csf.restful(f"event/eventSchema/{sid}", params={"payloadFormat": "COMPACT"})
            cache[sid] = (raw, avro.schema.parse(json.dumps(raw)))
    return cache


@pytest.fixture(scope="module")
def decoded(events: list[dict], schemas) -> list[Decoded]:
    out = []
    for ev in events:
        _, schema = schemas[ev["event"]["schemaId"]]
        payload = base64.b64decode(ev["avro"], validate=True)
        buf = io.BytesIO(payload)
        value = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(buf))
        out.append(Decoded(ev["replayId"], ev["kind"], ev["event"], schema, value, buf.tell(), len(payload)))
    return out


def of_record(decoded: list[Decoded], record_id: str) -> list[Decoded]:
    return [d for d in decoded if record_id in d.doc["ChangeEventHeader"]["recordIds"]]


# --- tests ----------------------------------------------------------------------


def test_writes_produce_the_expected_events(decoded: list[Decoded], writes: Writes):
    got = {
        rid: [(d.kind, d.doc["ChangeEventHeader"]["changeType"]) for d in of_record(decoded, rid)]
        for rid in (writes.account, writes.contact, writes.invoice)
    }
    assert got == {
        writes.account: [("AccountChangeEvent", t) for t in ("CREATE", "UPDATE", "UPDATE", "DELETE", "UNDELETE")],
        writes.contact: [("ContactChangeEvent", "CREATE"), ("ContactChangeEvent", "UPDATE")],
        writes.invoice: [("Invoice__ChangeEvent", "CREATE")],
    }


def test_schemas_parse_with_the_change_event_shape(schemas, events: list[dict]):
    kinds = {ev["event"]["schemaId"]: ev["kind"] for ev in events}
    for sid, (raw, schema) in schemas.items():
        assert raw.get("uuid") == sid
        assert schema.type == "record"
        assert schema.name == kinds[sid]
        assert schema.namespace == "com.sforce.eventbus"
        header = schema.fields[0]
        assert header.name == "ChangeEventHeader" and header.type.type == "record", sid
        assert [f.name for f in header.type.fields] == HEADER_FIELDS, sid
        change_type = header.type.fields_dict["changeType"].type
        assert change_type.type == "enum" and set(CHANGE_TYPES) <= set(change_type.symbols), sid
        for f in schema.fields[1:]:
            assert f.type.type == "union" and f.type.schemas[0].type == "null", f"{sid} {f.name}"
            assert f.has_default and f.default is None, f"{sid} {f.name}"


def test_every_payload_matches_its_json_document(decoded: list[Decoded]):
    assert decoded
    errors: list[str] = []
    for d in decoded:
        where = f"replay {d.replay_id} {d.kind} {d.doc['ChangeEventHeader'].get('changeType')}"
        err: list[str] = []
        if d.consumed != d.size:
            err.append(f"payload has {d.size - d.consumed} trailing bytes")
        doc_h, h = d.doc["ChangeEventHeader"], d.header
        for k in HEADER_SCALARS:
            if h[k] != doc_h[k]:
                err.append(f"header {k}: document {doc_h[k]!r}, decoded {h[k]!r}")
        if h["recordIds"] != doc_h["recordIds"]:
            err.append(f"recordIds: document {doc_h['recordIds']!r}, decoded {h['recordIds']!r}")
        if h["changeType"] != doc_h["changeType"]:
            err.append(f"changeType: document {doc_h['changeType']!r}, decoded {h['changeType']!r}")
        for k in BITMAP_FIELDS:
            err += [f"{k} {e}" for e in bitmap_form_errors(h[k])]
            names = d.names(k)
            if len(names) != len(set(names)) or set(names) != set(doc_h[k]):
                err.append(f"{k}: document {doc_h[k]!r}, bitmap {h[k]!r} expands to {names!r}")
        err += body_errors(d.schema, d.doc.get("fields", {}), d.value)
        errors += [f"{where}: {e}" for e in err]
    assert not errors, "\n".join(errors)


def test_body_follows_the_change_type(decoded: list[Decoded]):
    """CREATE/DELETE/UNDELETE: empty bitmaps; DELETE: every body field null;
    UPDATE: only changed fields set, nulled ones null, LastModifiedDate changed."""
    errors: list[str] = []
    for d in decoded:
        where = f"replay {d.replay_id} {d.kind}"
        ct = d.header["changeType"]
        changed, nulled = set(d.names("changedFields")), set(d.names("nulledFields"))
        set_names = non_null_names(d.schema, d.value)
        if ct in ("CREATE", "DELETE", "UNDELETE"):
            for k in BITMAP_FIELDS:
                if d.header[k]:
                    errors.append(f"{where} {ct}: {k} {d.header[k]!r}, expected []")
        if ct == "DELETE" and set_names:
            errors.append(f"{where} DELETE: body values set: {sorted(set_names)}")
        if ct in ("CREATE", "UNDELETE") and "CreatedDate" not in set_names:
            errors.append(f"{where} {ct}: no CreatedDate")
        if ct == "UPDATE":
            if "LastModifiedDate" not in changed:
                errors.append(f"{where} UPDATE: LastModifiedDate not in changedFields {sorted(changed)}")
            if not nulled <= changed:
                errors.append(f"{where} UPDATE: nulled {sorted(nulled)} not within changed {sorted(changed)}")
            stray = {n for n in set_names if n not in changed and n.split(".")[0] not in changed}
            if stray:
                errors.append(f"{where} UPDATE: unchanged fields carry values: {sorted(stray)}")
            if nulled & set_names:
                errors.append(f"{where} UPDATE: nulled fields carry values: {sorted(nulled & set_names)}")
    assert not errors, "\n".join(errors)


def test_golden_account_update_name_and_phone(decoded: list[Decoded], writes: Writes):
    upd = [d for d in of_record(decoded, writes.account) if d.header["changeType"] == "UPDATE"][0]
    assert upd.header["changedFields"] == ["0x400042"]
    assert upd.names("changedFields") == ["Name", "Phone", "LastModifiedDate"]
    assert upd.header["nulledFields"] == []
    assert upd.header["diffFields"] == []
    assert upd.value["Name"] == writes.account_name2
    assert upd.value["Phone"] == "555-0100"
    assert isinstance(upd.value["LastModifiedDate"], int)
    assert upd.value["BillingAddress"] is None
    assert non_null_names(upd.schema, upd.value) == {"Name", "Phone", "LastModifiedDate"}


def test_golden_account_update_null_phone_and_billing_city(decoded: list[Decoded], writes: Writes):
    upd = [d for d in of_record(decoded, writes.account) if d.header["changeType"] == "UPDATE"][1]
    assert "4-0x02" in upd.header["changedFields"]
    assert upd.header["changedFields"] == ["0x400040", "4-0x02"]
    assert set(upd.names("changedFields")) == {"Phone", "LastModifiedDate", "BillingAddress.City"}
    assert upd.header["nulledFields"] == ["0x40"]
    assert upd.names("nulledFields") == ["Phone"]
    assert upd.value["Phone"] is None
    assert upd.value["BillingAddress"]["City"] == "Lyon"
    assert {k for k, v in upd.value["BillingAddress"].items() if v is not None} == {"City"}


def test_account_create_and_undelete_carry_all_values(decoded: list[Decoded], writes: Writes):
    evs = {d.header["changeType"]: d for d in of_record(decoded, writes.account)}
    create, undelete = evs["CREATE"], evs["UNDELETE"]
    assert create.value["Name"] == writes.account_name
    assert create.value["NumberOfEmployees"] == 42
    assert create.value["BillingAddress"]["Street"] == "1 Rue de Rivoli"
    assert create.value["BillingAddress"]["City"] == "Paris"
    assert create.value["Phone"] is None
    assert undelete.value["Name"] == writes.account_name2
    assert undelete.value["BillingAddress"]["City"] == "Lyon"
    assert undelete.value["Phone"] is None
    assert undelete.value["CreatedDate"] == create.value["CreatedDate"]
    assert undelete.header["changeOrigin"].startswith("com/salesforce/api/soap/")
    assert create.header["changeOrigin"].startswith("com/salesforce/api/rest/")


def test_contact_name_part_update(decoded: list[Decoded], writes: Writes):
    create, update = of_record(decoded, writes.contact)
    assert create.value["Name"]["FirstName"] == "Ada"
    assert create.value["Name"]["LastName"] == "Lovelace"
    assert create.value["AccountId"] == writes.account
    name_pos = [f.name for f in update.schema.fields].index("Name")
    last_pos = [f.name for f in _non_null(update.schema.fields[name_pos].type).fields].index("LastName")
    assert f"{name_pos}-0x{1 << last_pos:02X}" in update.header["changedFields"]
    assert set(update.names("changedFields")) == {"Name.LastName", "LastModifiedDate"}
    assert update.value["Name"]["LastName"] == "King"
    assert update.value["Name"]["FirstName"] is None


def test_custom_object_values(decoded: list[Decoded], writes: Writes):
    (create,) = of_record(decoded, writes.invoice)
    assert create.header["entityName"] == "Invoice__c"
    v = create.value
    assert v["Name"] == "INV-0001"
    assert v["Account__c"] == writes.account
    assert v["Total__c"] == 1234.5
    assert v["Due_Date__c"] == 19844  # 2024-05-01, days since 1970-01-01
    assert v["Paid_At__c"] == 1714640127000  # 2024-05-02T08:55:27Z
    assert v["Paid__c"] is True

"""Live schema through simple-salesforce: custom fields and objects made
with ``sf.toolingexecute('sobjects/CustomField', method='POST', data={...})``
(simple-salesforce ``json.dumps`` the ``data`` dict as the body and hands back the
parsed 201 body), read back with ``toolingexecute('sobjects/CustomField/{id}')`` and
removed with ``method='DELETE'`` (a 204: simple-salesforce's ``response.json()``
fails, so it returns the empty text ``''``). Each change is at once in
``sf.Account.describe()`` (simple-salesforce caches nothing), in record writes
(defaults, restricted picklists, lengths, ranges) and in ``sf.query``; Account's
change-event schema gets a new id while the old one still resolves. Every Metadata
type forcebus supports, a custom object with a MasterDetail field (required,
cascade delete, child relationship), and refused changes as simple-salesforce
exceptions (``SalesforceMalformedRequest`` for 400s with the error list in
``.content``, ``SalesforceResourceNotFound`` for 404s).

Runs its own server: its schema changes stay out of the suite's server.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from harness import API_VERSION, Server, start_server, uniq

FIELD_ID_PREFIX = "00N"
OBJECT_ID_PREFIX = "01I"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server("live-schema")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sf(server: Server) -> Salesforce:
    session = requests.Session()
    session.verify = server.ca_cert
    session.trust_env = False
    return Salesforce(session_id=server.info["access_token"], instance_url=server.https_base,
                      session=session, version=API_VERSION)


def make_field(sf: Salesforce, full_name: str, metadata: dict[str, Any]) -> str:
    res = sf.toolingexecute("sobjects/CustomField", method="POST",
                            data={"FullName": full_name, "Metadata": metadata})
    assert isinstance(res, dict), res
    assert res["success"] is True, res
    assert res["errors"] == [], res
    assert res["id"].startswith(FIELD_ID_PREFIX) and len(res["id"]) == 18, res
    return res["id"]


def described(sf: Salesforce, sobject: str, name: str) -> dict[str, Any] | None:
    desc = getattr(sf, sobject).describe()
    return next((f for f in desc["fields"] if f["name"] == name), None)


def schema_id(sf: Salesforce) -> str:
    uuid = sf.restful("sobjects/AccountChangeEvent/eventSchema")["uuid"]
    assert isinstance(uuid, str) and len(uuid) == 22, uuid
    return uuid


def error_code(exc: pytest.ExceptionInfo) -> str:
    content = exc.value.content
    assert isinstance(content, list) and content, content
    return content[0]["errorCode"]


def test_a_picklist_field_is_live_at_once(sf: Salesforce):
    assert described(sf, "Account", "Tier__c") is None
    old_schema = schema_id(sf)

    field_id = make_field(sf, "Account.Tier__c", {
        "label": "Tier", "type": "Picklist",
        "valueSet": {"restricted": True, "valueSetDefinition": {
            "value": [{"fullName": "Gold", "default": True}, {"fullName": "Silver"}]}},
    })

    f = described(sf, "Account", "Tier__c")
    assert f is not None, "describe() sees the field at once"
    assert (f["type"], f["label"], f["custom"], f["restrictedPicklist"]) == ("picklist", "Tier", True, True)
    assert [v["value"] for v in f["picklistValues"]] == ["Gold", "Silver"]

    new_schema = schema_id(sf)
    assert new_schema != old_schema, "Account's change-event schema has a new id"
    assert sf.restful(f"event/eventSchema/{old_schema}")["uuid"] == old_schema, "the old id still resolves"

    gold = sf.Account.create({"Name": uniq("py-gold")})
    silver = sf.Account.create({"Name": uniq("py-silver"), "Tier__c": "Silver"})
    assert gold["success"] and silver["success"]
    assert sf.Account.get(gold["id"])["Tier__c"] == "Gold", "the picklist default"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": uniq("py-bronze"), "Tier__c": "Bronze"})
    assert exc.value.status == 400
    assert error_code(exc) == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert exc.value.content[0]["fields"] == ["Tier__c"]

    rows = sf.query(f"SELECT Id, Tier__c FROM Account WHERE Id IN ('{gold['id']}', '{silver['id']}') ORDER BY Tier__c")
    assert [(r["Id"], r["Tier__c"]) for r in rows["records"]] == [(gold["id"], "Gold"), (silver["id"], "Silver")]
    assert sf.query("SELECT COUNT() FROM Account WHERE Tier__c = 'Silver'")["totalSize"] == 1

    back = sf.toolingexecute(f"sobjects/CustomField/{field_id}")
    assert (back["Id"], back["FullName"], back["DeveloperName"], back["TableEnumOrId"]) == \
        (field_id, "Account.Tier__c", "Tier", "Account")
    assert back["Metadata"]["type"] == "Picklist"
    assert [(v["fullName"], v["default"]) for v in back["Metadata"]["valueSet"]["valueSetDefinition"]["value"]] == \
        [("Gold", True), ("Silver", False)]

    # DELETE: 204, which simple-salesforce hands back as the empty response text.
    assert sf.toolingexecute(f"sobjects/CustomField/{field_id}", method="DELETE") == ""
    assert described(sf, "Account", "Tier__c") is None, "gone from describe at once"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(f"SELECT Tier__c FROM Account WHERE Id = '{gold['id']}'")
    assert error_code(exc) == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.update(gold["id"], {"Tier__c": "Gold"})
    assert error_code(exc) == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.toolingexecute(f"sobjects/CustomField/{field_id}")
    assert exc.value.status == 404
    assert "Tier__c" not in sf.Account.get(gold["id"]), "the record no longer has the field"
    assert schema_id(sf) != new_schema, "without the field, another schema id"


# (Metadata, describe type, a value written and read back as it comes back)
TYPES: list[tuple[str, dict[str, Any], str, Any, Any]] = [
    ("Code__c", {"type": "Text", "length": 10}, "string", "ABC-123", "ABC-123"),
    ("Notes__c", {"type": "TextArea"}, "textarea", "line 1\nline 2", "line 1\nline 2"),
    ("Essay__c", {"type": "LongTextArea", "length": 1000}, "textarea", "x" * 600, "x" * 600),
    ("Active__c", {"type": "Checkbox", "defaultValue": "true"}, "boolean", False, False),
    ("Score__c", {"type": "Number", "precision": 5, "scale": 2}, "double", 123.45, 123.45),
    ("Budget__c", {"type": "Currency", "precision": 10, "scale": 2}, "currency", 99.5, 99.5),
    ("Share__c", {"type": "Percent", "precision": 5, "scale": 1}, "percent", 12.5, 12.5),
    ("Since__c", {"type": "Date"}, "date", "2024-05-02", "2024-05-02"),
    ("Seen__c", {"type": "DateTime"}, "datetime", "2024-05-02T09:15:27.481Z", "2024-05-02T09:15:27.481+0000"),
    ("Opens__c", {"type": "Time"}, "time", "10:30:00.000Z", "10:30:00.000Z"),
    ("Contact_Email__c", {"type": "Email"}, "email", "a@example.com", "a@example.com"),
    ("Hotline__c", {"type": "Phone"}, "phone", "555-0100", "555-0100"),
    ("Site__c", {"type": "Url"}, "url", "https://example.com/x", "https://example.com/x"),
    ("Regions__c", {"type": "MultiselectPicklist", "valueSet": {"restricted": True, "valueSetDefinition": {
        "value": [{"fullName": "EMEA"}, {"fullName": "APAC"}, {"fullName": "AMER"}]}}}, "multipicklist",
     "EMEA;AMER", "EMEA;AMER"),
]


def test_every_supported_type_describes_writes_and_reads_back(sf: Salesforce):
    for name, meta, _, _, _ in TYPES:
        make_field(sf, f"Account.{name}", {"label": name[:-3].replace("_", " "), **meta})
    desc = {f["name"]: f for f in sf.Account.describe()["fields"]}
    for name, meta, dtype, _, _ in TYPES:
        assert desc[name]["type"] == dtype, (name, desc[name]["type"])
        assert desc[name]["custom"] is True
    assert desc["Code__c"]["length"] == 10
    assert desc["Essay__c"]["length"] == 1000
    assert (desc["Score__c"]["precision"], desc["Score__c"]["scale"]) == (5, 2)
    assert (desc["Budget__c"]["precision"], desc["Budget__c"]["scale"]) == (10, 2)
    assert desc["Active__c"]["defaultValue"] is True

    rec = sf.Account.create({"Name": uniq("py-types"), **{n: v for n, _, _, v, _ in TYPES}})
    got = sf.Account.get(rec["id"])
    assert {n: got[n] for n, *_ in TYPES} == {n: back for n, _, _, _, back in TYPES}
    fields = ", ".join(n for n, *_ in TYPES)
    row = sf.query(f"SELECT {fields} FROM Account WHERE Id = '{rec['id']}'")["records"][0]
    assert {n: row[n] for n, *_ in TYPES} == {n: back for n, _, _, _, back in TYPES}
    assert sf.query(f"SELECT Id FROM Account WHERE Regions__c INCLUDES ('AMER') AND Score__c > 100 "
                    f"AND Since__c = 2024-05-02 AND Active__c = false")["totalSize"] == 1
    assert sf.Account.get(sf.Account.create({"Name": uniq("py-default")})["id"])["Active__c"] is True, \
        "the Checkbox default"

    # The new fields are checked like declared ones.
    for values, code, field in [
        ({"Code__c": "x" * 11}, "STRING_TOO_LONG", "Code__c"),
        ({"Score__c": 12345.6}, "NUMBER_OUTSIDE_VALID_RANGE", "Score__c"),
        ({"Contact_Email__c": "not an address"}, "INVALID_EMAIL_ADDRESS", "Contact_Email__c"),
        ({"Regions__c": "EMEA;MARS"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Regions__c"),
    ]:
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.Account.create({"Name": uniq("py-bad"), **values})
        assert error_code(exc) == code, (values, exc.value.content)
        assert exc.value.content[0]["fields"] == [field]


def test_an_external_id_field_serves_upsert(sf: Salesforce):
    make_field(sf, "Account.Legacy_Key__c",
               {"label": "Legacy Key", "type": "Text", "length": 20, "externalId": True, "unique": True})
    f = described(sf, "Account", "Legacy_Key__c")
    assert (f["externalId"], f["unique"], f["idLookup"]) == (True, True, True)
    key = uniq("lk")[:20]
    created = sf.Account.upsert(f"Legacy_Key__c/{key}", {"Name": "by legacy key"})
    assert created == 201, "simple-salesforce returns the status code of an upsert"
    assert sf.Account.upsert(f"Legacy_Key__c/{key}", {"Name": "updated by key"}) == 200, "an update (API 46.0 on)"
    assert sf.Account.get_by_custom_id("Legacy_Key__c", key)["Name"] == "updated by key"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Account.create({"Name": "dup key", "Legacy_Key__c": key})
    assert error_code(exc) == "DUPLICATE_VALUE"


def test_a_custom_object_with_a_master_detail_field(sf: Salesforce):
    res = sf.toolingexecute("sobjects/CustomObject", method="POST",
                            data={"FullName": "Invoice__c", "Metadata": {"label": "Invoice", "pluralLabel": "Invoices"}})
    assert res["success"] is True and res["id"].startswith(OBJECT_ID_PREFIX), res
    desc = sf.Invoice__c.describe()
    assert (desc["name"], desc["label"], desc["labelPlural"], desc["custom"]) == ("Invoice__c", "Invoice", "Invoices", True)
    assert {"Id", "Name", "OwnerId", "CreatedDate", "LastModifiedById", "SystemModstamp"} <= {f["name"] for f in desc["fields"]}
    back = sf.toolingexecute(f"sobjects/CustomObject/{res['id']}")
    assert (back["FullName"], back["Metadata"]["label"], back["Metadata"]["pluralLabel"]) == \
        ("Invoice__c", "Invoice", "Invoices")

    make_field(sf, "Invoice__c.Account__c", {"label": "Account", "type": "MasterDetail",
                                             "referenceTo": "Account", "relationshipName": "Invoices"})
    make_field(sf, "Invoice__c.Amount__c", {"label": "Amount", "type": "Currency", "precision": 12, "scale": 2})
    md = described(sf, "Invoice__c", "Account__c")
    assert (md["type"], md["referenceTo"], md["relationshipName"], md["nillable"]) == \
        ("reference", ["Account"], "Account__r", False)
    child = next(r for r in sf.Account.describe()["childRelationships"] if r["childSObject"] == "Invoice__c")
    assert (child["field"], child["relationshipName"], child["cascadeDelete"]) == ("Account__c", "Invoices__r", True)

    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Invoice__c.create({"Name": "no master"})
    assert error_code(exc) == "REQUIRED_FIELD_MISSING", "a MasterDetail field is required"
    acct = sf.Account.create({"Name": uniq("py-master")})["id"]
    inv = sf.Invoice__c.create({"Name": "INV-1", "Account__c": acct, "Amount__c": 250})["id"]
    sf.Invoice__c.create({"Name": "INV-2", "Account__c": acct, "Amount__c": 100})
    rows = sf.query(f"SELECT Name, (SELECT Name, Amount__c FROM Invoices__r ORDER BY Name) FROM Account WHERE Id = '{acct}'")
    assert [(r["Name"], r["Amount__c"]) for r in rows["records"][0]["Invoices__r"]["records"]] == \
        [("INV-1", 250), ("INV-2", 100)]
    assert sf.query(f"SELECT SUM(Amount__c) total FROM Invoice__c WHERE Account__c = '{acct}'")["records"][0]["total"] == 350
    assert sf.Invoice__c.get(inv)["Account__c"] == acct

    # Deleting the master deletes the details.
    sf.Account.delete(acct)
    with pytest.raises(SalesforceResourceNotFound):
        sf.Invoice__c.get(inv)
    assert sf.query(f"SELECT COUNT() FROM Invoice__c WHERE Account__c = '{acct}'")["totalSize"] == 0


def test_a_master_detail_field_describes_as_one(sf: Salesforce):
    md = described(sf, "Invoice__c", "Account__c")
    assert md is not None, "the previous test made Invoice__c.Account__c"
    assert (md["cascadeDelete"], md["relationshipOrder"]) == (True, 0)


def test_deleting_the_custom_object_takes_its_describe(sf: Salesforce):
    rows = sf.toolingexecute("query/", params={"q": "SELECT Id FROM CustomObject WHERE DeveloperName = 'Invoice'"})
    assert rows["totalSize"] == 1, rows
    # DELETE: 204, which simple-salesforce hands back as the empty response text.
    assert sf.toolingexecute(f"sobjects/CustomObject/{rows['records'][0]['Id']}", method="DELETE") == ""
    with pytest.raises(SalesforceResourceNotFound):
        sf.Invoice__c.describe()


@pytest.mark.parametrize(("sobject", "body", "code"), [
    ("CustomField", {"FullName": "Account.Dup_Field__c", "Metadata": {"label": "Dup", "type": "Checkbox"}},
     "DUPLICATE_DEVELOPER_NAME"),
    ("CustomField", {"FullName": "Account.Bad__Name__c", "Metadata": {"label": "B", "type": "Text", "length": 5}},
     "FIELD_INTEGRITY_EXCEPTION"),
    ("CustomField", {"FullName": "Account.No_Suffix", "Metadata": {"label": "B", "type": "Text", "length": 5}},
     "FIELD_INTEGRITY_EXCEPTION"),
    ("CustomField", {"FullName": "Account.Name", "Metadata": {"label": "N", "type": "Text", "length": 5}},
     "FIELD_INTEGRITY_EXCEPTION"),
    ("CustomField", {"FullName": "Nope__c.X__c", "Metadata": {"label": "X", "type": "Text", "length": 5}},
     "INVALID_TYPE"),
    ("CustomField", {"FullName": "Account.Calc__c", "Metadata": {"label": "C", "type": "Formula"}}, "INVALID_INPUT"),
    ("CustomField", {"FullName": "Account.Short__c", "Metadata": {"label": "S", "type": "Text", "length": 0}},
     "INVALID_INPUT"),
    ("CustomField", {"FullName": "Account.Link__c", "Metadata": {"label": "L", "type": "Lookup", "referenceTo": "Nope__c"}},
     "INVALID_INPUT"),
    ("CustomField", {"FullName": "Account.No_Meta__c"}, "INVALID_INPUT"),
    ("CustomObject", {"FullName": "Contact", "Metadata": {"label": "C"}}, "FIELD_INTEGRITY_EXCEPTION"),
    ("CustomObject", {"FullName": "Gadget__c", "Metadata": {}}, "INVALID_INPUT"),
])
def test_refused_changes_raise_salesforce_malformed_request(sf: Salesforce, sobject: str, body: dict, code: str):
    if code == "DUPLICATE_DEVELOPER_NAME" and described(sf, "Account", "Dup_Field__c") is None:
        make_field(sf, body["FullName"], body["Metadata"])
    before = schema_id(sf)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.toolingexecute(f"sobjects/{sobject}", method="POST", data=body)
    assert exc.value.status == 400
    assert error_code(exc) == code, exc.value.content
    assert exc.value.resource_name == "toolingexecute"
    assert schema_id(sf) == before, "a refused change leaves Account's schema alone"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Gadget__c.describe()


def test_patch_changes_a_field_when_every_value_fits(sf: Salesforce):
    field_id = make_field(sf, "Account.Stage_Note__c", {"label": "Stage Note", "type": "Text", "length": 30})
    sf.Account.create({"Name": "Noted", "Stage_Note__c": "twenty-five characters!!!"})
    sf.toolingexecute(f"sobjects/CustomField/{field_id}", method="PATCH",
                      data={"Metadata": {"label": "Renamed", "type": "Text", "length": 60}})
    f = described(sf, "Account", "Stage_Note__c")
    assert (f["label"], f["length"]) == ("Renamed", 60)
    # Shorter than a stored value, or another type while values exist: refused.
    for metadata in ({"label": "Short", "type": "Text", "length": 10}, {"label": "Day", "type": "Date"}):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.toolingexecute(f"sobjects/CustomField/{field_id}", method="PATCH", data={"Metadata": metadata})
        assert error_code(exc) == "FIELD_INTEGRITY_EXCEPTION", metadata
    f = described(sf, "Account", "Stage_Note__c")
    assert (f["label"], f["length"], f["type"]) == ("Renamed", 60, "string")
    with pytest.raises(SalesforceResourceNotFound):
        sf.toolingexecute("sobjects/CustomField/00N000000000000AAA")

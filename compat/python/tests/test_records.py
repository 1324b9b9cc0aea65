"""Record calls through simple-salesforce's SFType: CRUD, upsert, external ids,
and how server errors map to its exceptions."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from harness import API_VERSION, uniq

EXT = "External_Id__c"


def error_codes(exc) -> list[str]:
    content = exc.content
    assert isinstance(content, list), f"error body must be a JSON array, got {content!r}"
    return [e["errorCode"] for e in content]


def test_account_crud(sf):
    name = uniq("acct")
    created = sf.Account.create({
        "Name": name,
        "Phone": "555-0100",
        "Website": "https://example.com",
        "NumberOfEmployees": 7,
        "BillingCity": "Lyon",
    })
    assert created["success"] is True
    assert created["errors"] == []
    acc_id = created["id"]
    assert len(acc_id) == 18 and acc_id.startswith("001")

    rec = sf.Account.get(acc_id)
    assert rec["Id"] == acc_id
    assert rec["attributes"]["type"] == "Account"
    assert rec["attributes"]["url"] == f"/services/data/v{API_VERSION}/sobjects/Account/{acc_id}"
    assert rec["Name"] == name
    assert rec["Phone"] == "555-0100"
    assert rec["Website"] == "https://example.com"
    assert rec["NumberOfEmployees"] == 7
    assert rec["BillingCity"] == "Lyon"

    assert sf.Account.update(acc_id, {"Phone": "555-0199", "BillingCity": None}) == 204
    rec = sf.Account.get(acc_id)
    assert rec["Phone"] == "555-0199"
    assert rec["BillingCity"] is None
    assert rec["Name"] == name

    assert sf.Account.delete(acc_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Account.get(acc_id)
    assert error_codes(info.value) == ["NOT_FOUND"]


def test_get_by_15_char_id(sf):
    acc_id = sf.Account.create({"Name": uniq("id15")})["id"]
    assert sf.Account.get(acc_id[:15])["Id"] == acc_id


def test_contact_with_account(sf):
    acc_id = sf.Account.create({"Name": uniq("parent")})["id"]
    res = sf.Contact.create({"LastName": "Hopper", "FirstName": "Grace",
                             "Email": "grace@example.com", "AccountId": acc_id})
    assert res["success"] is True
    con_id = res["id"]
    assert con_id.startswith("003")
    rec = sf.Contact.get(con_id)
    assert rec["AccountId"] == acc_id
    assert rec["LastName"] == "Hopper"
    assert rec["Email"] == "grace@example.com"

    assert sf.Contact.update(con_id, {"Email": "g.hopper@example.com"}) == 204
    assert sf.Contact.get(con_id)["Email"] == "g.hopper@example.com"
    assert sf.Contact.delete(con_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(con_id)


def test_get_with_field_list(sf):
    acc_id = sf.Account.create({"Name": uniq("fields"), "Phone": "1"})["id"]
    # simple-salesforce's get() has no field list; a GET with params does.
    rec = sf.Account.get(acc_id, params={"fields": "Name"})
    assert "Name" in rec
    assert "Phone" not in rec


def test_upsert_insert_then_update(sf):
    ext = uniq("X-1")
    first = sf.Account.upsert(f"{EXT}/{ext}", {"Name": "Upserted"}, raw_response=True)
    assert first.status_code == 201
    body = first.json()
    assert body["success"] is True
    assert body["created"] is True
    acc_id = body["id"]

    second = sf.Account.upsert(f"{EXT}/{ext}", {"Name": "Upserted again"}, raw_response=True)
    assert second.status_code in (200, 204)
    if second.status_code == 200:
        assert second.json()["created"] is False
        assert second.json()["id"] == acc_id

    rec = sf.Account.get_by_custom_id(EXT, ext)
    assert rec["Id"] == acc_id
    assert rec["Name"] == "Upserted again"
    assert rec[EXT] == ext


def test_upsert_returns_status_codes(sf):
    ext = uniq("codes")
    assert sf.Account.upsert(f"{EXT}/{ext}", {"Name": "one"}) == 201
    assert sf.Account.upsert(f"{EXT}/{ext}", {"Name": "two"}) in (200, 204)


def test_get_by_custom_id_of_created_record(sf):
    ext = uniq("made")
    acc_id = sf.Account.create({"Name": "by ext", EXT: ext})["id"]
    assert sf.Account.get_by_custom_id(EXT, ext)["Id"] == acc_id


def test_get_by_custom_id_with_characters_to_encode(sf):
    # simple-salesforce percent-encodes the value (quote_plus): '@' → %40
    ext = f"{uniq('mail')}@example.com"
    acc_id = sf.Account.create({"Name": "encoded", EXT: ext})["id"]
    rec = sf.Account.get_by_custom_id(EXT, ext)
    assert rec["Id"] == acc_id
    assert rec[EXT] == ext


def test_get_by_custom_id_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Account.get_by_custom_id(EXT, uniq("missing"))
    assert error_codes(info.value) == ["NOT_FOUND"]


def test_upsert_insert_without_required_field(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.upsert(f"{EXT}/{uniq('noname')}", {"Phone": "1"})
    assert error_codes(info.value) == ["REQUIRED_FIELD_MISSING"]


def test_api_usage_header_is_parsed(sf):
    """Sforce-Limit-Info: api-usage=N/M on REST answers."""
    account = sf.Account  # each attribute access builds a new SFType
    account.create({"Name": uniq("usage")})
    usage = account.api_usage.get("api-usage")
    assert usage is not None, "no Sforce-Limit-Info header"
    assert 1 <= usage.used <= usage.total


# --- error mapping -----------------------------------------------------------------


def test_create_without_name_is_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.create({"Phone": "555"})
    assert info.value.status == 400
    assert error_codes(info.value) == ["REQUIRED_FIELD_MISSING"]
    assert info.value.content[0]["fields"] == ["Name"]
    assert isinstance(info.value.content[0]["message"], str)


def test_contact_without_last_name(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Contact.create({"FirstName": "Only"})
    assert error_codes(info.value) == ["REQUIRED_FIELD_MISSING"]
    assert info.value.content[0]["fields"] == ["LastName"]


def test_unknown_field_is_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Account.create({"Name": "x", "Bogus__c": 1})
    assert error_codes(info.value) == ["INVALID_FIELD"]


def test_unknown_id_is_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Account.get("001000000000000AAA")
    assert info.value.status == 404
    assert error_codes(info.value) == ["NOT_FOUND"]


def test_garbage_id_is_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.Account.get("not-an-id")
    assert error_codes(info.value) == ["NOT_FOUND"]


def test_update_unknown_id_is_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.update("001000000000000AAA", {"Name": "x"})


def test_unknown_object_is_not_found(sf):
    with pytest.raises(SalesforceResourceNotFound) as info:
        sf.NoSuchThing__c.create({"Name": "x"})
    assert error_codes(info.value) == ["NOT_FOUND"]

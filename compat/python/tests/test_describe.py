"""Org-level calls: limits, describe, describe of one object."""

from __future__ import annotations

from harness import API_VERSION

EXT_FIELD = "External_Id__c"
STANDARD = ["Account", "Contact", "Lead", "Opportunity", "Case", "Task", "User"]


def test_limits(sf):
    limits = sf.limits()
    api = limits["DailyApiRequests"]
    assert isinstance(api["Max"], int) and api["Max"] > 0
    assert isinstance(api["Remaining"], int) and 0 <= api["Remaining"] <= api["Max"]


def test_describe_global(sf):
    res = sf.describe()
    assert res["encoding"] == "UTF-8"
    assert res["maxBatchSize"] == 200
    by_name = {s["name"]: s for s in res["sobjects"]}
    for name in STANDARD:
        assert name in by_name, f"describe() lacks {name}"
    acc = by_name["Account"]
    assert acc["keyPrefix"] == "001"
    assert acc["queryable"] is True
    assert acc["urls"]["describe"] == f"/services/data/v{API_VERSION}/sobjects/Account/describe"


def test_account_describe(sf):
    d = sf.Account.describe()
    assert d["name"] == "Account"
    fields = {f["name"]: f for f in d["fields"]}
    for name in ["Id", "Name", "Phone", "Industry", "Website", "NumberOfEmployees",
                 "AnnualRevenue", "BillingCity", EXT_FIELD]:
        assert name in fields, f"Account describe lacks {name}"
    assert fields["Name"]["type"] == "string"
    assert fields["Name"]["nillable"] is False
    assert fields["Phone"]["type"] == "phone"
    assert fields["Website"]["type"] == "url"
    ext = fields[EXT_FIELD]
    assert ext["externalId"] is True
    assert ext["custom"] is True
    assert ext["unique"] is True
    assert ext["idLookup"] is True


def test_account_metadata(sf):
    """GET sobjects/Account/ (trailing slash) → basic info."""
    meta = sf.Account.metadata()
    assert meta["objectDescribe"]["name"] == "Account"
    assert isinstance(meta["recentItems"], list)


def test_contact_describe_reference(sf):
    fields = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert fields["AccountId"]["type"] == "reference"
    assert fields["AccountId"]["referenceTo"] == ["Account"]


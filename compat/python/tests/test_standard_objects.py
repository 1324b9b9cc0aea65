"""The standard objects beyond the core seven through simple-salesforce: a campaign and
its members, an event on a contact and an account (WhoId / WhatId), price books, and a
10 MB ContentVersion written as base64 JSON and read back raw from its VersionData URL."""

from __future__ import annotations

import base64
import os

from harness import uniq


def test_campaign_members_and_an_event_with_who_and_what(sf):
    name = uniq("campaign")
    campaign = sf.Campaign.create({"Name": name, "Status": "Planned"})["id"]
    contact = sf.Contact.create({"LastName": "Member"})["id"]
    sf.CampaignMember.create({"CampaignId": campaign, "ContactId": contact, "Status": "Sent"})
    res = sf.query(f"SELECT Name, (SELECT ContactId, Status FROM CampaignMembers) FROM Campaign WHERE Id = '{campaign}'")
    [c] = res["records"]
    assert c["Name"] == name
    assert [(m["ContactId"], m["Status"]) for m in c["CampaignMembers"]["records"]] == [(contact, "Sent")]

    account = sf.Account.create({"Name": uniq("evented")})["id"]
    event = sf.Event.create({
        "Subject": "Demo", "WhoId": contact, "WhatId": account,
        "StartDateTime": "2026-12-01T09:00:00.000Z", "EndDateTime": "2026-12-01T09:30:00.000Z",
        "DurationInMinutes": 30,
    })["id"]
    assert event.startswith("00U")
    [e] = sf.query(f"SELECT Who.Name, What.Name, WhatId FROM Event WHERE Id = '{event}'")["records"]
    assert e["Who"]["Name"] == "Member"
    assert e["WhatId"] == account and e["What"]["Name"].startswith("evented")


def test_the_standard_price_book_and_an_opportunity_product(sf):
    [book] = sf.query("SELECT Id, Name FROM Pricebook2 WHERE IsStandard = true")["records"]
    assert book["Name"] == "Standard Price Book"
    product = sf.Product2.create({"Name": uniq("widget")})["id"]
    entry = sf.PricebookEntry.create({"Pricebook2Id": book["Id"], "Product2Id": product, "UnitPrice": 25, "IsActive": True})["id"]
    opp = sf.Opportunity.create({"Name": uniq("opp"), "StageName": "Prospecting", "CloseDate": "2026-12-31"})["id"]
    sf.OpportunityLineItem.create({"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 4, "UnitPrice": 25})
    o = sf.Opportunity.get(opp)
    assert (o["Amount"], o["HasOpportunityLineItem"], o["Pricebook2Id"]) == (100.0, True, book["Id"])


def test_a_ten_megabyte_file_as_base64_json_comes_back_raw(sf):
    data = os.urandom(10 * 1024 * 1024)
    created = sf.ContentVersion.create({
        "Title": "Ten", "PathOnClient": "ten.bin", "VersionData": base64.b64encode(data).decode(),
    })
    cv = sf.ContentVersion.get(created["id"])
    assert cv["ContentSize"] == len(data)
    assert cv["VersionData"].endswith(f"/sobjects/ContentVersion/{created['id']}/VersionData")
    resp = sf.session.get(f"https://{sf.sf_instance}{cv['VersionData']}", headers=sf.headers)
    assert resp.status_code == 200
    assert resp.content == data

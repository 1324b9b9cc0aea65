//! Change-event schemas and bitmaps against the worked examples of `pubsub-api.md` §5.5.

use forcebus_avro::change::{
    FieldSet, bitmap, change_event_schema, entity_name, names_from_bitmap,
};
use forcebus_avro::{Schema, schema_id};
use forcebus_meta::standard::catalogue;

fn account() -> Schema {
    let objects = catalogue();
    change_event_schema(objects.iter().find(|o| o.name == "Account").unwrap())
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn account_fields_come_in_the_live_org_order() {
    let s = account();
    let rec = s.as_record().unwrap();
    assert_eq!(rec.name, "AccountChangeEvent");
    let got: Vec<&str> = rec.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        &got[..24],
        [
            "ChangeEventHeader",
            "Name",
            "Type",
            "ParentId",
            "BillingAddress",
            "ShippingAddress",
            "Phone",
            "Fax",
            "AccountNumber",
            "Website",
            "Sic",
            "Industry",
            "AnnualRevenue",
            "NumberOfEmployees",
            "Ownership",
            "TickerSymbol",
            "Description",
            "Rating",
            "Site",
            "OwnerId",
            "CreatedDate",
            "CreatedById",
            "LastModifiedDate",
            "LastModifiedById",
        ]
    );
    assert_eq!(
        &got[24..],
        [
            "Jigsaw",
            "JigsawCompanyId",
            "CleanStatus",
            "AccountSource",
            "DunsNumber",
            "Tradestyle",
            "NaicsCode",
            "NaicsDesc",
            "YearStarted",
            "SicDesc",
            "DandbCompanyId"
        ]
    );
    let json = s.to_json();
    assert_eq!(json["namespace"], "com.sforce.eventbus");
    let billing = &json["fields"][4]["type"][1];
    let parts: Vec<&str> = billing["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        [
            "Street",
            "City",
            "State",
            "PostalCode",
            "Country",
            "StateCode",
            "CountryCode",
            "Latitude",
            "Longitude",
            "Xyz",
            "GeocodeAccuracy"
        ]
    );
    assert_eq!(
        json["fields"][5]["type"],
        serde_json::json!(["null", "Address"]),
        "the second address refers to the first by name"
    );
    let header: Vec<&str> = json["fields"][0]["type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        header,
        [
            "entityName",
            "recordIds",
            "changeType",
            "changeOrigin",
            "transactionKey",
            "sequenceNumber",
            "commitTimestamp",
            "commitNumber",
            "commitUser",
            "nulledFields",
            "diffFields",
            "changedFields"
        ]
    );
    assert_eq!(schema_id(&s), schema_id(&account()), "the id is stable");
}

#[test]
fn bitmaps_match_the_worked_examples() {
    let s = account();
    let rec = s.as_record().unwrap();
    let set = FieldSet::of(rec, &names(&["Name", "Phone", "LastModifiedDate"]));
    assert_eq!(bitmap(&set), ["0x400042"]);
    assert_eq!(
        names_from_bitmap(rec, &bitmap(&set)),
        names(&["Name", "Phone", "LastModifiedDate"])
    );
    let set = FieldSet::of(
        rec,
        &names(&[
            "LastModifiedDate",
            "BillingAddress.City",
            "BillingAddress.State",
        ]),
    );
    assert_eq!(bitmap(&set), ["0x400000", "4-0x06"]);
    assert_eq!(
        names_from_bitmap(rec, &bitmap(&set)),
        names(&[
            "LastModifiedDate",
            "BillingAddress.City",
            "BillingAddress.State"
        ])
    );
    assert_eq!(
        bitmap(&FieldSet::of(rec, &names(&["Phone"]))),
        ["0x40"],
        "whole bytes, upper case"
    );
    assert_eq!(
        bitmap(&FieldSet::of(
            rec,
            &names(&["ShippingAddress.GeocodeAccuracy"])
        )),
        ["0x00", "5-0x0400"]
    );
    assert!(
        bitmap(&FieldSet::default()).is_empty(),
        "an empty set is [] and never a lone 0x00"
    );
}

#[test]
fn person_names_and_custom_objects() {
    let objects = catalogue();
    let contact = change_event_schema(objects.iter().find(|o| o.name == "Contact").unwrap());
    let json = contact.to_json();
    let name = json["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Name")
        .unwrap()
        .clone();
    let parts: Vec<&str> = name["type"][1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        [
            "Salutation",
            "FirstName",
            "LastName",
            "MiddleName",
            "Suffix"
        ]
    );
    assert!(
        json["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["name"] != "FirstName"),
        "parts live inside the compound"
    );
    assert_eq!(entity_name("Invoice__c"), "Invoice__ChangeEvent");
    assert_eq!(entity_name("Account"), "AccountChangeEvent");
}

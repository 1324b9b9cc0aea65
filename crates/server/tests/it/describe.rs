//! Versions, resources, describeGlobal, basic info, describe, limits, trailing slashes.

use serde_json::Value;

use crate::{Authed, code, create, get, j, server};

#[test]
fn versions_need_no_token_and_run_from_31_to_the_latest() {
    let s = server();
    let (st, body) = j(s
        .http()
        .get(format!("{}/services/data/", s.base()))
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let list = body.as_array().unwrap();
    assert_eq!(list.len(), 38, "31.0 to 68.0");
    assert_eq!(
        list[0],
        serde_json::json!({"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"})
    );
    assert_eq!(
        list[28],
        serde_json::json!({"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"})
    );
    assert_eq!(
        list[35],
        serde_json::json!({"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"})
    );
    assert_eq!(
        list[37],
        serde_json::json!({"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"})
    );
    let (st, res) = get(&s, "");
    assert_eq!(st, 200);
    assert_eq!(res["sobjects"], "/services/data/v59.0/sobjects");
    assert_eq!(
        res["identity"],
        format!("{}/id/{}/{}", s.base(), s.ready.org_id, s.ready.user_id)
    );
    for v in ["31.0", "42.0", "59.0", "66.0", "68.0"] {
        let st = s
            .http()
            .get(format!("{}/services/data/v{v}/sobjects/", s.base()))
            .bearer(&s)
            .send()
            .unwrap()
            .status();
        assert_eq!(st, 200, "v{v}");
    }
}

/// Versions as Salesforce serves them since Summer '25: 31.0 to the newest on every API;
/// a retired one is 410 `GONE` over REST, `UNSUPPORTED_API_VERSION` over SOAP and
/// `InvalidVersion` over Bulk 1.0; an unknown newer one is 404 over REST; SOAP `login()`
/// is gone from 65.0 on.
#[test]
fn retired_and_newest_versions_answer_as_salesforce_does() {
    let s = server();
    let rest = |v: &str| {
        j(s.http()
            .get(format!("{}/services/data/v{v}/sobjects", s.base()))
            .bearer(&s)
            .send()
            .unwrap())
    };
    assert_eq!(rest("68.0").0, 200);
    let (st, body) = rest("30.0");
    assert_eq!((st, code(&body)), (410, "GONE"), "{body}");
    let (st, body) = rest("69.0");
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"), "{body}");
    let login = |v: &str| {
        let envelope = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Body><login xmlns="urn:partner.soap.sforce.com"><username>{}</username><password>{}{}</password></login></se:Body></se:Envelope>"#,
            s.ready.username, s.ready.password, s.ready.security_token
        );
        let r = s
            .http()
            .post(format!("{}/services/Soap/u/{v}", s.base()))
            .header("Content-Type", "text/xml")
            .header("SOAPAction", "login")
            .body(envelope)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (st, xml) = login("64.0");
    assert!(st == 200 && xml.contains("<sessionId>"), "{st} {xml}");
    let (st, xml) = login("66.0");
    assert_eq!(st, 500, "{xml}");
    assert!(
        xml.contains("<faultcode>sf:INVALID_OPERATION</faultcode>")
            && xml.contains("not available in the API version specified (66.0)"),
        "{xml}"
    );
    for v in ["30.0", "69.0"] {
        let (st, xml) = login(v);
        assert_eq!(st, 500, "{xml}");
        assert!(
            xml.contains("<faultcode>sf:UNSUPPORTED_API_VERSION</faultcode>"),
            "{v}: {xml}"
        );
    }
    let r = s
        .http()
        .post(format!("{}/services/async/30.0/job", s.base()))
        .header("X-SFDC-Session", s.ready.access_token.as_str())
        .header("Content-Type", "application/json")
        .body(r#"{"operation":"insert","object":"Account","contentType":"JSON"}"#)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(
        (status, body["exceptionCode"].as_str()),
        (400, Some("InvalidVersion")),
        "{body}"
    );
}

#[test]
fn describe_global_and_describe_carry_every_key_clients_read() {
    let s = server();
    let (st, global) = get(&s, "/sobjects/");
    assert_eq!(st, 200);
    assert_eq!(global["maxBatchSize"], 200);
    let entry = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Account")
        .unwrap()
        .clone();
    for key in [
        "activateable",
        "associateEntityType",
        "associateParentEntity",
        "createable",
        "custom",
        "customSetting",
        "deepCloneable",
        "deletable",
        "deprecatedAndHidden",
        "feedEnabled",
        "hasSubtypes",
        "idEnabled",
        "isInterface",
        "isSubtype",
        "keyPrefix",
        "label",
        "labelPlural",
        "layoutable",
        "mergeable",
        "mruEnabled",
        "name",
        "queryable",
        "replicateable",
        "retrieveable",
        "searchable",
        "triggerable",
        "undeletable",
        "updateable",
        "urls",
    ] {
        assert!(entry.get(key).is_some(), "describeGlobal entry lacks {key}");
    }
    assert_eq!(
        entry["urls"]["rowTemplate"],
        "/services/data/v59.0/sobjects/Account/{ID}"
    );
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for o in [
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "Case",
        "User",
        "Task",
        "Invoice__c",
    ] {
        assert!(names.contains(&o), "{o}");
    }
    let (st, d) = get(&s, "/sobjects/Account/describe/");
    assert_eq!(st, 200);
    let fields = d["fields"].as_array().unwrap();
    let field = |n: &str| {
        fields
            .iter()
            .find(|f| f["name"] == n)
            .unwrap_or_else(|| panic!("no field {n}"))
            .clone()
    };
    let keys = [
        "aggregatable",
        "autoNumber",
        "byteLength",
        "calculated",
        "calculatedFormula",
        "cascadeDelete",
        "caseSensitive",
        "compoundFieldName",
        "controllerName",
        "createable",
        "custom",
        "defaultValue",
        "defaultValueFormula",
        "defaultedOnCreate",
        "dependentPicklist",
        "deprecatedAndHidden",
        "digits",
        "displayLocationInDecimal",
        "encrypted",
        "externalId",
        "extraTypeInfo",
        "filterable",
        "filteredLookupInfo",
        "groupable",
        "highScaleNumber",
        "htmlFormatted",
        "idLookup",
        "inlineHelpText",
        "label",
        "length",
        "mask",
        "maskType",
        "name",
        "nameField",
        "namePointing",
        "nillable",
        "permissionable",
        "picklistValues",
        "precision",
        "queryByDistance",
        "referenceTargetField",
        "referenceTo",
        "relationshipName",
        "relationshipOrder",
        "restrictedDelete",
        "restrictedPicklist",
        "scale",
        "soapType",
        "sortable",
        "type",
        "unique",
        "updateable",
        "writeRequiresMasterRead",
    ];
    for f in fields {
        for k in keys {
            assert!(f.get(k).is_some(), "{} lacks {k}", f["name"]);
        }
    }
    // Every field of the §4.10 / pubsub §5.5 change-event example exists.
    for n in [
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
        "DandbCompanyId",
        "SystemModstamp",
        "IsDeleted",
        "External_Id__c",
    ] {
        field(n);
    }
    assert_eq!(field("BillingAddress")["type"], "address");
    assert_eq!(field("BillingCity")["compoundFieldName"], "BillingAddress");
    assert_eq!(field("Id")["soapType"], "tns:ID");
    assert_eq!(field("Name")["nillable"], false);
    assert_eq!(field("OwnerId")["referenceTo"], serde_json::json!(["User"]));
    assert_eq!(field("External_Id__c")["externalId"], true);
    assert_eq!(field("Tier__c")["restrictedPicklist"], true);
    assert_eq!(field("Tier__c")["picklistValues"][0]["value"], "Gold");
    let kids = d["childRelationships"].as_array().unwrap();
    assert!(kids.iter().any(|r| r["childSObject"] == "Contact"
        && r["relationshipName"] == "Contacts"
        && r["field"] == "AccountId"));
    assert!(
        kids.iter()
            .any(|r| r["childSObject"] == "Invoice__c" && r["cascadeDelete"] == true)
    );
    assert_eq!(d["recordTypeInfos"][0]["master"], true);
    let (_, contact) = get(&s, "/sobjects/Contact/describe");
    let name = contact["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "Name")
        .unwrap()
        .clone();
    assert_eq!(
        (name["extraTypeInfo"].as_str(), name["createable"].as_bool()),
        (Some("personname"), Some(false))
    );
    let first = contact["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "FirstName")
        .unwrap()
        .clone();
    assert_eq!(first["compoundFieldName"], "Name");
    let (st, _) = get(&s, "/sobjects/Nope/describe");
    assert_eq!(st, 404);
}

#[test]
fn basic_info_lists_recently_viewed_records() {
    let s = server();
    let id = create(&s, "Account", serde_json::json!({"Name": "Recent"}));
    let (st, info) = get(&s, "/sobjects/Account");
    assert_eq!(st, 200);
    assert_eq!(info["objectDescribe"]["keyPrefix"], "001");
    assert_eq!(
        info["recentItems"],
        serde_json::json!([]),
        "created, not viewed"
    );
    let (st, _) = get(&s, "/query?q=SELECT+Id+FROM+Account+FOR+VIEW");
    assert_eq!(st, 200);
    let (_, info) = get(&s, "/sobjects/Account");
    assert_eq!(info["recentItems"][0]["Id"], id);
    assert_eq!(info["recentItems"][0]["Name"], "Recent");
}

#[test]
fn limits_report_and_count_api_usage() {
    let s = server();
    let r = s
        .http()
        .get(format!("{}/limits/", s.data()))
        .bearer(&s)
        .send()
        .unwrap();
    let info = r.headers()["sforce-limit-info"]
        .to_str()
        .unwrap()
        .to_owned();
    let (st, body) = j(r);
    assert_eq!(st, 200);
    assert!(
        info.starts_with("api-usage=") && info.ends_with("/15000"),
        "{info}"
    );
    let used: u64 = info["api-usage=".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(body["DailyApiRequests"]["Remaining"], 15000 - used);
    for key in [
        "DailyApiRequests",
        "DailyBulkApiBatches",
        "DataStorageMB",
        "FileStorageMB",
        "HourlyPublishedPlatformEvents",
        "DailyDeliveredPlatformEvents",
        "DurableStreamingApiConcurrentClients",
        "StreamingApiConcurrentClients",
        "DailyDurableStreamingApiEvents",
        "MonthlyPlatformEventsUsageEntitlement",
    ] {
        assert!(
            body[key]["Max"].is_u64() && body[key]["Remaining"].is_u64(),
            "{key}"
        );
    }
    assert_eq!(body.get("Nope"), None::<&Value>);
}

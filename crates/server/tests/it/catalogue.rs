//! The whole standard catalogue, object by object, as a client finds it: every object that
//! describeGlobal lists describes, answers a SOQL query naming all its fields, and, where
//! createable, takes a record with its required fields (its required parents made first)
//! and reads it back; every object with change events publishes one for that insert.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use crate::{Authed, create, get, j, records, server};

/// A value of a field's type that Salesforce accepts.
fn sample(field: &Value, parents: &mut dyn FnMut(&str) -> Option<String>) -> Option<Value> {
    let picklist = field["picklistValues"]
        .as_array()
        .and_then(|v| v.iter().find(|p| p["active"] == true))
        .map(|p| p["value"].clone());
    Some(match field["type"].as_str().unwrap_or_default() {
        "reference" => {
            let targets = field["referenceTo"].as_array()?;
            let id = targets
                .iter()
                .filter_map(Value::as_str)
                .find_map(&mut *parents)?;
            Value::String(id)
        }
        "picklist" | "multipicklist" | "combobox" => picklist.unwrap_or(json!("A")),
        "int" | "double" | "currency" | "percent" | "long" => json!(1),
        "date" => json!("2026-01-02"),
        "datetime" => json!("2026-01-02T03:04:05.000Z"),
        "time" => json!("03:04:05.000Z"),
        "email" => json!("catalogue@example.com"),
        "url" => json!("https://example.com"),
        "base64" => json!("aGVsbG8="),
        _ => {
            let length = field["length"].as_u64().unwrap_or(10).clamp(1, 10);
            let text = "Catalogue!";
            Value::String(text[..usize::try_from(length).unwrap_or(1)].to_owned())
        }
    })
}

/// Values an object's own rules need (a PushTopic's query must be valid SOQL).
fn valid(object: &str) -> Value {
    match object {
        "PushTopic" => json!({"Query": "SELECT Id, Name FROM Account", "ApiVersion": 66.0}),
        "StreamingChannel" => json!({"Name": "/u/Catalogue"}),
        "Event" => json!({"StartDateTime": "2026-12-01T09:00:00.000Z", "DurationInMinutes": 30}),
        "RecordType" => json!({"DeveloperName": "Catalogue"}),
        // A line item is priced from an active entry only.
        "PricebookEntry" => json!({"IsActive": true}),
        _ => json!({}),
    }
}

fn required(field: &Value) -> bool {
    field["nillable"] == false
        && field["createable"] == true
        && field["defaultedOnCreate"] == false
        && field["type"] != "boolean"
}

struct Walk<'a> {
    s: &'a forcebus_testkit::Server,
    describes: HashMap<String, Value>,
    made: HashMap<String, Option<String>>,
}

impl Walk<'_> {
    fn describe(&mut self, object: &str) -> Option<Value> {
        if !self.describes.contains_key(object) {
            let (st, body) = get(self.s, &format!("/sobjects/{object}/describe"));
            if st != 200 {
                return None;
            }
            self.describes.insert(object.to_owned(), body);
        }
        self.describes.get(object).cloned()
    }

    /// A record of `object` with its required fields, made once; `None` when the object
    /// is not createable or a required parent cannot be made.
    fn record(&mut self, object: &str, depth: u32) -> Option<String> {
        if let Some(made) = self.made.get(object) {
            return made.clone();
        }
        if object == "Pricebook2" {
            // Prices start in the Standard Price Book.
            let books = crate::records(self.s, "SELECT Id FROM Pricebook2 WHERE IsStandard = true");
            let id = books
                .first()
                .and_then(|b| b["Id"].as_str())
                .map(str::to_owned);
            self.made.insert(object.to_owned(), id.clone());
            return id;
        }
        if object == "ContentDocument" {
            // A document is made by its first version.
            let version = self.record("ContentVersion", depth + 1)?;
            let (_, v) = get(self.s, &format!("/sobjects/ContentVersion/{version}"));
            let id = v["ContentDocumentId"].as_str().map(str::to_owned);
            self.made.insert(object.to_owned(), id.clone());
            return id;
        }
        let d = self.describe(object)?;
        if d["createable"] != true || depth > 4 {
            return None;
        }
        let mut body = Map::new();
        for f in d["fields"].as_array()?.iter().filter(|f| required(f)) {
            let mut parents = |target: &str| {
                if target == "User" {
                    return Some(self.s.ready.user_id.clone());
                }
                self.record(target, depth + 1)
            };
            let v = sample(f, &mut parents)?;
            body.insert(f["name"].as_str()?.to_owned(), v);
        }
        if let Value::Object(extra) = valid(object) {
            body.extend(extra);
        }
        if object == "OpportunityLineItem" {
            // Its entry is nillable in describe (a product id may stand for it), but one of
            // them must be given.
            let entry = self.record("PricebookEntry", depth + 1)?;
            body.insert("PricebookEntryId".into(), json!(entry));
            body.insert("UnitPrice".into(), json!(1));
        }
        let (st, res) = j(self
            .s
            .http()
            .post(format!("{}/sobjects/{object}", self.s.data()))
            .bearer(self.s)
            .json(&body)
            .send()
            .unwrap());
        assert_eq!(st, 201, "{object} {body:?}: {res}");
        let id = res["id"].as_str().map(str::to_owned);
        self.made.insert(object.to_owned(), id.clone());
        id
    }
}

#[test]
fn every_object_describes_queries_and_takes_a_record_with_its_required_fields() {
    let s = server();
    let (st, global) = get(&s, "/sobjects");
    assert_eq!(st, 200);
    let entries = global["sobjects"].as_array().unwrap();
    let objects: Vec<String> = entries
        .iter()
        .filter(|o| o["associateEntityType"].is_null() && o["custom"] == false)
        .map(|o| o["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(objects.len() >= 70, "{} standard objects", objects.len());
    for needed in [
        "Campaign",
        "CampaignMember",
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "OpportunityLineItem",
        "ContentVersion",
        "ContentDocument",
        "ContentDocumentLink",
        "Event",
        "Note",
        "Attachment",
        "ApexClass",
        "CronTrigger",
        "BusinessHours",
        "Group",
        "AccountContactRelation",
        "Quote",
        "QuoteLineItem",
    ] {
        assert!(
            objects.iter().any(|o| o == needed),
            "describeGlobal lists {needed}"
        );
    }
    let mut walk = Walk {
        s: &s,
        describes: HashMap::new(),
        made: HashMap::new(),
    };
    let mut not_made = BTreeMap::new();
    for object in &objects {
        let d = walk
            .describe(object)
            .unwrap_or_else(|| panic!("{object} describes"));
        assert_eq!(d["name"], object.as_str());
        let fields: Vec<&str> = d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        if d["queryable"] != true {
            // ActivityHistory, OpenActivity: read through their parents only.
            continue;
        }
        let soql = format!("SELECT {} FROM {object}", fields.join(", "));
        if object == "UserRecordAccess" {
            // Its rows are made for a query naming one user and its records.
            let (st, body) = crate::soql(&s, &soql);
            assert_eq!((st, crate::code(&body)), (400, "MALFORMED_QUERY"), "{body}");
            continue;
        }
        crate::records(&s, &soql);
        if d["createable"] != true {
            continue;
        }
        match walk.record(object, 0) {
            Some(id) => {
                let (st, rec) = get(&s, &format!("/sobjects/{object}/{id}"));
                assert_eq!(st, 200, "{object}/{id}: {rec}");
                assert_eq!(rec["Id"], id.as_str());
            }
            None => {
                not_made.insert(object.clone(), ());
            }
        }
    }
    // Their required parent is nothing an org without Apex or Ideas zones has: an email
    // service's Apex function, an Idea's zone (Community).
    assert_eq!(
        not_made.keys().map(String::as_str).collect::<Vec<_>>(),
        ["EmailServicesAddress", "Idea"],
        "not made"
    );
}

/// The Tooling API serves the code and setup objects its describeGlobal lists: an org
/// without Apex answers an empty list (as jsforce's `tooling.sobject('ApexClass').find()`).
#[test]
fn the_tooling_api_queries_and_describes_apex_classes() {
    let s = server();
    for object in [
        "ApexClass",
        "ApexTrigger",
        "ApexPage",
        "StaticResource",
        "RecordType",
    ] {
        let (st, body) = j(s
            .http()
            .get(format!("{}/tooling/query", s.data()))
            .query(&[("q", format!("SELECT Id, Name FROM {object}"))])
            .bearer(&s)
            .send()
            .unwrap());
        assert_eq!(st, 200, "{object}: {body}");
        assert_eq!(body["totalSize"], 0, "{object}");
        let (st, d) = get(&s, &format!("/tooling/sobjects/{object}/describe"));
        assert_eq!(st, 200, "{object}: {d}");
        assert_eq!(d["name"], object);
    }
    let (_, global) = get(&s, "/tooling/sobjects");
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert!(
        names.contains(&"ApexClass") && names.contains(&"User"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"Campaign"),
        "Campaign is not a Tooling object"
    );
}

/// Small differences real suites found: a custom record saved without a name is named
/// after its Id; `HAVING MAX(text) LIKE` is valid SOQL; the org's users are `Standard`.
#[test]
fn a_nameless_custom_record_a_text_aggregate_like_and_the_users_type() {
    let s = server();
    let account = crate::create(&s, "Account", json!({"Name": "Quiet Co"}));
    let invoice = crate::create(&s, "Invoice__c", json!({"Account__c": account}));
    let (_, rec) = get(&s, &format!("/sobjects/Invoice__c/{invoice}"));
    assert_eq!(
        rec["Name"],
        json!(&invoice[..15]),
        "named after its Id: {rec}"
    );
    let soql = "SELECT Name, COUNT(Id) FROM Account GROUP BY Name HAVING MAX(Name) LIKE '%Quiet%'";
    assert_eq!(crate::records(&s, soql)[0]["Name"], "Quiet Co");
    let (_, me) = get(&s, &format!("/sobjects/User/{}", s.ready.user_id));
    assert_eq!(me["UserType"], "Standard");
}

/// An event needs a start and a duration or an end, and the org keeps them consistent.
#[test]
fn an_event_has_a_start_and_a_duration_or_an_end() {
    let s = server();
    let post = |body: serde_json::Value| {
        j(s.http()
            .post(format!("{}/sobjects/Event", s.data()))
            .bearer(&s)
            .json(&body)
            .send()
            .unwrap())
    };
    let (st, body) =
        post(json!({"Subject": "No time", "StartDateTime": "2026-12-01T09:00:00.000Z"}));
    assert_eq!(
        (st, crate::code(&body)),
        (400, "REQUIRED_FIELD_MISSING"),
        "{body}"
    );
    assert_eq!(body[0]["fields"], json!(["DurationInMinutes"]));
    let (st, body) = post(
        json!({"Subject": "Half hour", "StartDateTime": "2026-12-01T09:00:00.000Z", "DurationInMinutes": 30}),
    );
    assert_eq!(st, 201, "{body}");
    let (_, e) = get(
        &s,
        &format!("/sobjects/Event/{}", body["id"].as_str().unwrap()),
    );
    assert_eq!(
        (
            &e["EndDateTime"],
            &e["ActivityDateTime"],
            &e["ActivityDate"]
        ),
        (
            &json!("2026-12-01T09:30:00.000+0000"),
            &json!("2026-12-01T09:00:00.000+0000"),
            &json!("2026-12-01")
        ),
        "{e}"
    );
    let (st, body) = post(
        json!({"Subject": "Till ten", "StartDateTime": "2026-12-01T09:00:00.000Z", "EndDateTime": "2026-12-01T10:00:00.000Z"}),
    );
    assert_eq!(st, 201, "{body}");
    let (_, e) = get(
        &s,
        &format!("/sobjects/Event/{}", body["id"].as_str().unwrap()),
    );
    assert_eq!(e["DurationInMinutes"], json!(60));
}

/// A campaign starts with the statuses Sent (default) and Responded; its members take a
/// status, a response and their person's details; its counts follow members and
/// opportunities.
#[test]
fn a_campaign_its_statuses_members_and_counts() {
    let s = server();
    let campaign = crate::create(&s, "Campaign", json!({"Name": "Launch"}));
    let statuses = crate::records(
        &s,
        &format!(
            "SELECT Label, IsDefault, HasResponded FROM CampaignMemberStatus WHERE CampaignId = '{campaign}' ORDER BY SortOrder"
        ),
    );
    let seen: Vec<(&serde_json::Value, &serde_json::Value, &serde_json::Value)> = statuses
        .iter()
        .map(|r| (&r["Label"], &r["IsDefault"], &r["HasResponded"]))
        .collect();
    assert_eq!(
        seen,
        vec![
            (&json!("Sent"), &json!(true), &json!(false)),
            (&json!("Responded"), &json!(false), &json!(true))
        ]
    );
    let account = crate::create(&s, "Account", json!({"Name": "Members Inc"}));
    let contact = crate::create(
        &s,
        "Contact",
        json!({"LastName": "Ada", "Email": "ada@example.com", "AccountId": account}),
    );
    let lead = crate::create(
        &s,
        "Lead",
        json!({"LastName": "Bo", "Company": "Leads Ltd"}),
    );
    let m1 = crate::create(
        &s,
        "CampaignMember",
        json!({"CampaignId": campaign, "ContactId": contact}),
    );
    let m2 = crate::create(
        &s,
        "CampaignMember",
        json!({"CampaignId": campaign, "LeadId": lead, "Status": "Responded"}),
    );
    let (_, one) = get(&s, &format!("/sobjects/CampaignMember/{m1}"));
    assert_eq!(
        (
            &one["Status"],
            &one["HasResponded"],
            &one["Type"],
            &one["Email"],
            &one["CompanyOrAccount"]
        ),
        (
            &json!("Sent"),
            &json!(false),
            &json!("Contact"),
            &json!("ada@example.com"),
            &json!("Members Inc")
        ),
        "{one}"
    );
    let (_, two) = get(&s, &format!("/sobjects/CampaignMember/{m2}"));
    assert_eq!(
        (&two["HasResponded"], &two["Type"], &two["CompanyOrAccount"]),
        (&json!(true), &json!("Lead"), &json!("Leads Ltd"))
    );
    assert!(two["FirstRespondedDate"].is_string(), "{two}");
    crate::create(
        &s,
        "Opportunity",
        json!({"Name": "From launch", "StageName": "Closed Won", "CloseDate": "2026-12-01", "Amount": 500, "CampaignId": campaign}),
    );
    let (_, c) = get(&s, &format!("/sobjects/Campaign/{campaign}"));
    assert_eq!(
        (
            &c["NumberOfContacts"],
            &c["NumberOfLeads"],
            &c["NumberOfResponses"],
            &c["NumberOfOpportunities"],
            &c["NumberOfWonOpportunities"],
            &c["AmountWonOpportunities"]
        ),
        (
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(500.0)
        ),
        "{c}"
    );
    let st = s
        .http()
        .delete(format!("{}/sobjects/CampaignMember/{m2}", s.data()))
        .bearer(&s)
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 204);
    let (_, c) = get(&s, &format!("/sobjects/Campaign/{campaign}"));
    assert_eq!(
        (&c["NumberOfLeads"], &c["NumberOfResponses"]),
        (&json!(0), &json!(0))
    );
}

/// An account's activities: closed tasks and past events as `ActivityHistories`, open
/// tasks and events to come as `OpenActivities` (by the org's clock, which the test
/// controls move); neither object answers a query of its own.
#[test]
fn an_accounts_activity_history_and_open_activities() {
    let s = server();
    let account = crate::create(&s, "Account", json!({"Name": "Busy Co"}));
    let contact = crate::create(
        &s,
        "Contact",
        json!({"LastName": "Caller", "AccountId": account}),
    );
    crate::create(
        &s,
        "Task",
        json!({"Subject": "Done call", "Status": "Completed", "WhatId": account}),
    );
    crate::create(
        &s,
        "Task",
        json!({"Subject": "Follow up", "Status": "Not Started", "WhoId": contact}),
    );
    crate::create(
        &s,
        "Event",
        json!({"Subject": "Past demo", "WhatId": account, "StartDateTime": "2020-01-01T09:00:00.000Z", "DurationInMinutes": 60}),
    );
    crate::create(
        &s,
        "Event",
        json!({"Subject": "Next demo", "WhoId": contact, "StartDateTime": crate::an_hour_from_now(), "DurationInMinutes": 30}),
    );
    let activities = format!(
        "SELECT Name, (SELECT Subject, IsTask FROM ActivityHistories ORDER BY Subject), (SELECT Subject, IsTask, Owner.Name FROM OpenActivities ORDER BY Subject) FROM Account WHERE Id = '{account}'"
    );
    let rows = |rel: &str| -> Vec<(serde_json::Value, serde_json::Value)> {
        let account = &crate::records(&s, &activities)[0];
        account[rel]["records"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|r| (r["Subject"].clone(), r["IsTask"].clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        rows("ActivityHistories"),
        vec![
            (json!("Done call"), json!(true)),
            (json!("Past demo"), json!(false))
        ]
    );
    assert_eq!(
        rows("OpenActivities"),
        vec![
            (json!("Follow up"), json!(true)),
            (json!("Next demo"), json!(false))
        ]
    );
    // 100 minutes on by the org's clock (within the session's two hours), the demo is history.
    let (st, body) = j(s
        .http()
        .post(format!("{}/forcebus/v1/control/clock", s.base()))
        .header("Authorization", format!("Bearer {}", s.ready.admin_key))
        .json(&json!({"advance_secs": 6000}))
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        rows("ActivityHistories"),
        vec![
            (json!("Done call"), json!(true)),
            (json!("Next demo"), json!(false)),
            (json!("Past demo"), json!(false))
        ]
    );
    assert_eq!(
        rows("OpenActivities"),
        vec![(json!("Follow up"), json!(true))]
    );
    let (st, body) = crate::soql(&s, "SELECT Id FROM ActivityHistory");
    assert_eq!((st, crate::code(&body)), (400, "INVALID_TYPE"), "{body}");
}

/// A task or an event belongs to the account of what it is about: its `WhatId` account,
/// else that record's account, else its `WhoId` contact's.
#[test]
fn an_activity_belongs_to_its_account() {
    let s = server();
    let account = create(&s, "Account", json!({"Name": "Owner Co"}));
    let other = create(&s, "Account", json!({"Name": "Other Co"}));
    let contact = create(
        &s,
        "Contact",
        json!({"LastName": "Person", "AccountId": other}),
    );
    let opportunity = create(
        &s,
        "Opportunity",
        json!({"Name": "Deal", "AccountId": account, "StageName": "Prospecting", "CloseDate": "2026-12-31"}),
    );
    let lead = create(&s, "Lead", json!({"LastName": "L", "Company": "C"}));
    let cases = [
        (json!({"WhatId": account}), json!(account)),
        (
            json!({"WhatId": opportunity, "WhoId": contact}),
            json!(account),
        ),
        (json!({"WhoId": contact}), json!(other)),
        (json!({"WhoId": lead}), Value::Null),
    ];
    for (i, (links, want)) in cases.into_iter().enumerate() {
        let mut body = json!({"Subject": format!("Task {i}")});
        body.as_object_mut()
            .unwrap()
            .extend(links.as_object().unwrap().clone());
        let task = create(&s, "Task", body.clone());
        let (_, t) = get(&s, &format!("/sobjects/Task/{task}"));
        assert_eq!(t["AccountId"], want, "task {body}");
        body["StartDateTime"] = json!("2026-12-01T09:00:00.000Z");
        body["DurationInMinutes"] = json!(30);
        let event = create(&s, "Event", body.clone());
        let (_, e) = get(&s, &format!("/sobjects/Event/{event}"));
        assert_eq!(e["AccountId"], want, "event {body}");
    }
    let rows = records(
        &s,
        &format!("SELECT Subject FROM Task WHERE AccountId = '{account}' ORDER BY Subject"),
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
}

/// A field that came in a later API version (the Object Reference's "available in API
/// version 42.0 and later": Campaign.CampaignImageId) is not there for a call at an older
/// one: describe, SOQL, record reads and writes.
#[test]
fn a_field_is_there_from_the_version_it_came_in() {
    let s = server();
    let at = |version: &str, path: &str| {
        j(s.http()
            .get(format!("{}/services/data/v{version}{path}", s.base()))
            .bearer(&s)
            .send()
            .unwrap())
    };
    let has_field = |version: &str| {
        let (st, d) = at(version, "/sobjects/Campaign/describe");
        assert_eq!(st, 200);
        d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "CampaignImageId")
    };
    assert!(!has_field("41.0"));
    assert!(has_field("42.0"));
    let campaign = create(&s, "Campaign", json!({"Name": "Versions"}));
    let (st, body) = at("41.0", "/query?q=SELECT+CampaignImageId+FROM+Campaign");
    assert_eq!((st, crate::code(&body)), (400, "INVALID_FIELD"), "{body}");
    let (st, _) = at("42.0", "/query?q=SELECT+CampaignImageId+FROM+Campaign");
    assert_eq!(st, 200);
    let (_, r) = at("41.0", &format!("/sobjects/Campaign/{campaign}"));
    assert!(
        r.get("CampaignImageId").is_none() && r.get("Name").is_some(),
        "{r}"
    );
    let (_, r) = at("66.0", &format!("/sobjects/Campaign/{campaign}"));
    assert!(r.get("CampaignImageId").is_some(), "{r}");
    let (st, body) = j(s
        .http()
        .post(format!(
            "{}/services/data/v41.0/sobjects/Campaign",
            s.base()
        ))
        .bearer(&s)
        .json(&json!({"Name": "Old client", "CampaignImageId": null}))
        .send()
        .unwrap());
    assert_eq!((st, crate::code(&body)), (400, "INVALID_FIELD"), "{body}");
}

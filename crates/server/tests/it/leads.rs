//! Lead conversion and merge over the partner SOAP API, the picklist-value objects
//! (`LeadStatus`, `OpportunityStage`, ...) they rely on, the partner calls that describe
//! the session and the org, and a standard picklist field read at a version before 38.0.

use forcebus_testkit::Server;
use forcebus_xml::Element;
use serde_json::{Value, json};

use crate::{Authed, code, create, get, j, records, server};

/// A partner call with the server's session; its status and parsed `...Response`.
fn partner(s: &Server, body: &str) -> (u16, Element) {
    let xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{}</sessionId></SessionHeader></se:Header><se:Body>{body}</se:Body></se:Envelope>"#,
        s.ready.access_token
    );
    let r = s
        .http()
        .post(format!("{}/services/Soap/u/66.0", s.base()))
        .header("Content-Type", "text/xml")
        .header("SOAPAction", "x")
        .body(xml)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    let root = forcebus_xml::parse(text.as_bytes()).unwrap();
    let response = root.children.last().unwrap().children[0].clone();
    (status, response)
}

/// A result's children as (name, text) pairs, in order.
fn fields(result: &Element) -> Vec<(String, String)> {
    result
        .children
        .iter()
        .map(|c| (c.name.clone(), c.text.clone()))
        .collect()
}

fn text<'a>(result: &'a Element, name: &str) -> &'a str {
    result.text_of(name).unwrap_or("")
}

fn convert(s: &Server, items: &str) -> Vec<Element> {
    let (st, response) = partner(
        s,
        &format!(r#"<convertLead xmlns="urn:partner.soap.sforce.com">{items}</convertLead>"#),
    );
    assert_eq!(st, 200, "{response:?}");
    response.children
}

fn one(s: &Server, object: &str, id: &str) -> Value {
    let (st, body) = get(s, &format!("/sobjects/{object}/{id}"));
    assert_eq!(st, 200, "{object} {id}: {body}");
    body
}

/// The last day of today's quarter (UTC), as the new opportunity's close date.
fn quarter_end() -> String {
    let today = crate::an_hour_from_now();
    let (year, month): (i32, u32) = (today[..4].parse().unwrap(), today[5..7].parse().unwrap());
    let end_month = (month - 1) / 3 * 3 + 3;
    let day = match end_month {
        3 | 12 => 31,
        _ => 30,
    };
    format!("{year}-{end_month:02}-{day}")
}

#[test]
fn picklist_value_objects_are_their_picklists_values() {
    let s = server();
    let statuses = records(
        &s,
        "SELECT Id, MasterLabel, ApiName, SortOrder, IsDefault, IsConverted FROM LeadStatus ORDER BY SortOrder",
    );
    let labels: Vec<&str> = statuses
        .iter()
        .map(|r| r["MasterLabel"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "Open - Not Contacted",
            "Working - Contacted",
            "Closed - Converted",
            "Closed - Not Converted"
        ]
    );
    assert_eq!(statuses[0]["IsDefault"], json!(true));
    assert_eq!(statuses[2]["IsConverted"], json!(true));
    assert!(statuses[0]["Id"].as_str().unwrap().starts_with("01J"));
    let converted = records(
        &s,
        "SELECT ApiName FROM LeadStatus WHERE IsConverted = true",
    );
    assert_eq!(
        converted,
        [json!({"attributes": converted[0]["attributes"], "ApiName": "Closed - Converted"})]
    );
    let won = records(
        &s,
        "SELECT ApiName, DefaultProbability, IsClosed, ForecastCategoryName FROM OpportunityStage WHERE IsWon = true",
    );
    assert_eq!(won.len(), 1, "{won:?}");
    assert_eq!(
        (
            &won[0]["ApiName"],
            &won[0]["DefaultProbability"],
            &won[0]["IsClosed"]
        ),
        (&json!("Closed Won"), &json!(100), &json!(true))
    );
    let closed: Vec<Value> = records(
        &s,
        "SELECT MasterLabel FROM CaseStatus WHERE IsClosed = true",
    )
    .into_iter()
    .map(|r| r["MasterLabel"].clone())
    .collect();
    assert_eq!(closed, [json!("Closed")]);
    let ids: std::collections::HashSet<String> = ["LeadStatus", "OpportunityStage", "TaskStatus"]
        .iter()
        .flat_map(|o| records(&s, &format!("SELECT Id FROM {o}")))
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 4 + 10 + 5, "every row has its own id: {ids:?}");
    let (st, d) = get(&s, "/sobjects/LeadStatus/describe");
    assert_eq!(st, 200);
    assert_eq!(
        (&d["keyPrefix"], &d["queryable"], &d["createable"]),
        (&json!("01J"), &json!(true), &json!(false))
    );
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/LeadStatus", s.data()))
        .bearer(&s)
        .json(&json!({"MasterLabel": "New"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "INSUFFICIENT_ACCESS_OR_READONLY"));
}

#[test]
fn converting_a_lead_makes_its_account_contact_and_opportunity() {
    let s = server();
    let lead = create(
        &s,
        "Lead",
        json!({"FirstName": "Ada", "LastName": "Byron", "Company": "Engines Ltd",
               "Street": "1 Analytical Way", "City": "London", "Email": "ada@engines.test",
               "Phone": "555-0100", "Industry": "Technology", "LeadSource": "Web",
               "Description": "met at the fair"}),
    );
    let task = create(&s, "Task", json!({"Subject": "Call", "WhoId": lead}));
    let campaign = create(&s, "Campaign", json!({"Name": "Fair", "IsActive": true}));
    let member = create(
        &s,
        "CampaignMember",
        json!({"CampaignId": campaign, "LeadId": lead}),
    );
    let before = crate::events::all_events(&s, 0)
        .last()
        .and_then(|e| e["replayId"].as_u64())
        .unwrap_or(0);
    let results = convert(
        &s,
        &format!(
            "<leadConverts><convertedStatus>Closed - Converted</convertedStatus><leadId>{lead}</leadId></leadConverts>"
        ),
    );
    assert_eq!(results.len(), 1);
    let r = &results[0];
    let names: Vec<String> = fields(r).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "accountId",
            "contactId",
            "leadId",
            "opportunityId",
            "success"
        ],
        "the WSDL's order"
    );
    assert_eq!(text(r, "success"), "true");
    assert_eq!(text(r, "leadId"), lead);
    let (account, contact, opportunity) = (
        text(r, "accountId"),
        text(r, "contactId"),
        text(r, "opportunityId"),
    );
    assert!(
        account.starts_with("001") && contact.starts_with("003") && opportunity.starts_with("006")
    );

    let a = one(&s, "Account", account);
    assert_eq!(
        (
            &a["Name"],
            &a["BillingStreet"],
            &a["BillingCity"],
            &a["Phone"],
            &a["Industry"]
        ),
        (
            &json!("Engines Ltd"),
            &json!("1 Analytical Way"),
            &json!("London"),
            &json!("555-0100"),
            &json!("Technology")
        )
    );
    let c = one(&s, "Contact", contact);
    assert_eq!(
        (
            &c["AccountId"],
            &c["LastName"],
            &c["Email"],
            &c["MailingCity"],
            &c["Description"],
            &c["LeadSource"]
        ),
        (
            &json!(account),
            &json!("Byron"),
            &json!("ada@engines.test"),
            &json!("London"),
            &json!("met at the fair"),
            &json!("Web")
        )
    );
    let o = one(&s, "Opportunity", opportunity);
    assert_eq!(
        (
            &o["Name"],
            &o["AccountId"],
            &o["StageName"],
            &o["LeadSource"],
            &o["CampaignId"]
        ),
        (
            &json!("Engines Ltd"),
            &json!(account),
            &json!("Prospecting"),
            &json!("Web"),
            &json!(campaign)
        )
    );
    assert_eq!(o["CloseDate"], json!(quarter_end()));
    let roles = records(
        &s,
        &format!(
            "SELECT ContactId, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '{opportunity}'"
        ),
    );
    assert_eq!(
        (roles.len(), &roles[0]["ContactId"], &roles[0]["IsPrimary"]),
        (1, &json!(contact), &json!(true))
    );
    let l = one(&s, "Lead", &lead);
    assert_eq!(
        (
            &l["IsConverted"],
            &l["Status"],
            &l["ConvertedAccountId"],
            &l["ConvertedContactId"],
            &l["ConvertedOpportunityId"]
        ),
        (
            &json!(true),
            &json!("Closed - Converted"),
            &json!(account),
            &json!(contact),
            &json!(opportunity)
        )
    );
    assert!(l["ConvertedDate"].is_string());
    let t = one(&s, "Task", &task);
    assert_eq!(
        (&t["WhoId"], &t["WhatId"]),
        (&json!(contact), &json!(opportunity))
    );
    let m = one(&s, "CampaignMember", &member);
    assert_eq!(
        (&m["ContactId"], &m["LeadId"]),
        (&json!(contact), &json!(lead))
    );

    // One transaction's change events: the new records, the lead and what moved.
    let events = crate::events::all_events(&s, before);
    let headers: Vec<&Value> = events
        .iter()
        .map(|e| &e["event"]["ChangeEventHeader"])
        .collect();
    let seen: std::collections::BTreeSet<(&str, &str)> = headers
        .iter()
        .map(|h| {
            (
                h["entityName"].as_str().unwrap(),
                h["changeType"].as_str().unwrap(),
            )
        })
        .collect();
    for expected in [
        ("Account", "CREATE"),
        ("Contact", "CREATE"),
        ("Opportunity", "CREATE"),
        ("Lead", "UPDATE"),
        ("Task", "UPDATE"),
        ("CampaignMember", "UPDATE"),
    ] {
        assert!(seen.contains(&expected), "{expected:?} in {seen:?}");
    }
    let keys: std::collections::BTreeSet<&str> = headers
        .iter()
        .map(|h| h["transactionKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 1, "one transaction: {keys:?}");
    assert!(
        headers
            .iter()
            .all(|h| h["changeOrigin"] == json!("com/salesforce/api/soap/66.0")),
        "{headers:?}"
    );
    let lead_event = events
        .iter()
        .find(|e| e["event"]["ChangeEventHeader"]["entityName"] == "Lead")
        .unwrap();
    let changed = lead_event["event"]["ChangeEventHeader"]["changedFields"]
        .as_array()
        .unwrap();
    for f in [
        "IsConverted",
        "ConvertedAccountId",
        "ConvertedContactId",
        "Status",
    ] {
        assert!(changed.contains(&json!(f)), "{f} in {changed:?}");
    }

    // A converted lead can be neither changed nor converted again.
    let (st, body) = j(s
        .http()
        .patch(format!("{}/sobjects/Lead/{lead}", s.data()))
        .bearer(&s)
        .json(&json!({"Title": "Countess"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (400, "CANNOT_UPDATE_CONVERTED_LEAD"));
    let again = convert(
        &s,
        &format!(
            "<leadConverts><convertedStatus>Closed - Converted</convertedStatus><leadId>{lead}</leadId></leadConverts>"
        ),
    );
    assert_eq!(text(&again[0], "success"), "false");
    assert_eq!(
        again[0]
            .child("errors")
            .and_then(|e| e.text_of("statusCode")),
        Some("CANNOT_UPDATE_CONVERTED_LEAD")
    );
}

#[test]
fn converting_into_an_existing_account_fills_only_its_blank_fields() {
    let s = server();
    let account = create(
        &s,
        "Account",
        json!({"Name": "Keep Me", "Phone": "555-1111"}),
    );
    let lead = create(
        &s,
        "Lead",
        json!({"LastName": "Ng", "Company": "Other Name", "Phone": "555-2222",
               "Website": "https://ng.test"}),
    );
    let bad_status = create(&s, "Lead", json!({"LastName": "Ok", "Company": "Ok"}));
    let results = convert(
        &s,
        &format!(
            "<leadConverts><accountId>{account}</accountId><convertedStatus>Closed - Converted</convertedStatus><doNotCreateOpportunity>true</doNotCreateOpportunity><leadId>{lead}</leadId></leadConverts>\
             <leadConverts><convertedStatus>Working - Contacted</convertedStatus><leadId>{bad_status}</leadId></leadConverts>\
             <leadConverts><convertedStatus>Closed - Converted</convertedStatus><leadId>00Q000000000000AAA</leadId></leadConverts>"
        ),
    );
    assert_eq!(results.len(), 3);
    let r = &results[0];
    assert_eq!(text(r, "success"), "true");
    assert_eq!(text(r, "accountId"), account);
    assert!(
        r.child("opportunityId").unwrap().nil,
        "no opportunity: {r:?}"
    );
    let a = one(&s, "Account", &account);
    assert_eq!(
        (&a["Name"], &a["Phone"], &a["Website"]),
        (
            &json!("Keep Me"),
            &json!("555-1111"),
            &json!("https://ng.test")
        )
    );
    let c = one(&s, "Contact", text(r, "contactId"));
    assert_eq!(c["AccountId"], json!(account));
    assert_eq!(
        one(&s, "Lead", &lead)["ConvertedOpportunityId"],
        Value::Null
    );

    let status_code = |r: &Element| {
        r.child("errors")
            .and_then(|e| e.text_of("statusCode"))
            .map(str::to_owned)
    };
    assert_eq!(text(&results[1], "success"), "false");
    assert_eq!(status_code(&results[1]).as_deref(), Some("INVALID_STATUS"));
    assert_eq!(
        one(&s, "Lead", &bad_status)["IsConverted"],
        json!(false),
        "a failed conversion changes nothing"
    );
    assert_eq!(
        status_code(&results[2]).as_deref(),
        Some("INVALID_CROSS_REFERENCE_KEY")
    );
    let accounts = records(&s, "SELECT Id FROM Account");
    assert_eq!(
        accounts.len(),
        1,
        "no account was made for the failures: {accounts:?}"
    );
}

#[test]
fn merging_moves_children_to_the_master_and_deletes_the_others() {
    let s = server();
    let master = create(&s, "Account", json!({"Name": "Master"}));
    let second = create(&s, "Account", json!({"Name": "Second"}));
    let third = create(&s, "Account", json!({"Name": "Third"}));
    let contact = create(
        &s,
        "Contact",
        json!({"LastName": "Kid", "AccountId": second}),
    );
    let opportunity = create(
        &s,
        "Opportunity",
        json!({"Name": "Deal", "AccountId": third, "StageName": "Prospecting", "CloseDate": "2030-01-01"}),
    );
    let task = create(
        &s,
        "Task",
        json!({"Subject": "Follow up", "WhatId": second}),
    );
    // The contact's relationship with its account moves with it.
    let relation = records(
        &s,
        &format!("SELECT Id FROM AccountContactRelation WHERE ContactId = '{contact}'"),
    )[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = crate::events::all_events(&s, 0)
        .last()
        .and_then(|e| e["replayId"].as_u64())
        .unwrap_or(0);
    let (st, response) = partner(
        &s,
        &format!(
            r#"<merge xmlns="urn:partner.soap.sforce.com"><request><masterRecord><type>Account</type><Id>{master}</Id><Description>merged</Description></masterRecord><recordToMergeIds>{second}</recordToMergeIds><recordToMergeIds>{third}</recordToMergeIds></request></merge>"#
        ),
    );
    assert_eq!(st, 200);
    let r = &response.children[0];
    assert_eq!(text(r, "success"), "true", "{r:?}");
    assert_eq!(text(r, "id"), master);
    let merged: Vec<&str> = r
        .children_named("mergedRecordIds")
        .map(|e| e.text.as_str())
        .collect();
    assert_eq!(merged, [second.as_str(), third.as_str()]);
    let mut updated: Vec<&str> = r
        .children_named("updatedRelatedIds")
        .map(|e| e.text.as_str())
        .collect();
    updated.sort_unstable();
    let mut expected = [
        contact.as_str(),
        opportunity.as_str(),
        task.as_str(),
        relation.as_str(),
    ];
    expected.sort_unstable();
    assert_eq!(updated, expected);

    assert_eq!(one(&s, "Account", &master)["Description"], json!("merged"));
    assert_eq!(one(&s, "Contact", &contact)["AccountId"], json!(master));
    assert_eq!(
        one(&s, "Opportunity", &opportunity)["AccountId"],
        json!(master)
    );
    assert_eq!(one(&s, "Task", &task)["WhatId"], json!(master));
    let moved = one(&s, "AccountContactRelation", &relation);
    assert_eq!(
        (&moved["AccountId"], &moved["IsDirect"]),
        (&json!(master), &json!(true))
    );
    for id in [&second, &third] {
        assert_eq!(get(&s, &format!("/sobjects/Account/{id}")).0, 404);
    }
    let (st, gone) = j(s
        .http()
        .get(format!("{}/queryAll", s.data()))
        .query(&[(
            "q",
            "SELECT Id, MasterRecordId FROM Account WHERE IsDeleted = true",
        )])
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{gone}");
    let masters: Vec<&Value> = gone["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["MasterRecordId"])
        .collect();
    assert_eq!(masters, [&json!(master), &json!(master)]);
    // Alike changes share one event (the two deletes), as Salesforce sends them.
    let mut changes: Vec<(String, String)> = crate::events::all_events(&s, before)
        .iter()
        .flat_map(|e| {
            let h = &e["event"]["ChangeEventHeader"];
            let kind = h["changeType"].as_str().unwrap().to_owned();
            h["recordIds"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |id| (id.as_str().unwrap().to_owned(), kind.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    changes.sort();
    let mut expected: Vec<(String, String)> = [
        (&master, "UPDATE"),
        (&second, "DELETE"),
        (&third, "DELETE"),
        (&contact, "UPDATE"),
        (&opportunity, "UPDATE"),
        (&task, "UPDATE"),
        (&relation, "UPDATE"),
    ]
    .into_iter()
    .map(|(id, t)| (id.clone(), t.to_owned()))
    .collect();
    expected.sort();
    assert_eq!(changes, expected);

    // What merge refuses: another type, too many records, a type it does not merge.
    let lead = create(&s, "Lead", json!({"LastName": "L", "Company": "C"}));
    let accounts: Vec<String> = (0..3)
        .map(|i| create(&s, "Account", json!({"Name": format!("A{i}")})))
        .collect();
    let (_, response) = partner(
        &s,
        &format!(
            r#"<merge xmlns="urn:partner.soap.sforce.com"><request><masterRecord><type>Account</type><Id>{master}</Id></masterRecord><recordToMergeIds>{lead}</recordToMergeIds></request><request><masterRecord><type>Account</type><Id>{master}</Id></masterRecord><recordToMergeIds>{}</recordToMergeIds><recordToMergeIds>{}</recordToMergeIds><recordToMergeIds>{}</recordToMergeIds></request><request><masterRecord><type>Opportunity</type><Id>{opportunity}</Id></masterRecord><recordToMergeIds>{opportunity}</recordToMergeIds></request></merge>"#,
            accounts[0], accounts[1], accounts[2]
        ),
    );
    let codes: Vec<&str> = response
        .children
        .iter()
        .map(|r| {
            r.child("errors")
                .and_then(|e| e.text_of("statusCode"))
                .unwrap_or("none")
        })
        .collect();
    assert_eq!(codes, ["MERGE_FAILED", "MERGE_FAILED", "INVALID_TYPE"]);
    for id in &accounts {
        assert_eq!(get(&s, &format!("/sobjects/Account/{id}")).0, 200);
    }
}

#[test]
fn the_partner_api_describes_the_session_and_the_org() {
    let s = server();
    let (st, info) = partner(&s, r#"<getUserInfo xmlns="urn:partner.soap.sforce.com"/>"#);
    assert_eq!(st, 200);
    let result = &info.children[0];
    assert_eq!(text(result, "userName"), s.ready.username);
    assert_eq!(text(result, "userType"), "Standard");
    let (_, stamp) = partner(
        &s,
        r#"<getServerTimestamp xmlns="urn:partner.soap.sforce.com"/>"#,
    );
    let timestamp = text(&stamp.children[0], "timestamp");
    assert!(
        timestamp.len() == 24 && timestamp.ends_with('Z'),
        "{timestamp}"
    );
    let (_, tabs) = partner(&s, r#"<describeTabs xmlns="urn:partner.soap.sforce.com"/>"#);
    let apps: Vec<&str> = tabs.children.iter().map(|a| text(a, "label")).collect();
    assert_eq!(apps, ["Sales", "Service"]);
    let sales = &tabs.children[0];
    assert_eq!(text(sales, "selected"), "true");
    let objects: Vec<&str> = sales
        .children_named("tabs")
        .map(|t| text(t, "sobjectName"))
        .collect();
    assert!(
        objects.contains(&"Account") && objects.contains(&"Invoice__c"),
        "{objects:?}"
    );
    let account = sales.children_named("tabs").next().unwrap();
    assert_eq!(
        (
            text(account, "name"),
            text(account, "label"),
            text(account, "custom")
        ),
        ("standard-Account", "Accounts", "false")
    );
    assert_eq!(account.children_named("icons").count(), 2);
}

#[test]
fn a_standard_picklist_reads_with_its_values_before_api_38() {
    let s = server();
    let read = |version: &str| {
        let xml = format!(
            r#"<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>{}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body><met:readMetadata><met:type>CustomField</met:type><met:fullNames>Lead.Status</met:fullNames></met:readMetadata></soapenv:Body></soapenv:Envelope>"#,
            s.ready.access_token
        );
        s.http()
            .post(format!("{}/services/Soap/m/{version}", s.base()))
            .header("Content-Type", "text/xml")
            .header("SOAPAction", "x")
            .body(xml)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let old = read("37.0");
    let root = forcebus_xml::parse(old.as_bytes()).unwrap();
    let record = &root.children.last().unwrap().children[0].children[0].children[0];
    let picklist = record.child("picklist").unwrap_or_else(|| panic!("{old}"));
    let converted: Vec<&str> = picklist
        .children_named("picklistValues")
        .filter(|v| v.text_of("converted") == Some("true"))
        .map(|v| v.text_of("fullName").unwrap())
        .collect();
    assert_eq!(converted, ["Closed - Converted"]);
    assert!(!old.contains("valueSet"), "{old}");
    let new = read("62.0");
    assert!(
        new.contains("<valueSet>") && !new.contains("<picklist>"),
        "{new}"
    );
}

//! SOQL over a fixed data set, through the org (the real `Source`, indexes and all).
//! The clock stands at Wednesday 2024-05-15 10:30 UTC, so date literals are fixed.

use std::collections::BTreeMap;
use std::sync::Arc;

use forcebus_meta::standard;
use forcebus_org::custom::ObjectConfig;
use forcebus_org::{Api, Caller, ManualClock, Op, Org, Schema, UserSeed};
use forcebus_store::SqliteStore;
use serde_json::{Map, Value, json};

fn fixture() -> Org {
    let mut schema = Schema::new(standard::catalogue());
    let objects: BTreeMap<String, ObjectConfig> = serde_json::from_value(json!({
        "Account": {"fields": [
            {"name": "Ext__c", "type": "string", "external_id": true, "unique": true},
            {"name": "Tags__c", "type": "multipicklist", "picklist": ["a", "b", "c"]},
        ]},
    }))
    .unwrap();
    forcebus_org::custom::apply(&mut schema, &objects).unwrap();
    let clock = Arc::new(ManualClock::new("2024-05-15T10:30:00Z".parse().unwrap()));
    let seed = UserSeed {
        username: "admin@example.com".into(),
        first_name: "Ada".into(),
        last_name: "Admin".into(),
        email: "admin@example.com".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let org = Org::open(
        Arc::new(SqliteStore::in_memory().unwrap()),
        schema,
        clock,
        "T",
        &[seed],
    )
    .unwrap();
    let user = org.user_by_username("admin@example.com").unwrap().id;
    let caller = Caller {
        user_id: user,
        api: Api::Rest,
        version: "59.0".into(),
        client: None,
    };
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut add = |object: &str, name: &str, fields: Value| {
        let mut fields: Map<String, Value> = fields.as_object().unwrap().clone();
        for v in fields.values_mut() {
            if let Some(s) = v.as_str().and_then(|s| s.strip_prefix('@')) {
                *v = json!(ids[s]);
            }
        }
        let r = org
            .execute(
                &caller,
                vec![Op::Create {
                    object: object.into(),
                    fields,
                }],
                forcebus_org::Mode::ALL_OR_NONE,
            )
            .unwrap()
            .wait()
            .unwrap();
        let id = r.results[0]
            .as_ref()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .id()
            .to18();
        ids.insert(name.to_owned(), id);
    };
    add(
        "Account",
        "Acme",
        json!({"Name": "Acme", "Industry": "Energy", "NumberOfEmployees": 100, "AnnualRevenue": 1e6, "BillingCity": "Paris", "Rating": "Hot", "Type": "Customer - Direct", "Ext__c": "A-1", "Tags__c": "a;b"}),
    );
    add(
        "Account",
        "Globex",
        json!({"Name": "Globex", "Industry": "Technology", "NumberOfEmployees": 500, "AnnualRevenue": 5e6, "BillingCity": "Berlin", "Rating": "Warm", "Ext__c": "G-2", "Tags__c": "b"}),
    );
    add(
        "Account",
        "Initech",
        json!({"Name": "Initech", "Industry": "Technology", "NumberOfEmployees": 50, "BillingCity": "Paris", "Tags__c": "c"}),
    );
    add(
        "Account",
        "Umbrella",
        json!({"Name": "Umbrella", "Industry": "Healthcare", "NumberOfEmployees": 1000, "AnnualRevenue": 2e7, "BillingCity": "London", "Rating": "Cold"}),
    );
    add(
        "Account",
        "Hooli",
        json!({"Name": "Hooli", "Industry": "Technology", "NumberOfEmployees": 2000, "AnnualRevenue": 1e8, "Rating": "Hot", "ParentId": "@Globex", "Tags__c": "a;c"}),
    );
    add(
        "Account",
        "Stark 50%",
        json!({"Name": "Stark 50%", "Industry": "Energy", "AnnualRevenue": 3e5, "BillingCity": "Paris", "Rating": "Warm", "ParentId": "@Acme"}),
    );
    add(
        "Account",
        "Wayne_Ent",
        json!({"Name": "Wayne_Ent", "Industry": "Finance", "NumberOfEmployees": 300, "AnnualRevenue": 4e6, "BillingCity": "Gotham", "Description": "Bats"}),
    );
    add(
        "Account",
        "acme labs",
        json!({"Name": "acme labs", "Industry": "Energy", "NumberOfEmployees": 10, "AnnualRevenue": 1e5, "BillingCity": "paris", "Rating": "Hot", "ParentId": "@Acme"}),
    );
    add(
        "Account",
        "Gone",
        json!({"Name": "Gone", "Industry": "Energy"}),
    );
    add(
        "Contact",
        "Smith",
        json!({"LastName": "Smith", "FirstName": "Ann", "AccountId": "@Acme", "Email": "smith@acme.com", "Birthdate": "1980-05-15"}),
    );
    add(
        "Contact",
        "Jones",
        json!({"LastName": "Jones", "AccountId": "@Acme", "Title": "CTO"}),
    );
    add(
        "Contact",
        "Brown",
        json!({"LastName": "Brown", "FirstName": "Bob", "AccountId": "@Globex", "Email": "bob@globex.com"}),
    );
    add("Contact", "Taylor", json!({"LastName": "Taylor"}));
    add(
        "Contact",
        "Lee",
        json!({"LastName": "Lee", "AccountId": "@Hooli", "ReportsToId": "@Brown"}),
    );
    add(
        "Contact",
        "Ghost",
        json!({"LastName": "Ghost", "AccountId": "@Gone"}),
    );
    add(
        "Opportunity",
        "Big Deal",
        json!({"Name": "Big Deal", "AccountId": "@Acme", "StageName": "Prospecting", "CloseDate": "2024-05-15", "Amount": 1000}),
    );
    add(
        "Opportunity",
        "Small Deal",
        json!({"Name": "Small Deal", "AccountId": "@Acme", "StageName": "Closed Won", "CloseDate": "2024-04-10", "Amount": 200}),
    );
    add(
        "Opportunity",
        "Mid Deal",
        json!({"Name": "Mid Deal", "AccountId": "@Globex", "StageName": "Negotiation/Review", "CloseDate": "2024-06-20", "Amount": 5000}),
    );
    add(
        "Opportunity",
        "Lost Deal",
        json!({"Name": "Lost Deal", "AccountId": "@Initech", "StageName": "Closed Lost", "CloseDate": "2023-12-01", "Amount": 300}),
    );
    add(
        "Opportunity",
        "Future",
        json!({"Name": "Future", "AccountId": "@Hooli", "StageName": "Qualification", "CloseDate": "2025-02-01"}),
    );
    add(
        "Case",
        "Printer",
        json!({"Subject": "Printer jam", "AccountId": "@Acme", "ContactId": "@Smith", "Priority": "High"}),
    );
    add(
        "Case",
        "Login",
        json!({"Subject": "Cannot log in", "AccountId": "@Globex", "Status": "Closed"}),
    );
    add(
        "Task",
        "Call",
        json!({"Subject": "Call", "WhatId": "@Acme", "WhoId": "@Smith", "ActivityDate": "2024-05-16"}),
    );
    add(
        "Task",
        "Email",
        json!({"Subject": "Email", "WhatId": "@Big Deal", "Status": "Completed"}),
    );
    let gone = ids["Gone"].clone();
    org.execute(
        &caller,
        vec![Op::Delete {
            object: None,
            id: gone,
        }],
        forcebus_org::Mode::ALL_OR_NONE,
    )
    .unwrap()
    .wait()
    .unwrap();
    org
}

fn rows(org: &Org, q: &str, all: bool) -> Vec<Value> {
    org.query(q, "59.0", all, &|_| true)
        .unwrap_or_else(|e| panic!("{q}\n{}", e.render(q)))
        .records
}

/// The first selected column of each row, as text.
fn firsts(org: &Org, q: &str) -> Vec<String> {
    rows(org, q, false)
        .iter()
        .map(|r| {
            let (_, v) = r
                .as_object()
                .unwrap()
                .iter()
                .find(|(k, _)| *k != "attributes")
                .expect("a column");
            match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        })
        .collect()
}

#[test]
fn the_query_table() {
    let org = fixture();
    let all_accounts = [
        "Acme",
        "Globex",
        "Initech",
        "Umbrella",
        "Hooli",
        "Stark 50%",
        "Wayne_Ent",
        "acme labs",
    ];
    #[rustfmt::skip]
    let table: &[(&str, &[&str])] = &[
        // Selection and case.
        ("SELECT Name FROM Account", &all_accounts),
        ("select name from account", &all_accounts),
        ("SeLeCt NAME fRoM ACCOUNT", &all_accounts),
        ("SELECT Name FROM Account a", &all_accounts),
        ("SELECT a.Name FROM Account a", &all_accounts),
        ("SELECT Account.Name FROM Account", &all_accounts),
        ("SELECT Name FROM Account FOR VIEW", &all_accounts),
        ("SELECT Name FROM Account FOR REFERENCE", &all_accounts),
        ("SELECT Name FROM Account FOR UPDATE", &all_accounts),
        // Equality, inequality, case-insensitive text.
        ("SELECT Name FROM Account WHERE Name = 'Acme'", &["Acme"]),
        ("SELECT Name FROM Account WHERE Name = 'ACME'", &["Acme"]),
        ("SELECT Name FROM Account WHERE name = 'acme'", &["Acme"]),
        ("SELECT Name FROM Account WHERE Name != 'Acme'", &["Globex", "Initech", "Umbrella", "Hooli", "Stark 50%", "Wayne_Ent", "acme labs"]),
        ("SELECT Name FROM Account WHERE Name <> 'Acme' AND Industry = 'Energy'", &["Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE Industry = 'Technology'", &["Globex", "Initech", "Hooli"]),
        ("SELECT Name FROM Account WHERE Industry = 'technology'", &["Globex", "Initech", "Hooli"]),
        ("SELECT Name FROM Account WHERE BillingCity = 'PARIS'", &["Acme", "Initech", "Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE Ext__c = 'a-1'", &["Acme"]),
        ("SELECT Name FROM Account WHERE Ext__c = 'G-2' OR Ext__c = 'A-1'", &["Acme", "Globex"]),
        // null.
        ("SELECT Name FROM Account WHERE Rating = null", &["Initech", "Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE AnnualRevenue = null", &["Initech"]),
        ("SELECT Name FROM Account WHERE AnnualRevenue != null", &["Acme", "Globex", "Umbrella", "Hooli", "Stark 50%", "Wayne_Ent", "acme labs"]),
        ("SELECT Name FROM Account WHERE ParentId = null AND BillingCity = null", &[]),
        ("SELECT Name FROM Account WHERE ParentId != null", &["Hooli", "Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE NumberOfEmployees = null", &["Stark 50%"]),
        ("SELECT Name FROM Account WHERE Rating != 'Hot'", &["Globex", "Initech", "Umbrella", "Stark 50%", "Wayne_Ent"]),
        // Numbers.
        ("SELECT Name FROM Account WHERE NumberOfEmployees > 500", &["Umbrella", "Hooli"]),
        ("SELECT Name FROM Account WHERE NumberOfEmployees >= 500", &["Globex", "Umbrella", "Hooli"]),
        ("SELECT Name FROM Account WHERE NumberOfEmployees < 100", &["Initech", "acme labs"]),
        ("SELECT Name FROM Account WHERE NumberOfEmployees <= 100", &["Acme", "Initech", "acme labs"]),
        ("SELECT Name FROM Account WHERE NumberOfEmployees = 300", &["Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE AnnualRevenue > 1e6", &["Globex", "Umbrella", "Hooli", "Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE AnnualRevenue >= 1000000.0", &["Acme", "Globex", "Umbrella", "Hooli", "Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE AnnualRevenue < 500000", &["Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE NumberOfEmployees > -1 AND NumberOfEmployees < 60", &["Initech", "acme labs"]),
        ("SELECT Name FROM Opportunity WHERE Amount > 250", &["Big Deal", "Mid Deal", "Lost Deal"]),
        ("SELECT Name FROM Opportunity WHERE Probability = 100", &["Small Deal"]),
        // Text ranges.
        ("SELECT Name FROM Account WHERE Name > 'H' AND Name < 'J'", &["Initech", "Hooli"]),
        ("SELECT Name FROM Account WHERE Name >= 'u'", &["Umbrella", "Wayne_Ent"]),
        // Booleans.
        ("SELECT Name FROM Opportunity WHERE IsClosed = true", &["Small Deal", "Lost Deal"]),
        ("SELECT Name FROM Opportunity WHERE IsClosed = FALSE", &["Big Deal", "Mid Deal", "Future"]),
        ("SELECT Name FROM Opportunity WHERE IsWon = true AND IsClosed = true", &["Small Deal"]),
        ("SELECT Name FROM Opportunity WHERE IsWon != true", &["Big Deal", "Mid Deal", "Lost Deal", "Future"]),
        ("SELECT LastName FROM Contact WHERE DoNotCall = false", &["Smith", "Jones", "Brown", "Taylor", "Lee"]),
        // LIKE.
        ("SELECT Name FROM Account WHERE Name LIKE 'acme%'", &["Acme", "acme labs"]),
        ("SELECT Name FROM Account WHERE Name LIKE '%e%'", &["Acme", "Globex", "Initech", "Umbrella", "Wayne_Ent", "acme labs"]),
        ("SELECT Name FROM Account WHERE Name LIKE '_oo%'", &["Hooli"]),
        ("SELECT Name FROM Account WHERE Name LIKE '%50\\%'", &["Stark 50%"]),
        ("SELECT Name FROM Account WHERE Name LIKE '%\\_%'", &["Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE Name LIKE 'Wayne_Ent'", &["Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE Name LIKE 'x%'", &[]),
        ("SELECT Name FROM Account WHERE NOT Name LIKE 'a%'", &["Globex", "Initech", "Umbrella", "Hooli", "Stark 50%", "Wayne_Ent"]),
        ("SELECT LastName FROM Contact WHERE Email LIKE '%@acme.com'", &["Smith"]),
        // IN / NOT IN.
        ("SELECT Name FROM Account WHERE Industry IN ('Energy', 'Finance')", &["Acme", "Stark 50%", "Wayne_Ent", "acme labs"]),
        ("SELECT Name FROM Account WHERE Industry IN ('energy')", &["Acme", "Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE Industry NOT IN ('Energy', 'Technology')", &["Umbrella", "Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE Rating IN ('Hot', null)", &["Acme", "Initech", "Hooli", "Wayne_Ent", "acme labs"]),
        ("SELECT Name FROM Account WHERE Rating NOT IN ('Hot')", &["Globex", "Initech", "Umbrella", "Stark 50%", "Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE NumberOfEmployees IN (50, 500)", &["Globex", "Initech"]),
        ("SELECT Name FROM Account WHERE Ext__c IN ('A-1', 'G-2', 'Z-9')", &["Acme", "Globex"]),
        // AND / OR / NOT with parentheses.
        ("SELECT Name FROM Account WHERE Industry = 'Energy' AND Rating = 'Hot'", &["Acme", "acme labs"]),
        ("SELECT Name FROM Account WHERE Industry = 'Finance' OR Rating = 'Cold'", &["Umbrella", "Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE (Industry = 'Energy' OR Industry = 'Finance') AND NumberOfEmployees > 50", &["Acme", "Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE Industry = 'Energy' OR (Industry = 'Technology' AND Rating = 'Hot')", &["Acme", "Hooli", "Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE NOT Industry = 'Technology'", &["Acme", "Umbrella", "Stark 50%", "Wayne_Ent", "acme labs"]),
        ("SELECT Name FROM Account WHERE NOT (Industry = 'Technology' OR Industry = 'Energy')", &["Umbrella", "Wayne_Ent"]),
        ("SELECT Name FROM Account WHERE ((Name = 'Acme'))", &["Acme"]),
        ("SELECT Name FROM Account WHERE NOT (NOT (Name = 'Acme'))", &["Acme"]),
        ("SELECT Name FROM Account WHERE (Rating = 'Hot' AND Industry = 'Energy') OR (Rating = 'Warm' AND Industry = 'Technology')", &["Acme", "Globex", "acme labs"]),
        // Parent paths.
        ("SELECT LastName FROM Contact WHERE Account.Name = 'Acme'", &["Smith", "Jones"]),
        ("SELECT LastName FROM Contact WHERE Account.Industry = 'Technology'", &["Brown", "Lee"]),
        ("SELECT LastName FROM Contact WHERE Account.Parent.Name = 'Globex'", &["Lee"]),
        ("SELECT LastName FROM Contact WHERE Account.Parent.Parent.Name = null", &["Smith", "Jones", "Brown", "Taylor", "Lee"]),
        ("SELECT LastName FROM Contact WHERE AccountId = null", &["Taylor"]),
        ("SELECT LastName FROM Contact WHERE ReportsTo.LastName = 'Brown'", &["Lee"]),
        ("SELECT LastName FROM Contact WHERE Account.Owner.Username = 'admin@example.com'", &["Smith", "Jones", "Brown", "Lee"]),
        ("SELECT Name FROM Account WHERE Parent.Name = 'Acme'", &["Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE Parent.Parent.Name = null AND ParentId != null", &["Hooli", "Stark 50%", "acme labs"]),
        ("SELECT Name FROM Opportunity WHERE Account.Rating = 'Hot'", &["Big Deal", "Small Deal", "Future"]),
        ("SELECT Subject FROM Case WHERE Contact.Account.Name = 'Acme'", &["Printer jam"]),
        ("SELECT Subject FROM Task WHERE What.Name = 'Acme'", &["Call"]),
        ("SELECT Subject FROM Task WHERE Who.LastName = 'Smith'", &["Call"]),
        ("SELECT c.LastName FROM Contact c WHERE c.Account.Name = 'Globex'", &["Brown"]),
        ("SELECT LastName FROM Contact WHERE Owner.Name = 'Ada Admin'", &["Smith", "Jones", "Brown", "Taylor", "Lee"]),
        // Ids: 15 and 18 characters; reference equality through the index.
        ("SELECT Name FROM Account WHERE Id = '{Acme}'", &["Acme"]),
        ("SELECT Name FROM Account WHERE Id = '{Acme15}'", &["Acme"]),
        ("SELECT Name FROM Account WHERE Id IN ('{Acme}', '{Globex}')", &["Acme", "Globex"]),
        ("SELECT Name FROM Account WHERE Id != '{Acme}' AND Industry = 'Energy'", &["Stark 50%", "acme labs"]),
        ("SELECT LastName FROM Contact WHERE AccountId = '{Acme}'", &["Smith", "Jones"]),
        ("SELECT LastName FROM Contact WHERE AccountId = '{Acme15}'", &["Smith", "Jones"]),
        ("SELECT LastName FROM Contact WHERE AccountId IN ('{Acme}', '{Hooli}')", &["Smith", "Jones", "Lee"]),
        ("SELECT Name FROM Account WHERE ParentId = '{Acme}'", &["Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE OwnerId = '{User}' AND Name = 'Hooli'", &["Hooli"]),
        // Semi-joins and anti-joins.
        ("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", &["Acme", "Globex", "Hooli"]),
        ("SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact) AND Industry = 'Energy'", &["Stark 50%", "acme labs"]),
        ("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE IsWon = true)", &["Acme"]),
        ("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE Amount > 250) AND Id IN (SELECT AccountId FROM Contact)", &["Acme", "Globex"]),
        ("SELECT LastName FROM Contact WHERE Id IN (SELECT ContactId FROM Case)", &["Smith"]),
        ("SELECT Name FROM Account WHERE Id IN (SELECT ParentId FROM Account)", &["Acme", "Globex"]),
        ("SELECT Name FROM Account WHERE Id NOT IN (SELECT WhatId FROM Task) AND Id IN (SELECT AccountId FROM Case)", &["Globex"]),
        // Multi-select picklists.
        ("SELECT Name FROM Account WHERE Tags__c INCLUDES ('a')", &["Acme", "Hooli"]),
        ("SELECT Name FROM Account WHERE Tags__c INCLUDES ('a;b')", &["Acme"]),
        ("SELECT Name FROM Account WHERE Tags__c INCLUDES ('a;b', 'c')", &["Acme", "Initech", "Hooli"]),
        ("SELECT Name FROM Account WHERE Tags__c EXCLUDES ('a')", &["Globex", "Initech", "Umbrella", "Stark 50%", "Wayne_Ent", "acme labs"]),
        ("SELECT Name FROM Account WHERE Tags__c EXCLUDES ('b') AND Tags__c != null", &["Initech", "Hooli"]),
        // Dates and datetimes (today is 2024-05-15).
        ("SELECT Name FROM Opportunity WHERE CloseDate = TODAY", &["Big Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = 2024-05-15", &["Big Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate > TODAY", &["Mid Deal", "Future"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate < TODAY", &["Small Deal", "Lost Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate <= TODAY", &["Big Deal", "Small Deal", "Lost Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate >= TODAY", &["Big Deal", "Mid Deal", "Future"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate != TODAY", &["Small Deal", "Mid Deal", "Lost Deal", "Future"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = THIS_MONTH", &["Big Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = LAST_MONTH", &["Small Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = NEXT_MONTH", &["Mid Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = THIS_QUARTER", &["Big Deal", "Small Deal", "Mid Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = LAST_QUARTER", &[]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = THIS_YEAR", &["Big Deal", "Small Deal", "Mid Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = LAST_YEAR", &["Lost Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = NEXT_YEAR", &["Future"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = LAST_N_DAYS:40", &["Big Deal", "Small Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = NEXT_N_DAYS:40", &["Mid Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = N_DAYS_AGO:35", &["Small Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = LAST_N_MONTHS:6", &["Small Deal", "Lost Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = NEXT_N_QUARTERS:4", &["Future"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = LAST_90_DAYS", &["Big Deal", "Small Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate = THIS_FISCAL_YEAR", &["Big Deal", "Small Deal", "Mid Deal"]),
        ("SELECT Name FROM Opportunity WHERE CloseDate > 2024-01-01 AND CloseDate < 2024-12-31", &["Big Deal", "Small Deal", "Mid Deal"]),
        ("SELECT Name FROM Account WHERE CreatedDate = TODAY AND Name = 'Acme'", &["Acme"]),
        ("SELECT Name FROM Account WHERE CreatedDate = YESTERDAY", &[]),
        ("SELECT Name FROM Account WHERE CreatedDate > 2024-05-15T10:00:00Z AND Name = 'Acme'", &["Acme"]),
        ("SELECT Name FROM Account WHERE CreatedDate < 2024-05-15T10:00:00Z", &[]),
        ("SELECT Name FROM Account WHERE CreatedDate = 2024-05-15T10:30:00.000+00:00 AND Name = 'Acme'", &["Acme"]),
        ("SELECT Name FROM Account WHERE CreatedDate >= 2024-05-15T12:00:00+02:00 AND Name = 'Acme'", &["Acme"]),
        ("SELECT Name FROM Account WHERE LastModifiedDate = LAST_N_DAYS:1 AND Name = 'Acme'", &["Acme"]),
        ("SELECT LastName FROM Contact WHERE Birthdate = 1980-05-15", &["Smith"]),
        ("SELECT Subject FROM Task WHERE ActivityDate = TOMORROW", &["Call"]),
        ("SELECT Subject FROM Task WHERE ActivityDate = THIS_WEEK", &["Call"]),
        // Date functions.
        ("SELECT Name FROM Opportunity WHERE CALENDAR_YEAR(CloseDate) = 2024", &["Big Deal", "Small Deal", "Mid Deal"]),
        ("SELECT Name FROM Opportunity WHERE CALENDAR_MONTH(CloseDate) = 6", &["Mid Deal"]),
        ("SELECT Name FROM Opportunity WHERE CALENDAR_QUARTER(CloseDate) = 4", &["Lost Deal"]),
        ("SELECT Name FROM Opportunity WHERE DAY_IN_MONTH(CloseDate) = 10", &["Small Deal"]),
        ("SELECT Name FROM Opportunity WHERE DAY_IN_WEEK(CloseDate) = 4", &["Big Deal", "Small Deal"]),
        ("SELECT Name FROM Opportunity WHERE FISCAL_YEAR(CloseDate) = 2025", &["Future"]),
        ("SELECT Name FROM Account WHERE DAY_ONLY(CreatedDate) = 2024-05-15 AND Name = 'Acme'", &["Acme"]),
        ("SELECT Name FROM Account WHERE DAY_ONLY(CreatedDate) = TODAY AND Name = 'Globex'", &["Globex"]),
        ("SELECT Name FROM Account WHERE HOUR_IN_DAY(CreatedDate) = 10 AND Name = 'Hooli'", &["Hooli"]),
        // ORDER BY, NULLS, LIMIT, OFFSET.
        ("SELECT Name FROM Account ORDER BY Name", &["Acme", "acme labs", "Globex", "Hooli", "Initech", "Stark 50%", "Umbrella", "Wayne_Ent"]),
        ("SELECT Name FROM Account ORDER BY Name DESC", &["Wayne_Ent", "Umbrella", "Stark 50%", "Initech", "Hooli", "Globex", "acme labs", "Acme"]),
        ("SELECT Name FROM Account ORDER BY NumberOfEmployees", &["Stark 50%", "acme labs", "Initech", "Acme", "Wayne_Ent", "Globex", "Umbrella", "Hooli"]),
        ("SELECT Name FROM Account ORDER BY NumberOfEmployees NULLS LAST", &["acme labs", "Initech", "Acme", "Wayne_Ent", "Globex", "Umbrella", "Hooli", "Stark 50%"]),
        ("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC", &["Stark 50%", "Hooli", "Umbrella", "Globex", "Wayne_Ent", "Acme", "Initech", "acme labs"]),
        ("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC NULLS LAST", &["Hooli", "Umbrella", "Globex", "Wayne_Ent", "Acme", "Initech", "acme labs", "Stark 50%"]),
        ("SELECT Name FROM Account ORDER BY Industry, Name DESC", &["Stark 50%", "acme labs", "Acme", "Wayne_Ent", "Umbrella", "Initech", "Hooli", "Globex"]),
        ("SELECT Name FROM Account ORDER BY Rating ASC NULLS FIRST, Name", &["Initech", "Wayne_Ent", "Umbrella", "Acme", "acme labs", "Hooli", "Globex", "Stark 50%"]),
        ("SELECT Name FROM Account ORDER BY Parent.Name, Name", &["Acme", "Globex", "Initech", "Umbrella", "Wayne_Ent", "acme labs", "Stark 50%", "Hooli"]),
        ("SELECT Name FROM Account ORDER BY Name LIMIT 3", &["Acme", "acme labs", "Globex"]),
        ("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 2", &["Globex", "Hooli"]),
        ("SELECT Name FROM Account ORDER BY Name OFFSET 6", &["Umbrella", "Wayne_Ent"]),
        ("SELECT Name FROM Account ORDER BY Name LIMIT 0", &[]),
        ("SELECT Name FROM Account ORDER BY Name OFFSET 100", &[]),
        ("SELECT Name FROM Account WHERE Industry = 'Technology' ORDER BY AnnualRevenue DESC LIMIT 1", &["Initech"]),
        ("SELECT Name FROM Account WHERE Industry = 'Technology' ORDER BY AnnualRevenue DESC NULLS LAST LIMIT 1", &["Hooli"]),
        ("SELECT LastName FROM Contact ORDER BY Account.Name DESC NULLS LAST, LastName", &["Lee", "Brown", "Jones", "Smith", "Taylor"]),
        ("SELECT Name FROM Opportunity ORDER BY CloseDate DESC", &["Future", "Mid Deal", "Big Deal", "Small Deal", "Lost Deal"]),
        ("SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS LAST LIMIT 2", &["Mid Deal", "Big Deal"]),
        // Records of other objects.
        ("SELECT Subject FROM Case WHERE IsClosed = true", &["Cannot log in"]),
        ("SELECT Subject FROM Case WHERE Priority = 'High'", &["Printer jam"]),
        ("SELECT Subject FROM Task WHERE IsClosed = true", &["Email"]),
        ("SELECT Username FROM User", &["admin@example.com"]),
        ("SELECT Name FROM User WHERE Name = 'Ada Admin'", &["Ada Admin"]),
        ("SELECT Name FROM Lead", &[]),
    ];
    let acme = org
        .query(
            "SELECT Id FROM Account WHERE Name = 'Acme'",
            "59.0",
            false,
            &|_| true,
        )
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let globex = org
        .query(
            "SELECT Id FROM Account WHERE Name = 'Globex'",
            "59.0",
            false,
            &|_| true,
        )
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hooli = org
        .query(
            "SELECT Id FROM Account WHERE Name = 'Hooli'",
            "59.0",
            false,
            &|_| true,
        )
        .unwrap()
        .records[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = org.user_by_username("admin@example.com").unwrap().id.to18();
    let mut checked = 0;
    for (q, want) in table {
        let q = q
            .replace("{Acme15}", &acme[..15])
            .replace("{Acme}", &acme)
            .replace("{Globex}", &globex)
            .replace("{Hooli}", &hooli)
            .replace("{User}", &user);
        assert_eq!(firsts(&org, &q), *want, "{q}");
        checked += 1;
    }
    assert!(checked >= 150, "the table has {checked} queries");
}

#[test]
fn result_shapes() {
    let org = fixture();
    let r = rows(
        &org,
        "SELECT LastName, Account.Name, Account.Parent.Name, Account.Industry FROM Contact WHERE LastName IN ('Lee', 'Taylor') ORDER BY LastName",
        false,
    );
    assert_eq!(r[0]["Account"]["Name"], "Hooli");
    assert_eq!(r[0]["Account"]["Industry"], "Technology");
    assert_eq!(r[0]["Account"]["Parent"]["Name"], "Globex");
    assert_eq!(r[0]["Account"]["attributes"]["type"], "Account");
    assert!(
        r[0]["Account"]["Parent"]["attributes"]["url"]
            .as_str()
            .unwrap()
            .starts_with("/services/data/v59.0/sobjects/Account/001")
    );
    assert_eq!(r[1]["Account"], Value::Null, "an empty lookup is null");
    let keys: Vec<&str> = r[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["attributes", "LastName", "Account"],
        "selected fields only, in select order"
    );
    let r = rows(
        &org,
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName DESC), (SELECT Name FROM Opportunities WHERE IsClosed = false) FROM Account WHERE Name IN ('Acme', 'Initech') ORDER BY Name",
        false,
    );
    assert_eq!(r[0]["Contacts"]["totalSize"], 2);
    assert_eq!(r[0]["Contacts"]["done"], true);
    assert_eq!(r[0]["Contacts"]["records"][0]["LastName"], "Smith");
    assert_eq!(r[0]["Opportunities"]["records"][0]["Name"], "Big Deal");
    assert_eq!(r[1]["Contacts"], Value::Null, "no children is null");
    assert_eq!(r[1]["Opportunities"], Value::Null);
    let agg = rows(
        &org,
        "SELECT Industry, COUNT(Id), SUM(NumberOfEmployees) total, MAX(AnnualRevenue), MIN(Name), AVG(NumberOfEmployees), COUNT_DISTINCT(BillingCity) FROM Account GROUP BY Industry HAVING COUNT(Id) > 1 ORDER BY COUNT(Id) DESC, Industry",
        false,
    );
    assert_eq!(agg.len(), 2);
    assert_eq!(
        agg[0],
        json!({"attributes": {"type": "AggregateResult"}, "Industry": "Energy", "expr0": 3, "total": 110.0, "expr1": 1e6, "expr2": "Acme", "expr3": 55.0, "expr4": 1})
    );
    assert_eq!(agg[1]["Industry"], "Technology");
    let out = org
        .query(
            "SELECT COUNT() FROM Account WHERE Industry = 'Technology'",
            "59.0",
            false,
            &|_| true,
        )
        .unwrap();
    assert_eq!((out.total_size, out.records.len()), (3, 0));
    let one = rows(&org, "SELECT COUNT(Id) n FROM Account", false);
    assert_eq!(
        one,
        vec![json!({"attributes": {"type": "AggregateResult"}, "n": 8})]
    );
    let deleted = rows(
        &org,
        "SELECT Name, IsDeleted FROM Account WHERE Name = 'Gone'",
        true,
    );
    assert_eq!(
        deleted,
        vec![json!({"attributes": deleted[0]["attributes"], "Name": "Gone", "IsDeleted": true})]
    );
    assert!(rows(&org, "SELECT Name FROM Account WHERE Name = 'Gone'", false).is_empty());
    assert_eq!(
        rows(
            &org,
            "SELECT LastName FROM Contact WHERE Account.Name = 'Gone'",
            true
        )
        .len(),
        1,
        "queryAll follows deleted parents"
    );
    let addr = rows(
        &org,
        "SELECT BillingAddress FROM Account WHERE Name = 'Acme'",
        false,
    );
    assert_eq!(addr[0]["BillingAddress"]["city"], "Paris");
}

#[test]
fn errors_by_kind() {
    let org = fixture();
    let err = |q: &str| org.query(q, "59.0", false, &|_| true).expect_err(q);
    let cases: &[(&str, &str, &str)] = &[
        (
            "SELECT Id FROM Account WHERE",
            "MALFORMED_QUERY",
            "unexpected token: <EOF>",
        ),
        (
            "SELECT Id Account",
            "MALFORMED_QUERY",
            "unexpected token: 'Account'",
        ),
        (
            "SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3",
            "MALFORMED_QUERY",
            "unexpected token: 'OR'",
        ),
        (
            "SELECT Id FROM Account LIMIT 'x'",
            "MALFORMED_QUERY",
            "unexpected token",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'unterminated",
            "MALFORMED_QUERY",
            "unterminated",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'bad \\q'",
            "MALFORMED_QUERY",
            "Illegal character sequence",
        ),
        (
            "SELECT Bogus FROM Account",
            "INVALID_FIELD",
            "No such column 'Bogus' on entity 'Account'",
        ),
        (
            "SELECT Id FROM Account WHERE Bogus__c = 1",
            "INVALID_FIELD",
            "No such column 'Bogus__c'",
        ),
        (
            "SELECT Nope.Name FROM Contact",
            "INVALID_FIELD",
            "Didn't understand relationship 'Nope'",
        ),
        (
            "SELECT Account.Bogus FROM Contact",
            "INVALID_FIELD",
            "No such column 'Bogus' on entity 'Account'",
        ),
        (
            "SELECT Id, (SELECT Id FROM Nothings) FROM Account",
            "INVALID_FIELD",
            "Didn't understand relationship 'Nothings'",
        ),
        (
            "SELECT Id FROM Account WHERE Description = 'x'",
            "INVALID_FIELD",
            "can not be filtered",
        ),
        (
            "SELECT Id FROM Account ORDER BY Description",
            "INVALID_FIELD",
            "can not be sorted",
        ),
        (
            "SELECT Id FROM Nothing",
            "INVALID_TYPE",
            "sObject type 'Nothing' is not supported",
        ),
        (
            "SELECT Id FROM Account WHERE Id IN (SELECT Id FROM Nothing)",
            "INVALID_TYPE",
            "Nothing",
        ),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees = 'ten'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type integer",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type string",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate = 2024-01-01T00:00:00Z",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type date",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate = 2024-01-01",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type dateTime",
        ),
        (
            "SELECT Id FROM Opportunity WHERE IsWon = 'true'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "must be of type boolean",
        ),
        (
            "SELECT Id FROM Opportunity WHERE IsWon > true",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid operator on boolean",
        ),
        (
            "SELECT Id FROM Account WHERE Id = 'nope'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: nope",
        ),
        (
            "SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "LIKE",
        ),
        (
            "SELECT Id FROM Account WHERE Name INCLUDES ('a')",
            "INVALID_QUERY_FILTER_OPERATOR",
            "INCLUDES",
        ),
        (
            "SELECT Id FROM Account WHERE Name < null",
            "INVALID_QUERY_FILTER_OPERATOR",
            "null",
        ),
        (
            "SELECT Id FROM Account OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
        (
            "SELECT Name, COUNT(Id) FROM Account GROUP BY Industry",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Name",
        ),
        (
            "SELECT COUNT(), Name FROM Account",
            "MALFORMED_QUERY",
            "COUNT() must be the only element",
        ),
        (
            "SELECT SUM(Name) FROM Account",
            "MALFORMED_QUERY",
            "does not support aggregate operator SUM",
        ),
        (
            "SELECT COUNT(Id) FROM Account LIMIT 1",
            "MALFORMED_QUERY",
            "LIMIT",
        ),
        (
            "SELECT Id FROM Account HAVING COUNT(Id) > 1",
            "MALFORMED_QUERY",
            "unexpected token: 'HAVING'",
        ),
        (
            "SELECT Id FROM Account WHERE Id IN (SELECT Name FROM Account)",
            "MALFORMED_QUERY",
            "semi-join",
        ),
        (
            "SELECT Id FROM Account WHERE Name IN (SELECT AccountId FROM Contact)",
            "MALFORMED_QUERY",
            "semi-joins",
        ),
        (
            "SELECT Id FROM Account WHERE CALENDAR_YEAR(Name) = 2024",
            "MALFORMED_QUERY",
            "CALENDAR_YEAR",
        ),
        (
            "SELECT Id FROM Account GROUP BY CALENDAR_YEAR(CreatedDate)",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: Id",
        ),
        (
            "SELECT CALENDAR_YEAR(CloseDate) FROM Opportunity GROUP BY CALENDAR_MONTH(CloseDate)",
            "MALFORMED_QUERY",
            "Field must be grouped or aggregated: CloseDate",
        ),
        (
            "SELECT COUNT(Id) FROM Account GROUP BY CALENDAR_YEAR(Name)",
            "MALFORMED_QUERY",
            "CALENDAR_YEAR can only be applied to date and datetime fields",
        ),
        (
            "SELECT convertTimezone(CreatedDate) FROM Account",
            "MALFORMED_QUERY",
            "unsupported function: convertTimezone",
        ),
        (
            "SELECT Id FROM Account WHERE Name = :name",
            "MALFORMED_QUERY",
            "bind variables",
        ),
        (
            "SELECT Id FROM Account ALL ROWS",
            "MALFORMED_QUERY",
            "ALL ROWS",
        ),
        (
            "SELECT Id FROM Account WITH SECURITY_ENFORCED",
            "MALFORMED_QUERY",
            "WITH",
        ),
        (
            "SELECT A.B.C.D.E.F.Name FROM Contact",
            "MALFORMED_QUERY",
            "more than 5 levels",
        ),
    ];
    for (q, code, text) in cases {
        let e = err(q);
        assert_eq!(e.kind.code(), *code, "{q}: {}", e.render(q));
        assert!(e.render(q).contains(text), "{q}: {}", e.render(q));
        assert!(
            e.render(q).contains("ERROR at Row:1:Column:"),
            "{q}: {}",
            e.render(q)
        );
    }
}

/// Date functions in GROUP BY and in the SELECT list, with `convertTimezone()` inside
/// them (a Django ORM backend's `FISCAL_YEAR(convertTimezone(CreatedDate))`): one row per
/// value, named by alias or `exprN`, sorted by the function.
#[test]
fn grouping_by_date_functions() {
    let org = fixture();
    let r = rows(
        &org,
        "SELECT CALENDAR_YEAR(CloseDate) y, CALENDAR_MONTH(CloseDate), SUM(Amount) total, COUNT(Id) FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate), CALENDAR_MONTH(CloseDate) ORDER BY CALENDAR_YEAR(CloseDate), CALENDAR_MONTH(CloseDate)",
        false,
    );
    let got: Vec<(i64, i64, Value, i64)> = r
        .iter()
        .map(|row| {
            assert_eq!(row["attributes"]["type"], "AggregateResult");
            (
                row["y"].as_i64().unwrap(),
                row["expr0"].as_i64().unwrap(),
                row["total"].clone(),
                row["expr1"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (2023, 12, json!(300.0), 1),
            (2024, 4, json!(200.0), 1),
            (2024, 5, json!(1000.0), 1),
            (2024, 6, json!(5000.0), 1),
            (2025, 2, Value::Null, 1),
        ]
    );
    let r = rows(
        &org,
        "SELECT FISCAL_YEAR(convertTimezone(CreatedDate)) y, COUNT(Id) n FROM Opportunity GROUP BY FISCAL_YEAR(convertTimezone(CreatedDate))",
        false,
    );
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0]["y"].as_i64(), r[0]["n"].as_i64()),
        (Some(2024), Some(5))
    );
    let r = rows(
        &org,
        "SELECT DAY_ONLY(convertTimezone(CreatedDate)) d FROM Opportunity GROUP BY DAY_ONLY(convertTimezone(CreatedDate)) HAVING COUNT(Id) > 1",
        false,
    );
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["d"], "2024-05-15");
}

//! Details of a real org that a Django ORM backend's own suite leans on: `''` and null as
//! one value in SOQL, a polymorphic parent filtered by type, attachments on custom
//! objects, a delete of a record already in the Recycle Bin, the default business hours,
//! one Apex email notification per user, and grouping by a date function.

use serde_json::json;

use crate::{Authed, code, create, get, j, records, server, soql};

#[test]
fn empty_text_and_null_are_one_value_in_soql() {
    let s = server();
    let with = create(
        &s,
        "Contact",
        json!({"LastName": "With", "Email": "a@b.test"}),
    );
    let without = create(&s, "Contact", json!({"LastName": "Without"}));
    let ids = |q: &str| -> Vec<String> {
        records(&s, q)
            .iter()
            .map(|r| r["Id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids("SELECT Id FROM Contact WHERE Email != ''"),
        std::slice::from_ref(&with)
    );
    assert_eq!(
        ids("SELECT Id FROM Contact WHERE Email = ''"),
        std::slice::from_ref(&without)
    );
    assert_eq!(
        ids("SELECT Id FROM Contact WHERE Email = null"),
        std::slice::from_ref(&without)
    );
    assert_eq!(
        ids("SELECT Id FROM Contact WHERE Email IN ('', 'x@y.test')"),
        std::slice::from_ref(&without)
    );
    // An empty id is null too: `Id > ''` is every record, `Id = ''` none.
    let mut all = ids("SELECT Id FROM Contact WHERE Id > '' ORDER BY Id");
    all.sort();
    let mut both = vec![with, without];
    both.sort();
    assert_eq!(all, both);
    assert!(ids("SELECT Id FROM Contact WHERE Id = ''").is_empty());
    let books = records(&s, "SELECT Id FROM Pricebook2 WHERE Id > ''");
    assert_eq!(books.len(), 1, "{books:?}");
    assert_eq!(ids("SELECT Id FROM Contact WHERE AccountId = ''").len(), 2);
}

#[test]
fn a_polymorphic_parent_is_filtered_and_read_by_its_type() {
    let s = server();
    let contact = create(&s, "Contact", json!({"LastName": "Noted"}));
    let account = create(&s, "Account", json!({"Name": "Noted Inc"}));
    create(
        &s,
        "Note",
        json!({"ParentId": contact, "Title": "on the contact"}),
    );
    create(
        &s,
        "Note",
        json!({"ParentId": account, "Title": "on the account"}),
    );
    let on = |t: &str| -> Vec<String> {
        records(
            &s,
            &format!("SELECT Title, Parent.Type FROM Note WHERE Parent.Type = '{t}'"),
        )
        .iter()
        .map(|r| {
            assert_eq!(r["Parent"]["Type"], t, "{r}");
            r["Title"].as_str().unwrap().to_owned()
        })
        .collect()
    };
    assert_eq!(on("Contact"), ["on the contact"]);
    assert_eq!(on("Account"), ["on the account"]);
    assert!(on("Lead").is_empty());
}

#[test]
fn an_attachment_or_a_note_may_belong_to_a_custom_object() {
    let s = server();
    let account = create(&s, "Account", json!({"Name": "Billed"}));
    let invoice = create(
        &s,
        "Invoice__c",
        json!({"Name": "INV-1", "Account__c": account}),
    );
    create(
        &s,
        "Attachment",
        json!({"ParentId": invoice, "Name": "scan.txt", "Body": "aGVsbG8="}),
    );
    create(&s, "Note", json!({"ParentId": invoice, "Title": "paid"}));
    let rows = records(
        &s,
        &format!("SELECT Name, Parent.Type FROM Attachment WHERE ParentId = '{invoice}'"),
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["Parent"]["Type"], "Invoice__c");
    // A reference that lists its objects still refuses another's record.
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/Contact", s.data()))
        .bearer(&s)
        .json(&json!({"LastName": "X", "AccountId": invoice}))
        .send()
        .unwrap());
    assert_eq!(st, 400, "{body}");
    assert_eq!(code(&body), "FIELD_INTEGRITY_EXCEPTION", "{body}");
}

#[test]
fn deleting_a_record_in_the_recycle_bin_is_entity_is_deleted() {
    let s = server();
    let id = create(&s, "Account", json!({"Name": "Twice"}));
    let delete = || {
        j(s.http()
            .delete(format!("{}/sobjects/Account/{id}", s.data()))
            .bearer(&s)
            .send()
            .unwrap())
    };
    assert_eq!(delete().0, 204);
    let (st, body) = delete();
    assert_eq!(st, 404, "{body}");
    assert_eq!(code(&body), "ENTITY_IS_DELETED", "{body}");
    assert_eq!(body[0]["message"], "entity is deleted", "{body}");
    // An id of the object that the org never held (or purged): the same to a delete,
    // which a Django ORM backend takes as done; an update of it is NOT_FOUND.
    let fake = "001000000000000AAA";
    let (st, body) = j(s
        .http()
        .delete(format!("{}/sobjects/Account/{fake}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (404, "ENTITY_IS_DELETED"), "{body}");
    let (st, body) = j(s
        .http()
        .patch(format!("{}/sobjects/Account/{fake}", s.data()))
        .bearer(&s)
        .json(&json!({"Name": "X"}))
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"), "{body}");
    // Another object's id under Account's path is not found.
    let contact = create(&s, "Contact", json!({"LastName": "Elsewhere"}));
    let (st, body) = j(s
        .http()
        .delete(format!("{}/sobjects/Account/{contact}", s.data()))
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!((st, code(&body)), (404, "NOT_FOUND"), "{body}");
}

#[test]
fn every_org_has_its_default_business_hours() {
    let s = server();
    let rows = records(
        &s,
        "SELECT Name, IsActive, IsDefault, TimeZoneSidKey, MondayStartTime, MondayEndTime, \
         SundayStartTime, SaturdayEndTime FROM BusinessHours",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    let h = &rows[0];
    assert_eq!(
        (&h["Name"], &h["IsActive"], &h["IsDefault"]),
        (&json!("Default"), &json!(true), &json!(true)),
        "{h}"
    );
    assert_eq!(h["TimeZoneSidKey"], "America/Los_Angeles");
    for day in [
        "MondayStartTime",
        "MondayEndTime",
        "SundayStartTime",
        "SaturdayEndTime",
    ] {
        assert_eq!(h[day], "00:00:00.000Z", "{day}: {h}");
    }
    let (st, one) = get(
        &s,
        "/query?q=SELECT+Id+FROM+BusinessHours+WHERE+IsDefault+%3D+true",
    );
    assert_eq!((st, one["totalSize"].as_u64()), (200, Some(1)), "{one}");
}

#[test]
fn one_apex_email_notification_per_user() {
    let s = server();
    let user = s.ready.user_id.clone();
    create(&s, "ApexEmailNotification", json!({"UserId": user}));
    let (st, body) = j(s
        .http()
        .post(format!("{}/sobjects/ApexEmailNotification", s.data()))
        .bearer(&s)
        .json(&json!({"UserId": user}))
        .send()
        .unwrap());
    assert_eq!(st, 400, "{body}");
    assert_eq!(code(&body), "DUPLICATE_VALUE", "{body}");
    create(
        &s,
        "ApexEmailNotification",
        json!({"Email": "ops@acme.test"}),
    );
    let (_, body) = soql(&s, "SELECT COUNT() FROM ApexEmailNotification");
    assert_eq!(body["totalSize"], 2, "{body}");
}

#[test]
fn an_aggregate_grouped_by_a_date_function_in_the_users_time_zone() {
    let s = server();
    create(&s, "Campaign", json!({"Name": "Spring", "NumberSent": 100}));
    create(&s, "Campaign", json!({"Name": "Autumn", "NumberSent": 50}));
    let rows = records(
        &s,
        "SELECT FISCAL_YEAR(convertTimezone(CreatedDate)) y, SUM(NumberSent) t FROM Campaign \
         GROUP BY FISCAL_YEAR(convertTimezone(CreatedDate))",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(
        rows[0]["y"],
        json!(year.parse::<i64>().unwrap()),
        "{rows:?}"
    );
    assert_eq!(rows[0]["t"], json!(150.0), "{rows:?}");
    assert_eq!(rows[0]["attributes"]["type"], "AggregateResult");
}

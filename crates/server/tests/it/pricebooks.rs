//! Price books and opportunity products as Salesforce keeps them: the Standard Price
//! Book, a standard price before a custom one, line items from the opportunity's book,
//! and the opportunity's Amount following its products.

use serde_json::{Value, json};

use crate::{Authed, code, create, get, post_record as post, records, server};

fn send(
    s: &forcebus_testkit::Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> u16 {
    let mut r = s
        .http()
        .request(method, format!("{}{path}", s.data()))
        .bearer(s);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().unwrap().status().as_u16()
}

#[test]
fn price_books_entries_and_opportunity_products_follow_salesforces_rules() {
    let s = server();
    let books = records(
        &s,
        "SELECT Id, Name, IsActive FROM Pricebook2 WHERE IsStandard = true",
    );
    assert_eq!(books.len(), 1, "one Standard Price Book: {books:?}");
    assert_eq!(
        (&books[0]["Name"], &books[0]["IsActive"]),
        (&json!("Standard Price Book"), &json!(true))
    );
    let standard = books[0]["Id"].as_str().unwrap().to_owned();

    let product = create(
        &s,
        "Product2",
        json!({"Name": "Widget", "ProductCode": "W-1"}),
    );
    let custom = create(
        &s,
        "Pricebook2",
        json!({"Name": "Partners", "IsActive": true}),
    );
    let entry = |book: &str, price: f64| json!({"Pricebook2Id": book, "Product2Id": product, "UnitPrice": price, "IsActive": true});
    let (st, body) = post(&s, "PricebookEntry", entry(&custom, 80.0));
    assert_eq!(
        (st, code(&body)),
        (400, "STANDARD_PRICE_NOT_DEFINED"),
        "{body}"
    );
    let standard_entry = create(&s, "PricebookEntry", entry(&standard, 100.0));
    let (st, body) = post(&s, "PricebookEntry", entry(&standard, 90.0));
    assert_eq!((st, code(&body)), (400, "DUPLICATE_VALUE"), "{body}");
    let custom_entry = create(&s, "PricebookEntry", entry(&custom, 80.0));
    let (_, e) = get(&s, &format!("/sobjects/PricebookEntry/{custom_entry}"));
    assert_eq!(
        (&e["Name"], &e["ProductCode"]),
        (&json!("Widget"), &json!("W-1"))
    );

    let opp = create(
        &s,
        "Opportunity",
        json!({"Name": "Big Deal", "StageName": "Prospecting", "CloseDate": "2026-12-01"}),
    );
    let (st, body) = post(
        &s,
        "OpportunityLineItem",
        json!({"OpportunityId": opp, "Quantity": 1, "UnitPrice": 1}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "{body}"
    );
    let first = create(
        &s,
        "OpportunityLineItem",
        json!({"OpportunityId": opp, "PricebookEntryId": custom_entry, "Quantity": 2, "UnitPrice": 80}),
    );
    let (_, o) = get(&s, &format!("/sobjects/Opportunity/{opp}"));
    assert_eq!(
        (
            &o["Amount"],
            &o["HasOpportunityLineItem"],
            &o["Pricebook2Id"],
            &o["TotalOpportunityQuantity"]
        ),
        (&json!(160.0), &json!(true), &json!(custom), &json!(2.0)),
        "{o}"
    );
    let (_, line) = get(&s, &format!("/sobjects/OpportunityLineItem/{first}"));
    assert_eq!(
        (
            &line["Product2Id"],
            &line["ListPrice"],
            &line["TotalPrice"],
            &line["Name"]
        ),
        (
            &json!(product),
            &json!(80.0),
            &json!(160.0),
            &json!("Big Deal Widget")
        ),
        "{line}"
    );
    let (st, body) = post(
        &s,
        "OpportunityLineItem",
        json!({"OpportunityId": opp, "PricebookEntryId": standard_entry, "Quantity": 1, "UnitPrice": 100}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "another book: {body}"
    );
    let second = create(
        &s,
        "OpportunityLineItem",
        json!({"OpportunityId": opp, "PricebookEntryId": custom_entry, "Quantity": 1, "TotalPrice": 50}),
    );
    let (_, line) = get(&s, &format!("/sobjects/OpportunityLineItem/{second}"));
    assert_eq!(line["UnitPrice"], json!(50.0));
    let amount = |s: &forcebus_testkit::Server| get(s, &format!("/sobjects/Opportunity/{opp}")).1;
    assert_eq!(amount(&s)["Amount"], json!(210.0));
    // While it has products, an opportunity's Amount is theirs: a client's is ignored.
    assert_eq!(
        send(
            &s,
            reqwest::Method::PATCH,
            &format!("/sobjects/Opportunity/{opp}"),
            Some(json!({"Amount": 5}))
        ),
        204
    );
    assert_eq!(amount(&s)["Amount"], json!(210.0));
    assert_eq!(
        send(
            &s,
            reqwest::Method::DELETE,
            &format!("/sobjects/OpportunityLineItem/{first}"),
            None
        ),
        204
    );
    assert_eq!(amount(&s)["Amount"], json!(50.0));
    assert_eq!(
        send(
            &s,
            reqwest::Method::DELETE,
            &format!("/sobjects/OpportunityLineItem/{second}"),
            None
        ),
        204
    );
    assert_eq!(amount(&s)["HasOpportunityLineItem"], json!(false));
}

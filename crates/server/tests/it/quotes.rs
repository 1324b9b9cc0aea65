//! Quotes and their line items as Salesforce keeps them: a quote of an opportunity takes
//! its account and price book, a line is priced from an active entry of the quote's book
//! (the rules of opportunity products), the quote's totals follow its lines, and each
//! change publishes its change events.

use serde_json::{Value, json};

use crate::events::all_events;
use crate::relations::last_replay;
use crate::{Authed, code, create, get, post_record as post, records, server};

fn send(s: &forcebus_testkit::Server, method: reqwest::Method, path: &str, body: Value) -> u16 {
    let mut r = s
        .http()
        .request(method, format!("{}{path}", s.data()))
        .bearer(s);
    if !body.is_null() {
        r = r.json(&body);
    }
    r.send().unwrap().status().as_u16()
}

/// A quote's totals: (Subtotal, TotalPrice, Discount, LineItemCount, GrandTotal).
fn totals(s: &forcebus_testkit::Server, quote: &str) -> (Value, Value, Value, Value, Value) {
    let (_, q) = get(s, &format!("/sobjects/Quote/{quote}"));
    (
        q["Subtotal"].clone(),
        q["TotalPrice"].clone(),
        q["Discount"].clone(),
        q["LineItemCount"].clone(),
        q["GrandTotal"].clone(),
    )
}

/// Price books with a widget at 100 (standard) and 80 (Partners), and a gadget whose
/// Partners entry is inactive: (standard book, Partners, widget, standard widget entry,
/// Partners widget entry, Partners gadget entry).
fn books(s: &forcebus_testkit::Server) -> [String; 6] {
    let standard = records(s, "SELECT Id FROM Pricebook2 WHERE IsStandard = true")[0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let partners = create(
        s,
        "Pricebook2",
        json!({"Name": "Partners", "IsActive": true}),
    );
    let widget = create(s, "Product2", json!({"Name": "Widget", "IsActive": true}));
    let gadget = create(s, "Product2", json!({"Name": "Gadget", "IsActive": true}));
    let entry = |book: &str, product: &str, price: f64, active: bool| {
        create(
            s,
            "PricebookEntry",
            json!({"Pricebook2Id": book, "Product2Id": product, "UnitPrice": price, "IsActive": active}),
        )
    };
    let standard_widget = entry(&standard, &widget, 100.0, true);
    entry(&standard, &gadget, 10.0, true);
    let partners_widget = entry(&partners, &widget, 80.0, true);
    let partners_gadget = entry(&partners, &gadget, 8.0, false);
    [
        standard,
        partners,
        widget,
        standard_widget,
        partners_widget,
        partners_gadget,
    ]
}

#[test]
fn a_quote_takes_its_opportunitys_book_prices_its_lines_and_totals_them() {
    let s = server();
    let [
        standard,
        partners,
        widget,
        standard_widget,
        partners_widget,
        partners_gadget,
    ] = books(&s);
    let account = create(&s, "Account", json!({"Name": "Buyer Co"}));
    let opp = create(
        &s,
        "Opportunity",
        json!({"Name": "Big Deal", "StageName": "Prospecting", "CloseDate": "2026-12-01", "AccountId": account, "Pricebook2Id": partners}),
    );
    let (st, body) = post(&s, "Quote", json!({"Name": "No opportunity"}));
    assert_eq!(
        (st, code(&body), &body[0]["fields"]),
        (400, "REQUIRED_FIELD_MISSING", &json!(["OpportunityId"])),
        "{body}"
    );
    let mark = last_replay(&s);
    let quote = create(
        &s,
        "Quote",
        json!({"Name": "First offer", "OpportunityId": opp}),
    );
    let (_, q) = get(&s, &format!("/sobjects/Quote/{quote}"));
    assert_eq!(
        (
            &q["Status"],
            &q["Pricebook2Id"],
            &q["AccountId"],
            &q["IsSyncing"]
        ),
        (
            &json!("Draft"),
            &json!(partners),
            &json!(account),
            &json!(false)
        ),
        "{q}"
    );
    assert!(
        q["QuoteNumber"].as_str().is_some_and(|n| !n.is_empty()),
        "{q}"
    );
    assert_eq!(
        totals(&s, &quote),
        (json!(0.0), json!(0.0), Value::Null, json!(0), json!(0.0))
    );

    // A line's entry: active, of the quote's book.
    for (entry, why) in [
        (&standard_widget, "another book"),
        (&partners_gadget, "inactive"),
    ] {
        let (st, body) = post(
            &s,
            "QuoteLineItem",
            json!({"QuoteId": quote, "PricebookEntryId": entry, "Quantity": 1}),
        );
        assert_eq!(
            (st, code(&body), &body[0]["fields"]),
            (
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                &json!(["PricebookEntryId"])
            ),
            "{why}: {body}"
        );
    }
    // The same rule holds for the opportunity's products.
    let (st, body) = post(
        &s,
        "OpportunityLineItem",
        json!({"OpportunityId": opp, "PricebookEntryId": partners_gadget, "Quantity": 1, "UnitPrice": 8}),
    );
    assert_eq!(
        (st, code(&body)),
        (400, "FIELD_INTEGRITY_EXCEPTION"),
        "{body}"
    );

    // Priced from the entry when no unit price is given; less a discount when one is.
    let listed = create(
        &s,
        "QuoteLineItem",
        json!({"QuoteId": quote, "PricebookEntryId": partners_widget, "Quantity": 2}),
    );
    let (_, line) = get(&s, &format!("/sobjects/QuoteLineItem/{listed}"));
    assert_eq!(
        (
            &line["Product2Id"],
            &line["UnitPrice"],
            &line["ListPrice"],
            &line["Subtotal"],
            &line["TotalPrice"]
        ),
        (
            &json!(widget),
            &json!(80.0),
            &json!(80.0),
            &json!(160.0),
            &json!(160.0)
        ),
        "{line}"
    );
    assert!(line["LineNumber"].as_str().is_some_and(|n| !n.is_empty()));
    let discounted = create(
        &s,
        "QuoteLineItem",
        json!({"QuoteId": quote, "PricebookEntryId": partners_widget, "Quantity": 1, "UnitPrice": 100, "Discount": 10}),
    );
    let (_, line) = get(&s, &format!("/sobjects/QuoteLineItem/{discounted}"));
    assert_eq!(
        (&line["Subtotal"], &line["TotalPrice"]),
        (&json!(100.0), &json!(90.0))
    );
    assert_eq!(
        totals(&s, &quote),
        (
            json!(260.0),
            json!(250.0),
            json!(3.85),
            json!(2),
            json!(250.0)
        )
    );
    // Tax and shipping go into the grand total; a line's change into every total.
    let at = |object: &str, id: &str| format!("/sobjects/{object}/{id}");
    assert_eq!(
        send(
            &s,
            reqwest::Method::PATCH,
            &at("Quote", &quote),
            json!({"Tax": 20, "ShippingHandling": 5})
        ),
        204
    );
    assert_eq!(totals(&s, &quote).4, json!(275.0));
    assert_eq!(
        send(
            &s,
            reqwest::Method::PATCH,
            &at("QuoteLineItem", &discounted),
            json!({"Discount": null})
        ),
        204
    );
    assert_eq!(
        totals(&s, &quote),
        (
            json!(260.0),
            json!(260.0),
            json!(0.0),
            json!(2),
            json!(285.0)
        )
    );
    assert_eq!(
        send(
            &s,
            reqwest::Method::PATCH,
            &at("Quote", &quote),
            json!({"Subtotal": 1})
        ),
        400,
        "a total is the org's"
    );

    // Parent and child relationships in SOQL.
    let rows = records(
        &s,
        &format!(
            "SELECT Name, (SELECT Product2.Name, TotalPrice FROM QuoteLineItems ORDER BY TotalPrice) FROM Quote WHERE Id = '{quote}'"
        ),
    );
    let lines: Vec<(&Value, &Value)> = rows[0]["QuoteLineItems"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (&l["Product2"]["Name"], &l["TotalPrice"]))
        .collect();
    assert_eq!(
        lines,
        vec![
            (&json!("Widget"), &json!(100.0)),
            (&json!("Widget"), &json!(160.0))
        ]
    );
    let rows = records(
        &s,
        &format!(
            "SELECT Name, (SELECT Name, Status FROM Quotes) FROM Opportunity WHERE Id = '{opp}'"
        ),
    );
    assert_eq!(
        rows[0]["Quotes"]["records"][0]["Name"],
        json!("First offer")
    );
    let rows = records(
        &s,
        &format!(
            "SELECT Quote.Name, Quote.Opportunity.Name, PricebookEntry.UnitPrice FROM QuoteLineItem WHERE Id = '{listed}'"
        ),
    );
    assert_eq!(
        (
            &rows[0]["Quote"]["Name"],
            &rows[0]["Quote"]["Opportunity"]["Name"],
            &rows[0]["PricebookEntry"]["UnitPrice"]
        ),
        (&json!("First offer"), &json!("Big Deal"), &json!(80.0))
    );

    // Their change events: the quote's CREATE, each line's CREATE and the quote's totals.
    let events = all_events(&s, mark);
    let of = |entity: &str, change: &str| {
        events
            .iter()
            .filter(|e| {
                let h = &e["event"]["ChangeEventHeader"];
                h["entityName"] == entity && h["changeType"] == change
            })
            .count()
    };
    assert_eq!(
        (of("Quote", "CREATE"), of("QuoteLineItem", "CREATE")),
        (1, 2)
    );
    let totalled = events.iter().any(|e| {
        let h = &e["event"]["ChangeEventHeader"];
        h["entityName"] == "Quote"
            && h["changeType"] == "UPDATE"
            && h["changedFields"]
                .as_array()
                .is_some_and(|f| f.contains(&json!("TotalPrice")))
    });
    assert!(totalled, "{events:?}");

    // A line's delete lowers the totals; the opportunity's delete takes quotes and lines.
    assert_eq!(
        send(
            &s,
            reqwest::Method::DELETE,
            &at("QuoteLineItem", &listed),
            Value::Null
        ),
        204
    );
    assert_eq!(
        totals(&s, &quote),
        (
            json!(100.0),
            json!(100.0),
            json!(0.0),
            json!(1),
            json!(125.0)
        )
    );

    // A quote of an opportunity without a book takes its first line's.
    let bare = create(
        &s,
        "Opportunity",
        json!({"Name": "Small Deal", "StageName": "Prospecting", "CloseDate": "2026-12-01"}),
    );
    let second = create(
        &s,
        "Quote",
        json!({"Name": "Second", "OpportunityId": bare}),
    );
    create(
        &s,
        "QuoteLineItem",
        json!({"QuoteId": second, "PricebookEntryId": standard_widget, "Quantity": 3}),
    );
    let (_, q) = get(&s, &format!("/sobjects/Quote/{second}"));
    assert_eq!(
        (&q["Pricebook2Id"], &q["TotalPrice"]),
        (&json!(standard), &json!(300.0))
    );

    assert_eq!(
        send(
            &s,
            reqwest::Method::DELETE,
            &at("Opportunity", &opp),
            Value::Null
        ),
        204
    );
    let left = records(
        &s,
        &format!("SELECT Id FROM QuoteLineItem WHERE QuoteId = '{quote}'"),
    );
    assert!(left.is_empty(), "{left:?}");
    let (st, _) = get(&s, &format!("/sobjects/Quote/{quote}"));
    assert_eq!(st, 404);
}

//! Functions beyond the corpus: contexts (validation-only functions), the write's history,
//! picklists, HYPERLINK/IMAGE's HTML, CASESAFEID, VLOOKUP's hook, and JSON both ways.

mod support;

use chrono::{NaiveDate, TimeZone, Utc};
use forcebus_formula::{
    Blanks, Context, Formula, Options, Type, Value, eighteen_char_id, from_json, to_json,
};
use rust_decimal::Decimal;
use serde_json::json;
use support::{Record, Schema, compile, options, run};

fn schema() -> Schema {
    Schema::default()
        .with("Amount__c", Type::Currency, 2)
        .with("Discount__c", Type::Percent, 2)
        .with("Name", Type::Text, 0)
        .with("Stage__c", Type::Picklist, 0)
        .with("Regions__c", Type::MultiPicklist, 0)
}

fn text(value: &str) -> Value {
    Value::Text(value.to_string())
}

fn validation(source: &str) -> Formula {
    let opts = Options {
        return_type: Type::Checkbox,
        scale: 0,
        blanks: Blanks::AsZero,
        context: Context::Validation,
    };
    Formula::compile(source, &opts, &schema()).unwrap_or_else(|e| panic!("{source}: {e:?}"))
}

#[test]
fn write_history_functions_compile_only_in_validation_rules() {
    let field = options(Type::Checkbox, 0, Blanks::AsZero);
    for source in [
        "ISNEW()",
        "ISCHANGED(Name)",
        "ISCLONE()",
        "PRIORVALUE(Amount__c) > 1",
    ] {
        let error = compile(source, &schema(), &field).unwrap_err();
        assert!(
            error
                .message
                .contains("may not be used in this type of formula"),
            "{error:?}"
        );
        validation(source);
    }
}

#[test]
fn ischanged_and_priorvalue_read_the_prior_values() {
    let rule = validation("AND(ISCHANGED(Amount__c), PRIORVALUE(Amount__c) > Amount__c)");
    let mut record = Record::new(&rule, &[("Amount__c", Value::Number(Decimal::from(5)))]);
    record
        .prior
        .insert("Amount__c".to_string(), Value::Number(Decimal::from(9)));
    assert_eq!(rule.eval(&record), Ok(Value::Checkbox(true)));
    record
        .prior
        .insert("Amount__c".to_string(), Value::Number(Decimal::from(5)));
    assert_eq!(rule.eval(&record), Ok(Value::Checkbox(false)));
    let insert = validation("ISNEW() && NOT(ISCHANGED(Name))");
    let mut record = Record::new(&insert, &[("Name", text("a"))]);
    record.is_new = true;
    assert_eq!(insert.eval(&record), Ok(Value::Checkbox(true)));
}

#[test]
fn picklists_only_through_their_functions() {
    let flag = options(Type::Checkbox, 0, Blanks::AsZero);
    let values = [("Stage__c", text("Won")), ("Regions__c", text("East;West"))];
    let got = run(
        "ISPICKVAL(Stage__c, 'Won') && INCLUDES(Regions__c, 'West')",
        &schema(),
        &flag,
        &values,
    );
    assert_eq!(got, Value::Checkbox(true));
    let words = options(Type::Text, 0, Blanks::AsZero);
    let got = run(
        "CASE(Stage__c, 'Won', 'yes', 'no') & TEXT(Stage__c)",
        &schema(),
        &words,
        &values,
    );
    assert_eq!(got, text("yesWon"));
    let count = options(Type::Number, 0, Blanks::AsZero);
    assert_eq!(
        run("PICKLISTCOUNT(Regions__c)", &schema(), &count, &values),
        Value::Number(2.into())
    );
    for source in [
        "Stage__c = 'Won'",
        "LEN(Stage__c) > 0",
        "INCLUDES(Stage__c, 'x')",
    ] {
        assert!(
            compile(source, &schema(), &flag).is_err(),
            "{source} compiled"
        );
    }
}

#[test]
fn percent_fields_read_as_fractions_and_percent_results_store_hundredfold() {
    let money = options(Type::Currency, 2, Blanks::AsZero);
    let values = [
        ("Amount__c", Value::Number(Decimal::from(200))),
        ("Discount__c", Value::Number(Decimal::from(15))),
    ];
    let got = run("Amount__c * (1 - Discount__c)", &schema(), &money, &values);
    assert_eq!(got, Value::Number(Decimal::new(17000, 2)));
    let percent = options(Type::Percent, 1, Blanks::AsZero);
    assert_eq!(
        run("Discount__c * 2", &schema(), &percent, &values),
        Value::Number(Decimal::new(300, 1))
    );
}

#[test]
fn html_functions_give_the_markup_the_api_returns() {
    let opts = options(Type::Text, 0, Blanks::AsZero);
    let link = run(
        "HYPERLINK('/001', Name)",
        &schema(),
        &opts,
        &[("Name", text("Acme"))],
    );
    assert_eq!(link, text("<a href=\"/001\" target=\"_blank\">Acme</a>"));
    let image = run("IMAGE('/img/a.gif', 'A', 10, 20)", &schema(), &opts, &[]);
    assert_eq!(
        image,
        text("<img src=\"/img/a.gif\" alt=\"A\" height=\"10\" width=\"20\" border=\"0\"/>")
    );
    assert_eq!(
        run("'a' & BR() & 'b'", &schema(), &opts, &[]),
        text("a<br>b")
    );
}

#[test]
fn casesafeid_appends_the_case_checksum() {
    assert_eq!(eighteen_char_id("001000000000000"), "001000000000000AAA");
    // One capital at the first place of each block sets bit 0 of each checksum character.
    assert_eq!(eighteen_char_id("A0000B0000C0000"), "A0000B0000C0000BBB");
    assert_eq!(eighteen_char_id("0000A00000000AA"), "0000A00000000AAQAY");
    let opts = options(Type::Text, 0, Blanks::AsZero);
    assert_eq!(
        run("CASESAFEID('001000000000000')", &schema(), &opts, &[]),
        text("001000000000000AAA")
    );
}

#[test]
fn regex_matches_the_whole_text() {
    let opts = options(Type::Checkbox, 0, Blanks::AsZero);
    assert_eq!(
        run("REGEX('12-34', '[0-9]{2}-[0-9]{2}')", &schema(), &opts, &[]),
        Value::Checkbox(true)
    );
    assert_eq!(
        run(
            "REGEX('x12-34', '[0-9]{2}-[0-9]{2}')",
            &schema(),
            &opts,
            &[]
        ),
        Value::Checkbox(false)
    );
}

#[test]
fn json_round_trips_as_the_rest_api_writes_fields() {
    let date = from_json(Type::Date, &json!("2024-01-31"));
    assert_eq!(
        date,
        Value::Date(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap())
    );
    assert_eq!(to_json(Type::Date, 0, &date), json!("2024-01-31"));
    let instant = from_json(Type::DateTime, &json!("2024-01-31T10:00:00.000+0000"));
    assert_eq!(
        instant,
        Value::DateTime(Utc.with_ymd_and_hms(2024, 1, 31, 10, 0, 0).unwrap())
    );
    assert_eq!(
        to_json(Type::DateTime, 0, &instant),
        json!("2024-01-31T10:00:00.000+0000")
    );
    let time = from_json(Type::Time, &json!("10:00:00.000Z"));
    assert_eq!(to_json(Type::Time, 0, &time), json!("10:00:00.000Z"));
    assert_eq!(
        from_json(Type::Currency, &json!("12.5")),
        Value::Number(Decimal::new(125, 1))
    );
    assert_eq!(
        to_json(Type::Currency, 2, &Value::Number(Decimal::new(12345, 3))),
        json!(12.35)
    );
    assert_eq!(
        to_json(Type::Number, 0, &Value::Number(Decimal::new(25, 1))),
        json!(3)
    );
    assert_eq!(
        from_json(Type::Checkbox, &json!(true)),
        Value::Checkbox(true)
    );
    assert_eq!(to_json(Type::Checkbox, 0, &Value::Null), json!(false));
    assert_eq!(to_json(Type::Text, 0, &text("")), json!(null));
}

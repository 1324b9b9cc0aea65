//! The language's basics: operators, blanks both ways, rounding half up, type errors.

mod support;

use forcebus_formula::{Blanks, Type, Value};
use rust_decimal::Decimal;
use support::{Schema, compile, options, run};

fn number(text: &str) -> Value {
    Value::Number(text.parse::<Decimal>().unwrap())
}

fn text(text: &str) -> Value {
    Value::Text(text.to_string())
}

fn schema() -> Schema {
    Schema::default()
        .with("Amount__c", Type::Currency, 2)
        .with("Name", Type::Text, 0)
        .with("Account.Name", Type::Text, 0)
        .with("Stage__c", Type::Picklist, 0)
        .with("Close__c", Type::Date, 0)
}

#[test]
fn arithmetic_follows_salesforce_precedence() {
    let opts = options(Type::Number, 2, Blanks::AsZero);
    assert_eq!(run("1 + 2 * 3", &schema(), &opts, &[]), number("7.00"));
    // `^` binds looser than `*` in Salesforce's grammar.
    assert_eq!(run("2 * 3 ^ 2", &schema(), &opts, &[]), number("36.00"));
    assert_eq!(run("-(2 + 3) / 2", &schema(), &opts, &[]), number("-2.50"));
}

#[test]
fn results_round_half_up_to_the_scale() {
    let opts = options(Type::Number, 0, Blanks::AsZero);
    assert_eq!(run("2.5", &schema(), &opts, &[]), number("3"));
    assert_eq!(run("-2.5", &schema(), &opts, &[]), number("-3"));
    let opts = options(Type::Currency, 2, Blanks::AsZero);
    assert_eq!(run("1.005", &schema(), &opts, &[]), number("1.01"));
    assert_eq!(
        run(
            "Amount__c / 3",
            &schema(),
            &opts,
            &[("Amount__c", number("10"))]
        ),
        number("3.33")
    );
}

#[test]
fn blanks_read_as_zero_or_as_blank() {
    let zero = options(Type::Number, 2, Blanks::AsZero);
    let blank = options(Type::Number, 2, Blanks::AsBlank);
    assert_eq!(run("Amount__c + 1", &schema(), &zero, &[]), number("1.00"));
    assert_eq!(run("Amount__c + 1", &schema(), &blank, &[]), Value::Null);
    let flag = options(Type::Checkbox, 0, Blanks::AsZero);
    assert_eq!(
        run("ISBLANK(Amount__c)", &schema(), &flag, &[]),
        Value::Checkbox(false)
    );
    let flag = options(Type::Checkbox, 0, Blanks::AsBlank);
    assert_eq!(
        run("ISBLANK(Amount__c)", &schema(), &flag, &[]),
        Value::Checkbox(true)
    );
    assert_eq!(
        run("ISBLANK(Name)", &schema(), &flag, &[("Name", text(""))]),
        Value::Checkbox(true)
    );
    let opts = options(Type::Number, 2, Blanks::AsBlank);
    assert_eq!(
        run("BLANKVALUE(Amount__c, 7)", &schema(), &opts, &[]),
        number("7.00")
    );
}

#[test]
fn text_concatenates_and_converts() {
    let opts = options(Type::Text, 0, Blanks::AsZero);
    let values = [
        ("Account.Name", text("Acme")),
        ("Amount__c", number("12.50")),
    ];
    let got = run(
        "Account.Name & \" - \" & TEXT(Amount__c)",
        &schema(),
        &opts,
        &values,
    );
    assert_eq!(got, text("Acme - 12.50"));
    let got = run(
        "IF(LEN(Name) > 3, 'long', 'short')",
        &schema(),
        &opts,
        &[("Name", text("ab"))],
    );
    assert_eq!(got, text("short"));
}

#[test]
fn type_errors_carry_salesforce_messages_and_places() {
    let opts = options(Type::Text, 0, Blanks::AsZero);
    let error = compile("Foo__c & 'x'", &schema(), &opts).unwrap_err();
    assert_eq!(
        error.message,
        "Field Foo__c does not exist. Check spelling."
    );
    assert_eq!((error.line, error.column), (1, 1));
    let error = compile("LEN(\n  Amount__c)", &schema(), &opts).unwrap_err();
    assert_eq!(
        error.message,
        "Incorrect parameter type for function 'LEN()'. Expected Text, received Currency"
    );
    assert_eq!((error.line, error.column), (2, 3));
    let error = compile("IF(TRUE, 'a', 'b'", &schema(), &opts).unwrap_err();
    assert_eq!(error.message, "Syntax error. Missing ')'");
    let error = compile("Amount__c + 1", &schema(), &opts).unwrap_err();
    assert_eq!(
        error.message,
        "Formula result is data type (Currency), incompatible with expected data type (Text)."
    );
    let error = compile("Stage__c & 'x'", &schema(), &opts).unwrap_err();
    assert!(
        error
            .message
            .starts_with("Field Stage__c is a picklist field."),
        "{error:?}"
    );
    let error = compile("NOPE(1)", &schema(), &opts).unwrap_err();
    assert_eq!(error.message, "Unknown function NOPE. Check spelling.");
}

#[test]
fn the_clock_comes_from_the_scope() {
    let opts = options(Type::Date, 0, Blanks::AsZero);
    let today = chrono::NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
    assert_eq!(run("TODAY()", &schema(), &opts, &[]), Value::Date(today));
    let later = chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    assert_eq!(
        run("TODAY() + 30", &schema(), &opts, &[]),
        Value::Date(later)
    );
}

#[test]
fn overlong_source_is_refused() {
    let opts = options(Type::Number, 0, Blanks::AsZero);
    let source = format!("1{}", " ".repeat(3900));
    let error = compile(&source, &schema(), &opts).unwrap_err();
    assert!(
        error.message.contains("Maximum length is 3,900 characters"),
        "{error:?}"
    );
}

#[test]
fn a_compiled_formula_can_be_shared_across_threads() {
    fn assert_shareable<T: Send + Sync + Clone>() {}
    assert_shareable::<forcebus_formula::Formula>();
}

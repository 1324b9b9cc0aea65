//! The parser and compiler never panic: arbitrary text, formula-shaped noise and deeply nested
//! input all end in a formula or a `CompileError`, and evaluation of what compiles never panics.

mod support;

use forcebus_formula::{Blanks, Type, Value};
use proptest::prelude::*;
use rust_decimal::Decimal;
use support::{Record, Schema, compile, options};

fn schema() -> Schema {
    Schema::default()
        .with("Amount__c", Type::Currency, 2)
        .with("Name", Type::Text, 0)
        .with("Close__c", Type::Date, 0)
        .with("Done__c", Type::Checkbox, 0)
        .with("Stage__c", Type::Picklist, 0)
}

/// Formula-shaped tokens, glued at random.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "(",
        ")",
        ",",
        "+",
        "-",
        "*",
        "/",
        "^",
        "&",
        "=",
        "<>",
        "<",
        ">=",
        "&&",
        "||",
        "!",
        "NOT",
        "1",
        "2.5",
        "0",
        "'a'",
        "\"b\"",
        "TRUE",
        "NULL",
        "Amount__c",
        "Name",
        "Close__c",
        "Done__c",
        "Stage__c",
        "IF(",
        "CASE(",
        "LEFT(",
        "TEXT(",
        "DATE(",
        "ROUND(",
        "MOD(",
        "BLANKVALUE(",
        "ISPICKVAL(",
        "VALUE(",
        "TODAY()",
        "NOW()",
        "REGEX(",
        "/*",
        "*/",
        " ",
    ])
}

fn exercise(source: &str) {
    for ty in [Type::Number, Type::Text, Type::Checkbox, Type::Date] {
        for blanks in [Blanks::AsZero, Blanks::AsBlank] {
            if let Ok(formula) = compile(source, &schema(), &options(ty, 2, blanks)) {
                let record = Record::new(
                    &formula,
                    &[
                        ("Amount__c", Value::Number(Decimal::new(-1250, 2))),
                        ("Name", Value::Text("Acme".to_string())),
                        ("Stage__c", Value::Text("Won".to_string())),
                    ],
                );
                let _ = formula.eval(&record);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(source in ".{0,200}") {
        exercise(&source);
    }

    #[test]
    fn formula_shaped_noise_never_panics(tokens in prop::collection::vec(token(), 0..60)) {
        exercise(&tokens.join(""));
    }

    #[test]
    fn operators_alone_are_compile_errors(ops in prop::collection::vec(
        prop::sample::select(vec!["+", "*", "/", "^", "&", "=", "<", ">", "&&", "||", ",", ")"]), 1..20)) {
        let source = ops.join(" ");
        let result = compile(&source, &schema(), &options(Type::Number, 2, Blanks::AsZero));
        prop_assert!(result.is_err(), "{source} compiled");
    }
}

/// Runs `body` on a thread with a test harness's small stack, as the suite does.
fn on_small_stack(body: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(body)
        .expect("spawn")
        .join()
        .expect("no panic and no overflow");
}

#[test]
fn deep_nesting_is_a_compile_error_not_a_stack_overflow() {
    on_small_stack(|| {
        let opts = options(Type::Number, 2, Blanks::AsZero);
        for depth in [500, 5_000, 50_000] {
            let parens = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
            let calls = format!("{}1{}", "ABS(".repeat(depth), ")".repeat(depth));
            let minus = format!("{}1", "-".repeat(depth));
            let ifs = format!("{}1{}", "IF(TRUE, ".repeat(depth), ", 0)".repeat(depth));
            for source in [parens, calls, minus, ifs] {
                // Past 3,900 characters the length limit answers first; below it, the depth.
                assert!(compile(&source, &schema(), &opts).is_err());
            }
        }
    });
}

#[test]
fn long_chains_within_the_length_limit_compile_and_evaluate() {
    on_small_stack(|| {
        let opts = options(Type::Number, 0, Blanks::AsZero);
        let source = vec!["1"; 240].join(" + ");
        let formula = compile(&source, &schema(), &opts).expect("a long flat chain compiles");
        let record = Record::new(&formula, &[]);
        assert_eq!(formula.eval(&record), Ok(Value::Number(Decimal::from(240))));
        let nested = format!("{}1{}", "ABS(".repeat(120), ")".repeat(120));
        assert!(
            compile(&nested, &schema(), &opts).is_ok(),
            "moderate nesting compiles"
        );
        // Just under the depth bound, compiling and evaluating still fit a small stack.
        let ifs = format!("{}7{}", "IF(TRUE, ".repeat(240), ", 0)".repeat(240));
        let formula = compile(&ifs, &schema(), &opts).expect("240 nested IFs compile");
        let record = Record::new(&formula, &[]);
        assert_eq!(formula.eval(&record), Ok(Value::Number(Decimal::from(7))));
    });
}

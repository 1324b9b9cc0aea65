//! Property tests: printing a tree and parsing it back gives the same tree; random WHERE
//! trees select what a naive reference evaluator selects; no input makes the parser panic.

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};
use forcebus_soql::ast::*;
use forcebus_soql::{Context, Record, Source, execute, parse, prepare};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

fn ident() -> impl Strategy<Value = Ident> {
    "[A-Z][a-z]{0,6}(__c)?"
        .prop_filter("not a keyword", |s| {
            ![
                "Select",
                "From",
                "Where",
                "And",
                "Or",
                "Not",
                "In",
                "Like",
                "Limit",
                "Offset",
                "Order",
                "By",
                "Group",
                "Having",
                "For",
                "Null",
                "True",
                "False",
                "Asc",
                "Desc",
                "Nulls",
                "Includes",
                "Excludes",
                "With",
                "Using",
                "All",
                "Typeof",
                "End",
                "Update",
                "View",
                "Reference",
                "Today",
                "Tomorrow",
                "Yesterday",
                "First",
                "Last",
            ]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(s))
        })
        .prop_map(|name| Ident { name, pos: Pos(0) })
}

fn path() -> impl Strategy<Value = Path> {
    prop::collection::vec(ident(), 1..4).prop_map(|parts| Path { parts })
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        Just(Literal::Null),
        any::<bool>().prop_map(Literal::Bool),
        (-100_000i64..100_000).prop_map(|n| Literal::Num(n.to_string())),
        "[ -~\n\t']{0,12}".prop_map(Literal::Str),
        (2000i32..2030, 1u32..13, 1u32..29)
            .prop_map(|(y, m, d)| Literal::Date(chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap())),
        (0i64..2_000_000_000).prop_map(|s| Literal::DateTime(
            chrono::DateTime::from_timestamp(s, 0)
                .unwrap()
                .fixed_offset()
        )),
        prop_oneof![Just("TODAY"), Just("LAST_WEEK"), Just("THIS_QUARTER")]
            .prop_map(|n| Literal::DateLiteral(n.into(), None)),
        (
            prop_oneof![Just("LAST_N_DAYS"), Just("N_YEARS_AGO")],
            0i64..400
        )
            .prop_map(|(n, k)| Literal::DateLiteral(n.into(), Some(k))),
    ]
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop_oneof![
        Just(CmpOp::Eq),
        Just(CmpOp::Ne),
        Just(CmpOp::Lt),
        Just(CmpOp::Le),
        Just(CmpOp::Gt),
        Just(CmpOp::Ge)
    ]
}

fn leaf() -> impl Strategy<Value = Cond> {
    let operand = || path().prop_map(Operand::Path);
    prop_oneof![
        (operand(), op(), literal()).prop_map(|(a, o, v)| Cond::Cmp(a, o, v, Pos(0))),
        (
            operand(),
            any::<bool>(),
            prop::collection::vec(literal(), 1..4)
        )
            .prop_map(|(a, n, v)| Cond::In(a, n, InList::Values(v))),
        (operand(), "[a-z%_]{0,6}").prop_map(|(a, p)| Cond::Like(a, p)),
        (
            operand(),
            any::<bool>(),
            prop::collection::vec("[a-z;]{1,5}", 1..3)
        )
            .prop_map(|(a, e, v)| Cond::Includes(a, e, v)),
        (
            path(),
            prop_oneof![Just(DateFunc::CalendarYear), Just(DateFunc::DayOnly)],
            op(),
            literal()
        )
            .prop_map(|(p, f, o, v)| Cond::Cmp(Operand::DateFn(f, p), o, v, Pos(0))),
    ]
}

fn cond() -> impl Strategy<Value = Cond> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Cond::Or),
            inner.prop_map(|c| Cond::Not(Box::new(c))),
        ]
    })
}

fn query() -> impl Strategy<Value = Query> {
    (
        prop::collection::vec(path().prop_map(SelectItem::Field), 1..4),
        ident(),
        prop::option::of(cond()),
        prop::collection::vec(
            (
                path().prop_map(Operand::Path),
                any::<bool>(),
                prop::option::of(any::<bool>()),
            ),
            0..3,
        ),
        prop::option::of(0u64..5000),
        prop::option::of(0u64..2000),
    )
        .prop_map(|(select, from, filter, order, limit, offset)| Query {
            select,
            from,
            alias: None,
            filter,
            group_by: Vec::new(),
            having: None,
            order_by: order
                .into_iter()
                .map(|(key, desc, nulls_first)| OrderItem {
                    key,
                    desc,
                    nulls_first,
                })
                .collect(),
            limit,
            offset,
            for_clause: None,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn printing_then_parsing_gives_the_same_tree(q in query()) {
        let text = q.to_string();
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{}\n{}", text, e.render(&text))))?;
        prop_assert_eq!(back, q, "{}", text);
    }

    #[test]
    fn the_parser_never_panics_on_bytes(s in "\\PC{0,80}") {
        let _ = parse(&s);
    }

    #[test]
    fn the_parser_never_panics_on_token_soup(words in prop::collection::vec(prop_oneof![
        Just("SELECT"), Just("FROM"), Just("WHERE"), Just("Id"), Just("Name"), Just("Account"), Just("("), Just(")"),
        Just(","), Just("="), Just("!="), Just("'x'"), Just("1"), Just("AND"), Just("OR"), Just("NOT"), Just("IN"),
        Just("LIKE"), Just("ORDER"), Just("BY"), Just("LIMIT"), Just("GROUP"), Just("COUNT()"), Just("TODAY"),
        Just("LAST_N_DAYS:"), Just("2024-01-01"), Just("."), Just("null"), Just("HAVING"), Just("COUNT(Id)"),
    ], 0..30)) {
        let text = words.join(" ");
        let _ = parse(&text);
    }
}

// ---- Random WHERE trees against a naive evaluator ----

#[derive(Debug, Clone)]
struct Rec {
    id: RecordId,
    name: Option<String>,
    n: Option<i64>,
    b: bool,
}

impl Record for Rec {
    fn id(&self) -> RecordId {
        self.id
    }
    fn is_deleted(&self) -> bool {
        false
    }
    fn value(&self, _: &ObjectDef, field: &FieldDef) -> Json {
        match field.name.as_str() {
            "Id" => json!(self.id.to18()),
            "Name" => self.name.as_ref().map_or(Json::Null, |s| json!(s)),
            "N__c" => self.n.map_or(Json::Null, |n| json!(n)),
            "B__c" => json!(self.b),
            _ => Json::Null,
        }
    }
}

struct Rows(Vec<Rec>);

impl Source for Rows {
    type Rec = Rec;
    fn get(&self, id: RecordId) -> Option<&Rec> {
        self.0.iter().find(|r| r.id == id)
    }
    fn scan<'a>(&'a self, _: &str) -> Box<dyn Iterator<Item = &'a Rec> + 'a> {
        Box::new(self.0.iter())
    }
    fn lookup(&self, _: &str, _: &str, _: &str) -> Option<Vec<&Rec>> {
        None
    }
}

fn schema() -> Schema {
    let mut id = FieldDef::new("Id", "Id", FieldType::Id);
    id.nillable = false;
    let fields = vec![
        id,
        FieldDef::new("Name", "Name", FieldType::String),
        FieldDef::new("N__c", "N", FieldType::Int),
        FieldDef::new("B__c", "B", FieldType::Boolean),
    ];
    Schema::new(vec![ObjectDef::new(
        "Thing__c", "Thing", "Things", "a00", fields,
    )])
}

/// A condition over the three fields, with its own reading of SOQL's rules.
#[derive(Debug, Clone)]
enum Naive {
    NameEq(Option<String>, bool),
    NameLike(String),
    NameIn(Vec<String>, bool),
    NCmp(CmpOp, Option<i64>),
    BEq(bool),
    And(Vec<Naive>),
    Or(Vec<Naive>),
    Not(Box<Naive>),
}

impl Naive {
    fn soql(&self) -> String {
        let q = |s: &str| format!("'{s}'");
        match self {
            Naive::NameEq(None, eq) => format!("Name {} null", if *eq { "=" } else { "!=" }),
            Naive::NameEq(Some(s), eq) => format!("Name {} {}", if *eq { "=" } else { "!=" }, q(s)),
            Naive::NameLike(p) => format!("Name LIKE {}", q(p)),
            Naive::NameIn(vs, neg) => format!(
                "Name {}IN ({})",
                if *neg { "NOT " } else { "" },
                vs.iter().map(|v| q(v)).collect::<Vec<_>>().join(", ")
            ),
            Naive::NCmp(op, None) => {
                format!("N__c {} null", if *op == CmpOp::Eq { "=" } else { "!=" })
            }
            Naive::NCmp(op, Some(n)) => format!(
                "N__c {} {n}",
                ["=", "!=", "<", "<=", ">", ">="][*op as usize]
            ),
            Naive::BEq(b) => format!("B__c = {b}"),
            Naive::And(cs) => cs
                .iter()
                .map(|c| format!("({})", c.soql()))
                .collect::<Vec<_>>()
                .join(" AND "),
            Naive::Or(cs) => cs
                .iter()
                .map(|c| format!("({})", c.soql()))
                .collect::<Vec<_>>()
                .join(" OR "),
            Naive::Not(c) => format!("NOT ({})", c.soql()),
        }
    }

    fn test(&self, r: &Rec) -> bool {
        let lower = |s: &str| s.to_lowercase();
        match self {
            Naive::NameEq(None, eq) => r.name.is_none() == *eq,
            Naive::NameEq(Some(s), eq) => (r.name.as_deref().map(lower) == Some(lower(s))) == *eq,
            Naive::NameLike(p) => r
                .name
                .as_deref()
                .is_some_and(|n| like_naive(&lower(n), &lower(p))),
            Naive::NameIn(vs, neg) => {
                vs.iter()
                    .any(|v| r.name.as_deref().map(lower) == Some(lower(v)))
                    != *neg
            }
            Naive::NCmp(op, None) => r.n.is_none() == (*op == CmpOp::Eq),
            Naive::NCmp(op, Some(k)) => match r.n {
                None => *op == CmpOp::Ne,
                Some(n) => match op {
                    CmpOp::Eq => n == *k,
                    CmpOp::Ne => n != *k,
                    CmpOp::Lt => n < *k,
                    CmpOp::Le => n <= *k,
                    CmpOp::Gt => n > *k,
                    CmpOp::Ge => n >= *k,
                },
            },
            Naive::BEq(b) => r.b == *b,
            Naive::And(cs) => cs.iter().all(|c| c.test(r)),
            Naive::Or(cs) => cs.iter().any(|c| c.test(r)),
            Naive::Not(c) => !c.test(r),
        }
    }
}

/// Regex-free LIKE by recursion: obviously right, exponential, fine for short strings.
fn like_naive(t: &str, p: &str) -> bool {
    match p.chars().next() {
        None => t.is_empty(),
        Some('%') => (0..=t.len())
            .filter(|i| t.is_char_boundary(*i))
            .any(|i| like_naive(&t[i..], &p[1..])),
        Some('_') => t
            .chars()
            .next()
            .is_some_and(|c| like_naive(&t[c.len_utf8()..], &p[1..])),
        Some(c) => t.starts_with(c) && like_naive(&t[c.len_utf8()..], &p[c.len_utf8()..]),
    }
}

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ab".to_owned()),
        Just("Ab".to_owned()),
        Just("abc".to_owned()),
        Just("b".to_owned()),
        Just("".to_owned())
    ]
}

fn naive_leaf() -> impl Strategy<Value = Naive> {
    prop_oneof![
        (prop::option::of("[ab]{1,3}"), any::<bool>()).prop_map(|(s, e)| Naive::NameEq(s, e)),
        "[ab%_]{0,4}".prop_map(Naive::NameLike),
        (
            prop::collection::vec(word().prop_filter("non-empty", |w| !w.is_empty()), 1..3),
            any::<bool>()
        )
            .prop_map(|(v, n)| Naive::NameIn(v, n)),
        (
            prop_oneof![
                Just(CmpOp::Eq),
                Just(CmpOp::Ne),
                Just(CmpOp::Lt),
                Just(CmpOp::Le),
                Just(CmpOp::Gt),
                Just(CmpOp::Ge)
            ],
            prop::option::of(-3i64..4)
        )
            .prop_filter("null only with = and !=", |(op, v)| v.is_some()
                || matches!(op, CmpOp::Eq | CmpOp::Ne))
            .prop_map(|(op, v)| Naive::NCmp(op, v)),
        any::<bool>().prop_map(Naive::BEq),
    ]
}

fn naive() -> impl Strategy<Value = Naive> {
    naive_leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Naive::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Naive::Or),
            inner.prop_map(|c| Naive::Not(Box::new(c))),
        ]
    })
}

fn records() -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec(
        (
            prop::option::of(word()),
            prop::option::of(-3i64..4),
            any::<bool>(),
        ),
        0..12,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (name, n, b))| Rec {
                id: RecordId::mint("a00", i as u64 + 1),
                name: name.filter(|s| !s.is_empty()),
                n,
                b,
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_where_trees_match_the_naive_evaluator(c in naive(), rows in records()) {
        let schema = schema();
        let text = format!("SELECT Id FROM Thing__c WHERE {}", c.soql());
        let plan = prepare(&text, &schema, &forcebus_soql::Everything).map_err(|e| TestCaseError::fail(e.render(&text)))?;
        let ctx = Context { now: chrono::Utc::now(), version: "59.0".into(), all_rows: false, seen: Default::default() };
        let got: Vec<String> = execute(&plan, &Rows(rows.clone()), &ctx).records.iter().map(|r| r["Id"].as_str().unwrap().to_owned()).collect();
        let want: Vec<String> = rows.iter().filter(|r| c.test(r)).map(|r| r.id.to18()).collect();
        prop_assert_eq!(got, want, "{}", text);
    }
}

/// A review found: about 1,800 `NOT`s in a 7 KB query overflowed the stack and took
/// the process down. Deep nesting is refused with `MALFORMED_QUERY` instead.
#[test]
fn a_thousand_nots_are_refused_not_a_stack_overflow() {
    let q = format!(
        "SELECT Id FROM Account WHERE {}Name = 'x'",
        "NOT ".repeat(1_800)
    );
    let e = parse(&q).unwrap_err();
    assert_eq!(e.kind.code(), "MALFORMED_QUERY", "{e}");
    let q = format!(
        "SELECT Id FROM Account WHERE {}Name = 'x'{}",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    assert_eq!(parse(&q).unwrap_err().kind.code(), "MALFORMED_QUERY");
}

/// One level of a nesting: a `NOT` or an opening parenthesis.
#[derive(Debug, Clone, Copy)]
enum Level {
    Not,
    Paren,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any mix of `NOT`s and parentheses, up to thousands deep, parses within the bound
    /// and is refused with MALFORMED_QUERY past it; none exhausts the stack.
    #[test]
    fn deep_nestings_parse_within_the_bound_or_are_refused(
        levels in prop::collection::vec(
            prop_oneof![Just(Level::Not), Just(Level::Paren)],
            0..3_000,
        ),
        also_subquery in any::<bool>(),
    ) {
        let mut open = String::new();
        let mut close = String::new();
        for l in &levels {
            match l {
                Level::Not => open.push_str("NOT "),
                Level::Paren => {
                    open.push('(');
                    close.insert(0, ')');
                }
            }
        }
        let leaf = if also_subquery {
            "Id IN (SELECT AccountId FROM Contact WHERE NOT (LastName = 'x'))"
        } else {
            "Name = 'x'"
        };
        let q = format!("SELECT Id FROM Account WHERE {open}{leaf}{close}");
        let within = levels.len() <= forcebus_soql::parser::MAX_CONDITION_DEPTH
            - if also_subquery { 2 } else { 0 };
        match parse(&q) {
            Ok(_) => prop_assert!(within, "{} levels accepted", levels.len()),
            Err(e) => {
                prop_assert_eq!(e.kind.code(), "MALFORMED_QUERY");
                prop_assert!(!within, "{} levels refused: {}", levels.len(), e);
            }
        }
    }
}

//! PushTopics (`org-rest-cdc.md` §3.5): a `PushTopic` record's query is checked when it is
//! saved; every committed record change is matched against the active topics of its
//! object, and each match becomes a notification on `/topic/{Name}`, committed with the
//! change and retained 24 hours.
//!
//! Topics are compiled once (parsed, checked, their fields listed) and kept per object
//! until a `PushTopic` or the schema changes. Each holds the schema version it was
//! compiled against; matching a change binds its query to that version and runs the plan
//! over that one record: its `WHERE` decides, its `SELECT` shapes the notification's
//! `sobject`.

use crate::fields::FieldRef;
use std::collections::HashSet;

use serde_json::{Map, Value};

mod topics;

pub(crate) use topics::{Topics, changed_fields};

use forcebus_meta::{FieldType, ObjectDef, Schema};
use forcebus_soql::ast::SelectItem;
use forcebus_soql::bind::{Column, Cond, Operand, Value as Lit};
use forcebus_soql::{Context, Plan, Source};

use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::record::Record;

/// Retention class of PushTopic notifications (24 hours by default).
pub const CLASS: u8 = forcebus_events::CLASS_NOTIFICATIONS;

/// The object name.
pub const OBJECT: &str = "PushTopic";

/// Which field changes an update must include to notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyFor {
    /// Any change.
    All,
    /// A field in SELECT or WHERE.
    Referenced,
    /// A field in SELECT.
    Select,
    /// A field in WHERE.
    Where,
}

impl NotifyFor {
    fn parse(s: Option<&str>) -> Self {
        match s {
            Some("All") => Self::All,
            Some("Select") => Self::Select,
            Some("Where") => Self::Where,
            _ => Self::Referenced,
        }
    }
}

/// What a record change was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Inserted.
    Created,
    /// Updated.
    Updated,
    /// Moved to the Recycle Bin.
    Deleted,
    /// Restored.
    Undeleted,
}

impl Operation {
    /// The `event.type` of a notification.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Undeleted => "undeleted",
        }
    }

    /// The change between two states of a record, if it notifies at all.
    pub fn of(before: Option<&Record>, after: Option<&Record>) -> Option<Self> {
        match (before, after) {
            (None, Some(a)) if !a.is_deleted => Some(Self::Created),
            (Some(b), Some(a)) => match (b.is_deleted, a.is_deleted) {
                (false, false) => Some(Self::Updated),
                (false, true) => Some(Self::Deleted),
                (true, false) => Some(Self::Undeleted),
                (true, true) => None,
            },
            _ => None,
        }
    }
}

/// A compiled, active topic.
#[derive(Debug)]
pub struct Topic {
    /// The topic's `Name` (its channel is `/topic/{Name}`).
    pub name: String,
    /// The schema version the query was compiled against (a copy shares its objects), held
    /// while the topic is.
    schema: Schema,
    /// The parsed query with only `Id` selected, bound to `schema` when a change is judged.
    query: forcebus_soql::Query,
    /// The object it watches, as the schema names it.
    object: String,
    notify_for: NotifyFor,
    /// Create, update, delete, undelete.
    operations: [bool; 4],
    select: HashSet<String>,
    /// The SELECT fields in order: the notification's `sobject`.
    columns: Vec<String>,
    filter: HashSet<String>,
}

/// Why a query cannot be a PushTopic query.
fn invalid(reason: impl Into<String>) -> OrgError {
    OrgError::field(Code::InvalidField, reason, "Query")
}

fn flag(r: &Record, name: &str) -> bool {
    r.fields
        .get(name)
        .and_then(FieldRef::as_bool)
        .unwrap_or(true)
}

fn walk<'a, 's>(c: &'a Cond<'s>, out: &mut Vec<&'a Operand<'s>>, not: &mut bool, semi: &mut bool) {
    match c {
        Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| walk(c, out, not, semi)),
        Cond::Not(inner) => {
            *not = true;
            walk(inner, out, not, semi);
        }
        Cond::InQuery(o, ..) => {
            *semi = true;
            out.push(o);
        }
        Cond::Cmp(o, ..) | Cond::In(o, ..) | Cond::Like(o, ..) | Cond::Includes(o, ..) => {
            out.push(o)
        }
    }
}

fn has_relative_date(c: &Cond<'_>) -> bool {
    match c {
        Cond::And(v) | Cond::Or(v) => v.iter().any(has_relative_date),
        Cond::Not(inner) => has_relative_date(inner),
        Cond::Cmp(_, _, Lit::Range(..)) => true,
        Cond::In(_, _, vals) => vals.iter().any(|v| matches!(v, Lit::Range(..))),
        _ => false,
    }
}

/// Compiles a `PushTopic` record's query, checking the PushTopic rules; the error is the
/// one a save gets.
pub fn compile(schema: &Schema, r: &Record) -> Result<Topic, OrgError> {
    let text = r.get_str("Query").unwrap_or_default();
    let query = forcebus_soql::parse(text).map_err(|e| invalid(e.message))?;
    let plan = bind(&query, schema).map_err(|e| invalid(e.message))?;
    let notify_for = NotifyFor::parse(r.get_str("NotifyForFields"));
    check_clauses(&plan)?;
    let (select, columns) = selected_fields(&plan, notify_for)?;
    let filter = match &plan.filter {
        Some(cond) => where_fields(cond)?,
        None => HashSet::new(),
    };
    if notify_for == NotifyFor::Referenced && !select.iter().chain(&filter).any(|f| f != "Id") {
        return Err(invalid(
            "With NotifyForFields Referenced, the query must reference a field other than Id",
        ));
    }
    let object = plan.object.name.clone();
    // What matching binds: the WHERE, and the SELECT cut to its Id (the notification's
    // fields are `columns`), so that binding costs little.
    let mut query = query;
    query.select.retain(|item| {
        matches!(item, SelectItem::Field(p) if p.parts.len() == 1 && p.parts[0].name.eq_ignore_ascii_case("Id"))
    });
    query.select.truncate(1);
    Ok(Topic {
        name: r.get_str("Name").unwrap_or_default().to_owned(),
        schema: schema.clone(),
        query,
        object,
        notify_for,
        operations: [
            flag(r, "NotifyForOperationCreate"),
            flag(r, "NotifyForOperationUpdate"),
            flag(r, "NotifyForOperationDelete"),
            flag(r, "NotifyForOperationUndelete"),
        ],
        select,
        columns,
        filter,
    })
}

/// Binds a topic's query: the data objects, PushTopic itself left out.
fn bind<'s>(
    query: &forcebus_soql::Query,
    schema: &'s Schema,
) -> Result<Plan<'s>, forcebus_soql::SoqlError> {
    forcebus_soql::bind(query, schema, &|o: &ObjectDef| {
        !o.tooling && o.name != OBJECT
    })
}

/// No aggregates, grouping, limits, offsets or ordering.
fn check_clauses(plan: &Plan<'_>) -> Result<(), OrgError> {
    if plan.aggregate || !plan.group_by.is_empty() || plan.having.is_some() {
        return Err(invalid("Aggregate queries are not supported"));
    }
    if plan.limit.is_some() {
        return Err(invalid("LIMIT is not supported"));
    }
    if plan.offset.is_some() {
        return Err(invalid("OFFSET is not supported"));
    }
    if !plan.order.is_empty() {
        return Err(invalid("ORDER BY is not supported"));
    }
    Ok(())
}

/// The SELECT's fields (as a set, and in order): the object's own fields only, `Id` among
/// them, compounds only when every field notifies.
fn selected_fields(
    plan: &Plan<'_>,
    notify_for: NotifyFor,
) -> Result<(HashSet<String>, Vec<String>), OrgError> {
    let mut select = HashSet::new();
    let mut columns = Vec::new();
    for c in &plan.columns {
        match c {
            Column::Field(f) if f.hops.is_empty() => {
                if matches!(f.field.ftype, FieldType::Address | FieldType::Location)
                    && notify_for != NotifyFor::All
                {
                    return Err(invalid(format!(
                        "Compound field {} is not supported; select its component fields",
                        f.field.name
                    )));
                }
                if select.insert(f.field.name.clone()) {
                    columns.push(f.field.name.clone());
                }
            }
            Column::Field(_) => return Err(invalid("Relationships are not supported")),
            Column::Child { .. } => return Err(invalid("Subqueries are not supported")),
            Column::Agg { .. } | Column::CountAll | Column::DateFn { .. } => {
                return Err(invalid("Aggregate queries are not supported"));
            }
        }
    }
    if !select.contains("Id") {
        return Err(invalid("Id must be selected"));
    }
    Ok((select, columns))
}

/// The WHERE's fields: the object's own, not formulas, with no NOT, semi-joins, date
/// literals or functions.
fn where_fields(cond: &Cond<'_>) -> Result<HashSet<String>, OrgError> {
    let (mut operands, mut not, mut semi) = (Vec::new(), false, false);
    walk(cond, &mut operands, &mut not, &mut semi);
    if semi {
        return Err(invalid(
            "Semi-join and anti-join subqueries are not supported",
        ));
    }
    if not {
        return Err(invalid("NOT is not supported; use != or NOT IN"));
    }
    if has_relative_date(cond) {
        return Err(invalid("Date literals are not supported"));
    }
    let mut filter = HashSet::new();
    for o in operands {
        let f = match o {
            Operand::Field(f) => f,
            Operand::DateFn(..) | Operand::Agg(..) => {
                return Err(invalid("Functions are not supported in WHERE"));
            }
        };
        if !f.hops.is_empty() {
            return Err(invalid("Relationships are not supported"));
        }
        if f.field.calculated {
            return Err(invalid(format!(
                "Formula field {} is not supported in WHERE",
                f.field.name
            )));
        }
        // Text areas in WHERE are refused by the SOQL binder itself.
        filter.insert(f.field.name.clone());
    }
    Ok(filter)
}

/// Checks a `PushTopic` about to be saved and fills its derived fields.
pub(crate) fn check(schema: &Schema, r: &mut Record) -> Result<(), OrgError> {
    if let Some(v) = r.fields.get("ApiVersion").and_then(FieldRef::as_f64)
        && v <= 20.0
    {
        return Err(OrgError::field(
            Code::InvalidField,
            "ApiVersion must be greater than 20.0",
            "ApiVersion",
        ));
    }
    compile(schema, r)?;
    let ops = [
        flag(r, "NotifyForOperationCreate"),
        flag(r, "NotifyForOperationUpdate"),
        flag(r, "NotifyForOperationDelete"),
        flag(r, "NotifyForOperationUndelete"),
    ];
    let derived = match ops {
        [true, true, true, true] => "All",
        [true, false, false, false] => "Create",
        [false, true, false, false] => "Update",
        _ => "Extended",
    };
    r.fields
        .insert("NotifyForOperations".into(), Value::from(derived));
    Ok(())
}

struct One<'a>(&'a Record);

impl Source for One<'_> {
    type Rec = Record;
    fn get(&self, id: RecordId) -> Option<&Record> {
        (self.0.id == id).then_some(self.0)
    }
    fn scan<'a>(&'a self, _: &str) -> Box<dyn Iterator<Item = &'a Record> + 'a> {
        Box::new(std::iter::once(self.0))
    }
    fn lookup(&self, _: &str, _: &str, _: &str) -> Option<Vec<&Record>> {
        None
    }
}

impl Topic {
    /// The object the topic watches.
    pub fn object(&self) -> &str {
        &self.object
    }

    /// Whether the topic's query selects or filters on `field`.
    pub fn names_field(&self, field: &str) -> bool {
        self.select
            .iter()
            .chain(&self.filter)
            .any(|f| f.eq_ignore_ascii_case(field))
    }

    /// A field of the SELECT by name (any case), canonical.
    pub fn selected_field(&self, name: &str) -> Option<String> {
        self.select
            .iter()
            .find(|f| f.eq_ignore_ascii_case(name))
            .cloned()
    }

    /// The notification's `sobject` when the change matches the topic, else `None`.
    /// `changed` lists the fields an update changed.
    pub fn matches(
        &self,
        op: Operation,
        before: Option<&Record>,
        after: Option<&Record>,
        changed: &HashSet<String>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Map<String, Value>> {
        let enabled = match op {
            Operation::Created => self.operations[0],
            Operation::Updated => self.operations[1],
            Operation::Deleted => self.operations[2],
            Operation::Undeleted => self.operations[3],
        };
        if !enabled {
            return None;
        }
        if op == Operation::Updated {
            let relevant = match self.notify_for {
                NotifyFor::All => true,
                NotifyFor::Referenced => changed
                    .iter()
                    .any(|f| self.select.contains(f) || self.filter.contains(f)),
                NotifyFor::Select => changed.iter().any(|f| self.select.contains(f)),
                NotifyFor::Where => changed.iter().any(|f| self.filter.contains(f)),
            };
            if !relevant {
                return None;
            }
        }
        // A delete is judged on the record as it was; everything else as it is now.
        let judged = if op == Operation::Deleted {
            before?
        } else {
            after?
        };
        let ctx = Context {
            now,
            version: String::new(),
            all_rows: true,
            seen: Default::default(),
        };
        // It bound when compiled, against this very schema version.
        let plan = match bind(&self.query, &self.schema) {
            Ok(plan) => plan,
            Err(e) => {
                tracing::warn!(topic = %self.name, error = %e.message, "PushTopic query no longer binds; skipped.");
                return None;
            }
        };
        if !forcebus_soql::passes(&plan, &One(judged), judged, &ctx) {
            return None;
        }
        let mut sobject = Map::new();
        if op == Operation::Deleted {
            sobject.insert("Id".into(), Value::String(judged.id.to18()));
            return Some(sobject);
        }
        for f in &self.columns {
            sobject.insert(f.clone(), judged.rest_value(plan.object, f));
        }
        Some(sobject)
    }
}

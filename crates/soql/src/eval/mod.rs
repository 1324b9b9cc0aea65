//! The evaluator: runs a [`Plan`] over records from a [`Source`] and shapes the rows as the
//! REST API returns them.
//!
//! Comparisons follow SOQL: text case-insensitively, `= null` / `!= null` for emptiness, a
//! null field satisfies `!=` and `NOT IN`, date literals compare with their range edges.
//! Equality on an Id, a reference or an external-id field at the top of the WHERE clause
//! asks the source's index instead of scanning.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId};

use crate::ast::CmpOp;
use crate::bind::{Column, Cond, FieldRef, Operand, Plan, Value, plain};
use crate::dates::{self, FnValue};

mod aggregate;
mod seen;
mod shape;
mod values;

pub use seen::{Seen, SeenAt};

pub use values::like;
use values::{Cv, apply_op, compare, cv, cv_of_json, instant, lit};

/// A polymorphic relationship's `Type` (`Parent.Type`), which is the object of the record
/// it names (`current`); `None` for any other field.
fn polymorphic_type<R: Record>(f: &FieldRef<'_>, current: &R) -> Option<Json> {
    let last = f.hops.last()?;
    if last.field.reference_to.len() > 1 && f.field.name == "Type" {
        current
            .object_name()
            .map(|name| Json::String(name.to_owned()))
    } else {
        None
    }
}

/// A record as the evaluator sees it.
pub trait Record {
    /// Its id.
    fn id(&self) -> RecordId;
    /// Whether it is in the Recycle Bin.
    fn is_deleted(&self) -> bool;
    /// A field's value as the REST API shows it (compound fields assembled).
    fn value(&self, object: &ObjectDef, field: &FieldDef) -> Json;
    /// The name of its object, when the source knows it: what a polymorphic
    /// relationship's `Type` reads (`Parent.Type = 'Contact'`).
    fn object_name(&self) -> Option<&str> {
        None
    }
}

/// Where records come from.
pub trait Source {
    /// The record type.
    type Rec: Record;
    /// A record by id, deleted or not.
    fn get(&self, id: RecordId) -> Option<&Self::Rec>;
    /// Every record of an object (canonical name), deleted ones included, in creation order.
    fn scan<'a>(&'a self, object: &str) -> Box<dyn Iterator<Item = &'a Self::Rec> + 'a>;
    /// Records whose indexed `field` equals `key` (an 18-character id for references,
    /// lower-case text for external ids), or `None` when the field has no index.
    fn lookup(&self, object: &str, field: &str, key: &str) -> Option<Vec<&Self::Rec>>;
    /// The value of a formula field (one with [`FieldDef::formula`]) of `r`, computed by
    /// the source, which knows the compiled formula and the records it reads; null when
    /// the source computes none or the formula fails on this record.
    fn formula(&self, r: &Self::Rec, object: &ObjectDef, field: &FieldDef) -> Json {
        let _ = (r, object, field);
        Json::Null
    }
}

/// Evaluation settings.
#[derive(Debug, Clone)]
pub struct Context {
    /// "Now", for date literals.
    pub now: DateTime<Utc>,
    /// API version for record URLs.
    pub version: String,
    /// Include Recycle Bin rows (`queryAll`).
    pub all_rows: bool,
    /// When the querying user last viewed and referenced records: their
    /// `LastViewedDate` and `LastReferencedDate`, which are the user's, not the record's.
    pub seen: std::sync::Arc<Seen>,
}

/// A query's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// Rows matched (after LIMIT and OFFSET); for `COUNT()` the count.
    pub total_size: usize,
    /// The rows are aggregate results (which cannot be paged).
    pub aggregate: bool,
    /// Shaped rows (empty for `COUNT()`).
    pub records: Vec<Json>,
}

/// Runs `plan` against `src`.
pub fn execute<S: Source>(plan: &Plan<'_>, src: &S, ctx: &Context) -> Output {
    let ev = Eval {
        src,
        ctx,
        semi: RefCell::new(HashMap::new()),
    };
    ev.run(plan)
}

/// The ids of the rows a non-aggregate `plan` selects, in order (after ORDER BY, LIMIT
/// and OFFSET), without shaping them: what a paged query keeps to resume.
pub fn select_ids<S: Source>(plan: &Plan<'_>, src: &S, ctx: &Context) -> Vec<RecordId> {
    let ev = Eval {
        src,
        ctx,
        semi: RefCell::new(HashMap::new()),
    };
    let rows = ev.matching(plan);
    ev.sorted(plan, rows).into_iter().map(|r| r.id()).collect()
}

/// The rows of `ids` shaped as `plan` selects them, in that order. Records gone from
/// `src` since the ids were chosen (or deleted, outside `queryAll`) are left out.
pub fn shape_ids<S: Source>(
    plan: &Plan<'_>,
    src: &S,
    ctx: &Context,
    ids: &[RecordId],
) -> Vec<Json> {
    let ev = Eval {
        src,
        ctx,
        semi: RefCell::new(HashMap::new()),
    };
    ids.iter()
        .filter_map(|id| src.get(*id))
        .filter(|r| ev.live(r))
        .map(|r| ev.shape(plan, r))
        .collect()
}

/// Whether `rec` passes `plan`'s WHERE, without shaping a row (a PushTopic judging one
/// changed record). Semi-joins, if any, run against `src`.
pub fn passes<S: Source>(plan: &Plan<'_>, src: &S, rec: &S::Rec, ctx: &Context) -> bool {
    let ev = Eval {
        src,
        ctx,
        semi: RefCell::new(HashMap::new()),
    };
    plan.filter
        .as_ref()
        .is_none_or(|c| ev.test(c, Ctx::Row(rec), plan.object))
}

enum Ctx<'r, R> {
    Row(&'r R),
    Group(&'r [&'r R]),
}

impl<R> Clone for Ctx<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R> Copy for Ctx<'_, R> {}

struct Eval<'a, S: Source> {
    src: &'a S,
    ctx: &'a Context,
    /// Semi-join results, computed once per subquery plan.
    semi: RefCell<HashMap<usize, HashSet<RecordId>>>,
}

impl<'a, S: Source> Eval<'a, S> {
    fn live(&self, r: &S::Rec) -> bool {
        self.ctx.all_rows || !r.is_deleted()
    }

    fn raw(&self, r: &S::Rec, f: &FieldRef<'_>, start: &ObjectDef) -> Json {
        let Some(current) = self.raw_parent(r, f, start) else {
            return Json::Null;
        };
        polymorphic_type(f, current).unwrap_or_else(|| self.value(current, f.object, f.field))
    }

    /// The record the hops of `f` land on (`r` itself without hops), if every hop lands
    /// on a live one.
    fn raw_parent<'r>(
        &self,
        r: &'r S::Rec,
        f: &FieldRef<'_>,
        start: &ObjectDef,
    ) -> Option<&'r S::Rec>
    where
        'a: 'r,
    {
        let mut current = r;
        let mut object = start;
        for hop in &f.hops {
            let id = current.value(object, hop.field);
            current = id
                .as_str()
                .and_then(RecordId::parse)
                .and_then(|id| self.src.get(id))
                .filter(|p| self.live(p))?;
            object = hop.target;
        }
        Some(current)
    }

    /// A field's value; the user's own for `LastViewedDate` and `LastReferencedDate`; a
    /// blob field's, the URL of its bytes (as the REST API answers a query); a formula
    /// field's, as the source computes it.
    fn value(&self, r: &S::Rec, object: &ObjectDef, field: &FieldDef) -> Json {
        if field.formula.is_some() {
            return self.src.formula(r, object, field);
        }
        match self.ctx.seen.stamp(r.id(), &field.name) {
            Some(stamp) => stamp,
            None if field.ftype == FieldType::Base64 => match r.value(object, field) {
                Json::Null => Json::Null,
                _ => Json::String(format!(
                    "/services/data/v{}/sobjects/{}/{}/{}",
                    self.ctx.version,
                    object.name,
                    r.id().to18(),
                    field.name
                )),
            },
            None => r.value(object, field),
        }
    }

    fn field(&self, r: &S::Rec, f: &FieldRef<'_>, start: &ObjectDef) -> Cv {
        cv(f.field, &self.raw(r, f, start))
    }

    fn operand(&self, o: &Operand<'_>, c: Ctx<'_, S::Rec>, start: &ObjectDef) -> Cv {
        match (o, c) {
            (Operand::Field(f), Ctx::Row(r)) => self.field(r, f, start),
            (Operand::Field(f), Ctx::Group(rows)) => {
                rows.first().map_or(Cv::Null, |r| self.field(r, f, start))
            }
            (Operand::DateFn(func, f), Ctx::Row(r)) => match instant(&self.field(r, f, start)) {
                Some(t) => match dates::apply(*func, t) {
                    FnValue::Num(n) => Cv::Num(n),
                    FnValue::Date(d) => Cv::Date(d),
                },
                None => Cv::Null,
            },
            (Operand::DateFn(..), Ctx::Group(rows)) => rows
                .first()
                .map_or(Cv::Null, |r| self.operand(o, Ctx::Row(r), start)),
            (Operand::Agg(func, f), Ctx::Group(rows)) => {
                cv_of_json(self.aggregate(*func, f, rows, start))
            }
            (Operand::Agg(func, f), Ctx::Row(r)) => {
                cv_of_json(self.aggregate(*func, f, &[r], start))
            }
        }
    }

    fn test(&self, c: &Cond<'_>, x: Ctx<'_, S::Rec>, start: &ObjectDef) -> bool {
        match c {
            Cond::And(cs) => cs.iter().all(|c| self.test(c, x, start)),
            Cond::Or(cs) => cs.iter().any(|c| self.test(c, x, start)),
            Cond::Not(c) => !self.test(c, x, start),
            Cond::Cmp(o, op, v) => {
                let left = self.operand(o, x, start);
                match v {
                    // Null (or `''`, the same value) is the least of values.
                    Value::Null => match op {
                        CmpOp::Eq | CmpOp::Le => left == Cv::Null,
                        CmpOp::Ne | CmpOp::Gt => left != Cv::Null,
                        CmpOp::Ge => true,
                        CmpOp::Lt => false,
                    },
                    Value::Range(name, n) => {
                        let Some(t) = instant(&left) else {
                            return *op == CmpOp::Ne;
                        };
                        let Some((from, to)) = dates::range(name, *n, self.ctx.now) else {
                            return false;
                        };
                        match op {
                            CmpOp::Eq => from <= t && t < to,
                            CmpOp::Ne => !(from <= t && t < to),
                            CmpOp::Lt => t < from,
                            CmpOp::Le => t < to,
                            CmpOp::Gt => t >= to,
                            CmpOp::Ge => t >= from,
                        }
                    }
                    v if left == Cv::Null => *op == CmpOp::Ne && *v != Value::Null,
                    v => compare(&left, &lit(v)).is_some_and(|o| apply_op(*op, o)),
                }
            }
            Cond::In(o, negated, vs) => {
                let left = self.operand(o, x, start);
                let hit = vs.iter().any(|v| match v {
                    Value::Null => left == Cv::Null,
                    v => compare(&left, &lit(v)) == Some(Ordering::Equal),
                });
                hit != *negated
            }
            Cond::InQuery(o, negated, plan) => {
                let hit = match self.operand(o, x, start) {
                    Cv::Id(id) => self.semi_join(plan).contains(&id),
                    _ => false,
                };
                hit != *negated
            }
            Cond::Like(o, pattern) => match self.operand(o, x, start) {
                Cv::Text(t) => like(&t, pattern),
                _ => false,
            },
            Cond::Includes(o, excludes, sets) => {
                let values: HashSet<String> = match self.operand(o, x, start) {
                    Cv::Text(t) => t.split(';').map(|p| p.trim().to_owned()).collect(),
                    _ => HashSet::new(),
                };
                let hit = sets
                    .iter()
                    .any(|set| set.iter().all(|v| values.contains(v)));
                hit != *excludes
            }
        }
    }

    fn semi_join(&self, plan: &Plan<'_>) -> std::cell::Ref<'_, HashSet<RecordId>> {
        let key = plan as *const Plan<'_> as usize;
        if !self.semi.borrow().contains_key(&key) {
            let Column::Field(f) = &plan.columns[0] else {
                unreachable!("the binder checked the semi-join column")
            };
            let ids: HashSet<RecordId> = self
                .matching(plan)
                .into_iter()
                .filter_map(|r| match self.field(r, f, plan.object) {
                    Cv::Id(id) => Some(id),
                    _ => None,
                })
                .collect();
            self.semi.borrow_mut().insert(key, ids);
        }
        std::cell::Ref::map(self.semi.borrow(), |m| &m[&key])
    }

    /// Candidate rows: an index hit for a top-level equality when there is one.
    fn candidates(&self, plan: &Plan<'_>) -> Vec<&'a S::Rec> {
        let conjuncts: Vec<&Cond<'_>> = match &plan.filter {
            Some(Cond::And(cs)) => cs.iter().collect(),
            Some(c) => vec![c],
            None => Vec::new(),
        };
        for c in conjuncts {
            let (f, values): (&FieldRef<'_>, Vec<&Value>) = match c {
                Cond::Cmp(Operand::Field(f), CmpOp::Eq, v) => (f, vec![v]),
                Cond::In(Operand::Field(f), false, vs) => (f, vs.iter().collect()),
                _ => continue,
            };
            if !f.hops.is_empty() {
                continue;
            }
            if f.field.ftype == FieldType::Id {
                let ids = values.iter().filter_map(|v| match v {
                    Value::Id(id) => Some(*id),
                    _ => None,
                });
                return ids
                    .filter_map(|id| self.src.get(id))
                    .filter(|r| self.belongs(r, plan.object))
                    .collect();
            }
            let keys: Option<Vec<String>> = values
                .iter()
                .map(|v| match v {
                    Value::Id(id) if f.field.ftype == FieldType::Reference => Some(id.to18()),
                    Value::Str(s) if f.field.external_id => Some(plain(s).to_lowercase()),
                    _ => None,
                })
                .collect();
            let Some(keys) = keys else { continue };
            let mut out = Vec::new();
            let mut seen = HashSet::new();
            for k in keys {
                match self.src.lookup(&plan.object.name, &f.field.name, &k) {
                    Some(rows) => out.extend(rows.into_iter().filter(|r| seen.insert(r.id()))),
                    None => return self.src.scan(&plan.object.name).collect(),
                }
            }
            out.sort_by_key(|r| r.id());
            return out;
        }
        self.src.scan(&plan.object.name).collect()
    }

    fn belongs(&self, r: &S::Rec, object: &ObjectDef) -> bool {
        r.id().prefix() == object.key_prefix
    }

    fn matching(&self, plan: &Plan<'_>) -> Vec<&'a S::Rec> {
        self.candidates(plan)
            .into_iter()
            .filter(|r| self.live(r))
            .filter(|r| {
                plan.filter
                    .as_ref()
                    .is_none_or(|c| self.test(c, Ctx::Row(r), plan.object))
            })
            .collect()
    }

    fn run(&self, plan: &Plan<'_>) -> Output {
        let rows = self.matching(plan);
        if plan.aggregate {
            return self.run_aggregate(plan, rows);
        }
        let rows = self.sorted(plan, rows);
        let records: Vec<Json> = rows.iter().map(|r| self.shape(plan, r)).collect();
        Output {
            total_size: records.len(),
            aggregate: false,
            records,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_wildcards() {
        assert!(like("Acme Corp", "acme%"));
        assert!(like("Acme", "A_me"));
        assert!(like("Acme", "%"));
        assert!(!like("Acme", "A_e"));
        assert!(like("50%", &format!("50{}", crate::lexer::ESCAPED_PERCENT)));
        assert!(!like(
            "500",
            &format!("50{}", crate::lexer::ESCAPED_PERCENT)
        ));
        assert!(like("a%b%c", "%b%"));
        assert!(!like("", "_"));
    }
}

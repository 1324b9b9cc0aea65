//! Aggregate queries: rows grouped, filtered by HAVING, sorted and shaped as
//! `AggregateResult`s; the aggregate functions over a group.

use std::collections::{HashMap, HashSet};

use forcebus_meta::ObjectDef;
use serde_json::{Map, Value as Json, json};

use super::shape::{sort_keys, window};
use super::values::{Cv, cv, order};
use super::{Ctx, Eval, Output, Source};
use crate::ast::AggFunc;
use crate::bind::{Column, FieldRef, Operand, Plan};

impl<'a, S: Source> Eval<'a, S> {
    pub(super) fn aggregate(
        &self,
        func: AggFunc,
        f: &FieldRef<'_>,
        rows: &[&S::Rec],
        start: &ObjectDef,
    ) -> Json {
        let values: Vec<Json> = rows
            .iter()
            .map(|r| self.raw(r, f, start))
            .filter(|v| !v.is_null())
            .collect();
        match func {
            AggFunc::Count => json!(values.len()),
            AggFunc::CountDistinct => {
                let distinct: HashSet<String> = values
                    .iter()
                    .map(|v| v.to_string().to_lowercase())
                    .collect();
                json!(distinct.len())
            }
            AggFunc::Sum | AggFunc::Avg => {
                let nums: Vec<f64> = values.iter().filter_map(Json::as_f64).collect();
                if nums.is_empty() {
                    return Json::Null;
                }
                let sum: f64 = nums.iter().sum();
                let v = if func == AggFunc::Sum {
                    sum
                } else {
                    sum / nums.len() as f64
                };
                serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number)
            }
            AggFunc::Min | AggFunc::Max => {
                let best = values.iter().min_by(|a, b| {
                    let o = order(&cv(f.field, a), &cv(f.field, b));
                    if func == AggFunc::Min { o } else { o.reverse() }
                });
                best.cloned().unwrap_or(Json::Null)
            }
        }
    }

    /// An aggregate query's rows: one per group (one in all without GROUP BY), kept by
    /// HAVING, sorted, windowed by OFFSET and LIMIT; `SELECT COUNT()` only counts.
    pub(super) fn run_aggregate(&self, plan: &Plan<'_>, rows: Vec<&'a S::Rec>) -> Output {
        if plan.count_only() {
            let n = window(plan, rows).len();
            return Output {
                total_size: n,
                aggregate: true,
                records: Vec::new(),
            };
        }
        let groups = self.sorted_groups(plan, self.groups(plan, rows));
        let records: Vec<Json> = window(plan, groups)
            .iter()
            .map(|g| self.aggregate_row(plan, g))
            .collect();
        Output {
            total_size: records.len(),
            aggregate: true,
            records,
        }
    }

    /// The rows grouped by the GROUP BY values, in order of first appearance, and kept
    /// when they pass HAVING.
    fn groups(&self, plan: &Plan<'_>, rows: Vec<&'a S::Rec>) -> Vec<Vec<&'a S::Rec>> {
        let mut groups: Vec<(Vec<String>, Vec<&S::Rec>)> = Vec::new();
        let mut index: HashMap<Vec<String>, usize> = HashMap::new();
        for r in rows {
            let key: Vec<String> = plan
                .group_by
                .iter()
                .map(|g| format!("{:?}", self.operand(g, Ctx::Row(r), plan.object)))
                .collect();
            match index.get(&key) {
                Some(&i) => groups[i].1.push(r),
                None => {
                    index.insert(key.clone(), groups.len());
                    groups.push((key, vec![r]));
                }
            }
        }
        if plan.group_by.is_empty() && groups.is_empty() {
            groups.push((Vec::new(), Vec::new()));
        }
        groups
            .into_iter()
            .map(|(_, rows)| rows)
            .filter(|rows| {
                plan.having
                    .as_ref()
                    .is_none_or(|h| self.test(h, Ctx::Group(rows), plan.object))
            })
            .collect()
    }

    /// Groups in ORDER BY order (their aggregates or grouped fields).
    fn sorted_groups<'g>(
        &self,
        plan: &Plan<'_>,
        groups: Vec<Vec<&'g S::Rec>>,
    ) -> Vec<Vec<&'g S::Rec>> {
        if plan.order.is_empty() {
            return groups;
        }
        let mut keyed: Vec<(Vec<Cv>, Vec<&S::Rec>)> = groups
            .into_iter()
            .map(|g| {
                (
                    plan.order
                        .iter()
                        .map(|o| self.operand(&o.key, Ctx::Group(&g), plan.object))
                        .collect(),
                    g,
                )
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| sort_keys(plan, a, b));
        keyed.into_iter().map(|(_, g)| g).collect()
    }

    /// One `AggregateResult` row: grouped fields from the group's first record, aggregates
    /// under their names.
    fn aggregate_row(&self, plan: &Plan<'_>, g: &[&S::Rec]) -> Json {
        let mut row = Map::new();
        row.insert("attributes".into(), json!({"type": "AggregateResult"}));
        for col in &plan.columns {
            match col {
                Column::Field(f) => {
                    let v = g
                        .first()
                        .map_or(Json::Null, |r| self.raw(r, f, plan.object));
                    row.insert(f.field.name.clone(), v);
                }
                Column::Agg {
                    func, arg, name, ..
                } => {
                    row.insert(name.clone(), self.aggregate(*func, arg, g, plan.object));
                }
                Column::DateFn {
                    func, arg, name, ..
                } => {
                    let call = Operand::DateFn(*func, arg.clone());
                    let v = self.operand(&call, Ctx::Group(g), plan.object);
                    row.insert(name.clone(), json_of(v));
                }
                Column::Child { .. } | Column::CountAll => {}
            }
        }
        Json::Object(row)
    }
}

/// A date function's value as an `AggregateResult` holds it: a number (`2026`), or a
/// date (`DAY_ONLY`).
fn json_of(v: Cv) -> Json {
    match v {
        // Date functions give whole numbers.
        Cv::Num(n) => Json::from(n as i64),
        Cv::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        _ => Json::Null,
    }
}

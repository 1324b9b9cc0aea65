//! SOSL: text search across objects (`data-apis.md` §5).
//!
//! [`parse_search`] reads a statement into a [`Search`]; [`run`] searches any [`Source`]
//! with it. Each object of `RETURNING` is a SOQL query on that object (its field list,
//! `WHERE`, `ORDER BY`, `LIMIT`, `OFFSET`) run over the records whose searchable fields
//! match the search expression ([`term`]), ranked by how often they match when there is
//! no `ORDER BY`. Without `RETURNING` every searchable object answers with `Id` only.
//!
//! Layout: [`statement`] (a parsed statement), [`term`] (the expression between the
//! braces, and matching); `crate::parser::sosl` (reading the statement).

pub mod statement;
pub mod term;

use crate::Visible;
use forcebus_meta::{FieldDef, FieldType, ObjectDef, Schema};
use serde_json::Value as Json;

use crate::ast::{Ident, Path, Pos, Query, SelectItem};
use crate::bind::{Plan, bind};
use crate::error::SoqlError;
use crate::eval::{Context, Record, Source, select_ids, shape_ids};
pub use crate::parser::sosl::{MAX_STATEMENT, parse_search};
pub use statement::{Returning, Scope, Search};
use term::words;

/// Largest overall `LIMIT`, and the default.
pub const MAX_LIMIT: u64 = 2000;

/// The records one object contributed, in rank order.
#[derive(Debug, Clone)]
pub struct Found<'s> {
    /// The object.
    pub object: &'s ObjectDef,
    /// Its rows, shaped as its field list selects them.
    pub rows: Vec<Json>,
}

/// Extra fields `IN NAME FIELDS` searches besides the name fields.
fn name_scope_extra(object: &str, field: &str) -> bool {
    matches!(
        (object, field),
        ("Account", "Website" | "Site")
            | ("Lead", "Company")
            | ("Case", "Subject")
            | ("Opportunity", "Description")
    )
}

/// The fields of `o` a search in `scope` looks in. Numbers, dates and ids are never
/// searched.
pub fn searched_fields(o: &ObjectDef, scope: Scope) -> Vec<&FieldDef> {
    o.fields
        .iter()
        .filter(|f| match scope {
            Scope::All | Scope::Sidebar => f.ftype.is_text() && f.ftype != FieldType::Id,
            Scope::Name => f.name_field || name_scope_extra(&o.name, &f.name),
            Scope::Email => f.ftype == FieldType::Email,
            Scope::Phone => f.ftype == FieldType::Phone,
        })
        .collect()
}

/// A query for `Id` only on `object`.
fn id_only(object: &Ident) -> Query {
    Query {
        select: vec![SelectItem::Field(Path {
            parts: vec![Ident {
                name: "Id".into(),
                pos: Pos(object.pos.0),
            }],
        })],
        from: object.clone(),
        alias: None,
        filter: None,
        group_by: Vec::new(),
        having: None,
        order_by: Vec::new(),
        limit: None,
        offset: None,
        for_clause: None,
    }
}

/// The source a search's SOQL runs over: `src`, with the searched object's records
/// replaced by the ones that match, best first.
struct Matching<'a, S: Source> {
    src: &'a S,
    object: &'a str,
    hits: Vec<&'a S::Rec>,
}

impl<S: Source> Source for Matching<'_, S> {
    type Rec = S::Rec;

    fn get(&self, id: forcebus_meta::RecordId) -> Option<&Self::Rec> {
        self.src.get(id)
    }

    fn scan<'b>(&'b self, object: &str) -> Box<dyn Iterator<Item = &'b Self::Rec> + 'b> {
        if object == self.object {
            Box::new(self.hits.iter().copied())
        } else {
            self.src.scan(object)
        }
    }

    fn lookup(&self, object: &str, field: &str, key: &str) -> Option<Vec<&Self::Rec>> {
        if object == self.object {
            return None;
        }
        self.src.lookup(object, field, key)
    }
}

/// The live records of `o` that match, best first (ties in creation order).
fn ranked<'a, S: Source>(search: &Search, o: &ObjectDef, src: &'a S) -> Vec<&'a S::Rec> {
    let fields = searched_fields(o, search.scope);
    let mut scored: Vec<(usize, &S::Rec)> = src
        .scan(&o.name)
        .filter(|r| !r.is_deleted())
        .filter_map(|r| {
            let mut text = Vec::new();
            for f in &fields {
                match r.value(o, f) {
                    Json::String(s) => text.extend(words(&s)),
                    Json::Null => {}
                    other => text.extend(words(&other.to_string())),
                }
            }
            let chars: Vec<Vec<char>> = text.iter().map(|w| w.chars().collect()).collect();
            search.term.score(&chars).map(|s| (s, r))
        })
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    scored.into_iter().map(|(_, r)| r).collect()
}

/// The plans of the objects a search returns, in order.
fn plans<'s>(
    search: &Search,
    schema: &'s Schema,
    visible: &dyn Visible,
) -> Result<Vec<Plan<'s>>, SoqlError> {
    if search.returning.is_empty() {
        return Ok(schema
            .objects()
            .filter(|o| visible.object(o) && !searched_fields(o, search.scope).is_empty())
            .filter_map(|o| {
                let id = Ident {
                    name: o.name.clone(),
                    pos: Pos(0),
                };
                bind(&id_only(&id), schema, visible).ok()
            })
            .collect());
    }
    search
        .returning
        .iter()
        .map(|r| {
            let q = r.query.clone().unwrap_or_else(|| id_only(&r.object));
            bind(&q, schema, visible)
        })
        .collect()
}

/// Runs `search` over `src`: each object's matching records, in `RETURNING` order, within
/// the overall limit.
pub fn run<'s, S: Source>(
    search: &Search,
    schema: &'s Schema,
    visible: &dyn Visible,
    src: &S,
    ctx: &Context,
) -> Result<Vec<Found<'s>>, SoqlError> {
    let plans = plans(search, schema, visible)?;
    let mut budget = search.limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT) as usize;
    let mut out = Vec::with_capacity(plans.len());
    for plan in &plans {
        let matching = Matching {
            src,
            object: &plan.object.name,
            hits: ranked(search, plan.object, src),
        };
        let mut ids = select_ids(plan, &matching, ctx);
        ids.truncate(budget);
        budget -= ids.len();
        let rows = shape_ids(plan, src, ctx, &ids);
        out.push(Found {
            object: plan.object,
            rows,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;

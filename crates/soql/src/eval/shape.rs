//! Ordering the matching rows (`ORDER BY`, `NULLS FIRST/LAST`, `LIMIT`, `OFFSET`) and
//! shaping each as the REST API returns it (`attributes`, parent objects nested, child
//! subqueries as query results).

use std::cmp::Ordering;

use serde_json::{Map, Value as Json, json};

use forcebus_meta::{ObjectDef, RecordId};

use super::values::{Cv, order};
use super::{Ctx, Eval, Record, Source};
use crate::bind::{Column, FieldRef, Plan};

impl<'a, S: Source> Eval<'a, S> {
    pub(super) fn sorted(&self, plan: &Plan<'_>, mut rows: Vec<&'a S::Rec>) -> Vec<&'a S::Rec> {
        if !plan.order.is_empty() {
            let mut keyed: Vec<(Vec<Cv>, &S::Rec)> = rows
                .into_iter()
                .map(|r| {
                    (
                        plan.order
                            .iter()
                            .map(|o| self.operand(&o.key, Ctx::Row(r), plan.object))
                            .collect(),
                        r,
                    )
                })
                .collect();
            keyed.sort_by(|(a, _), (b, _)| sort_keys(plan, a, b));
            rows = keyed.into_iter().map(|(_, r)| r).collect();
        }
        window(plan, rows)
    }

    pub(super) fn shape(&self, plan: &Plan<'_>, r: &S::Rec) -> Json {
        let mut row = Map::new();
        row.insert("attributes".into(), self.attributes(plan.object, r));
        for col in &plan.columns {
            match col {
                Column::Field(f) => self.put_path(&mut row, r, f, plan.object),
                Column::Child {
                    name,
                    via,
                    plan: sub,
                } => {
                    let key = r.id().to18();
                    let children: Vec<&S::Rec> =
                        match self.src.lookup(&sub.object.name, &via.name, &key) {
                            Some(rows) => rows,
                            None => self
                                .src
                                .scan(&sub.object.name)
                                .filter(|c| {
                                    c.value(sub.object, via).as_str().and_then(RecordId::parse)
                                        == Some(r.id())
                                })
                                .collect(),
                        };
                    let mut children: Vec<&S::Rec> = children
                        .into_iter()
                        .filter(|c| self.live(c))
                        .filter(|c| {
                            sub.filter
                                .as_ref()
                                .is_none_or(|f| self.test(f, Ctx::Row(c), sub.object))
                        })
                        .collect();
                    children.sort_by_key(|c| c.id());
                    let children = self.sorted(sub, children);
                    let value = if children.is_empty() {
                        Json::Null
                    } else {
                        let records: Vec<Json> =
                            children.iter().map(|c| self.shape(sub, c)).collect();
                        json!({"totalSize": records.len(), "done": true, "records": records})
                    };
                    row.insert(name.clone(), value);
                }
                Column::Agg { .. } | Column::CountAll | Column::DateFn { .. } => {}
            }
        }
        Json::Object(row)
    }

    fn attributes(&self, object: &ObjectDef, r: &S::Rec) -> Json {
        json!({"type": object.name, "url": format!("/services/data/v{}/sobjects/{}/{}", self.ctx.version, object.name, r.id().to18())})
    }

    /// Writes `f` into `row`, nesting parent objects (`"Account": {"attributes", "Name"}`).
    fn put_path(
        &self,
        row: &mut Map<String, Json>,
        r: &S::Rec,
        f: &FieldRef<'_>,
        start: &ObjectDef,
    ) {
        let mut map = row;
        let mut current = r;
        let mut object = start;
        for hop in &f.hops {
            let key = hop
                .field
                .relationship_name
                .clone()
                .unwrap_or_else(|| hop.field.name.clone());
            let id = current.value(object, hop.field);
            let parent = id
                .as_str()
                .and_then(RecordId::parse)
                .and_then(|id| self.src.get(id))
                .filter(|p| self.live(p));
            let Some(parent) = parent else {
                map.entry(key).or_insert(Json::Null);
                return;
            };
            let slot = map.entry(key).or_insert_with(|| {
                let mut m = Map::new();
                m.insert("attributes".into(), self.attributes(hop.target, parent));
                Json::Object(m)
            });
            let Json::Object(next) = slot else { return };
            map = next;
            current = parent;
            object = hop.target;
        }
        let value = super::polymorphic_type(f, current)
            .unwrap_or_else(|| self.value(current, object, f.field));
        map.insert(f.field.name.clone(), value);
    }
}

pub(super) fn sort_keys(plan: &Plan<'_>, a: &[Cv], b: &[Cv]) -> Ordering {
    for (o, (x, y)) in plan.order.iter().zip(a.iter().zip(b)) {
        let ord = match (x == &Cv::Null, y == &Cv::Null) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if o.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if o.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, false) => {
                let ord = order(x, y);
                if o.desc { ord.reverse() } else { ord }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

pub(super) fn window<T>(plan: &Plan<'_>, rows: Vec<T>) -> Vec<T> {
    let offset = plan.offset.unwrap_or(0) as usize;
    let limit = plan.limit.map_or(usize::MAX, |l| l as usize);
    rows.into_iter().skip(offset).take(limit).collect()
}

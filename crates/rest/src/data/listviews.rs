//! List views (`data-apis.md` §6.5): `/sobjects/{X}/listviews[/recent]`,
//! `/sobjects/{X}/listviews/{id}[/describe|/results]`.
//!
//! Each object has the two list views every org starts with: `All{Plural}` (every record,
//! by name) and `RecentlyViewed{Plural}` (the most recently changed ones: forcebus keeps
//! no view history, and a change is the closest thing it knows). Their results run as
//! SOQL over the org.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};

use crate::ctx::Call;
use crate::data::sobject::object;
use crate::error::ApiError;
use crate::shapes::list_view::{
    ListView, ListViewColumn, ListViewDescribe, ListViewOrderBy, ListViewRecord,
    ListViewRecordColumn, ListViewResults, ListViews,
};
use crate::shapes::respond;

/// Most rows a list view's results page holds, and the default.
const MAX_RESULTS: usize = 2000;
const DEFAULT_RESULTS: usize = 25;

/// One of an object's list views.
pub(crate) struct View<'a> {
    pub(crate) object: &'a ObjectDef,
    recent: bool,
}

impl<'a> View<'a> {
    /// Its 18-character id (`00B`), stable for the object.
    pub(crate) fn id(&self) -> String {
        let seed = self
            .object
            .name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        RecordId::mint("00B", (seed % 1_000_000) * 10 + u64::from(self.recent)).to18()
    }

    fn developer_name(&self) -> String {
        let plural = self.object.label_plural.replace(' ', "");
        if self.recent {
            format!("RecentlyViewed{plural}")
        } else {
            format!("All{plural}")
        }
    }

    fn label(&self) -> String {
        if self.recent {
            format!("Recently Viewed {}", self.object.label_plural)
        } else {
            format!("All {}", self.object.label_plural)
        }
    }

    /// The fields it shows: the name field and up to three text fields, then the hidden
    /// ones every list view carries.
    fn columns(&self) -> Vec<(&'a FieldDef, bool)> {
        let o = self.object;
        let shown = o.name_field().into_iter().chain(
            o.fields
                .iter()
                .filter(|f| f.createable && !f.name_field && f.ftype.is_text())
                .take(3),
        );
        let hidden = ["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"]
            .into_iter()
            .filter_map(|n| o.field(n));
        shown
            .map(|f| (f, false))
            .chain(hidden.map(|f| (f, true)))
            .collect()
    }

    /// The SOQL it runs.
    pub(crate) fn query(&self) -> String {
        let fields: Vec<&str> = self
            .columns()
            .iter()
            .map(|(f, _)| f.name.as_str())
            .collect();
        let order = if self.recent {
            "LastModifiedDate DESC NULLS LAST, Id DESC NULLS LAST".to_owned()
        } else {
            let name = self.object.name_field().map_or("Id", |f| f.name.as_str());
            format!("{name} ASC NULLS FIRST, Id ASC NULLS FIRST")
        };
        format!(
            "SELECT {} FROM {} ORDER BY {order}",
            fields.join(", "),
            self.object.name
        )
    }

    fn entry(&self, call: &Call) -> ListView {
        let url = format!(
            "{}/sobjects/{}/listviews/{}",
            call.base(),
            self.object.name,
            self.id()
        );
        ListView {
            describe_url: format!("{url}/describe"),
            developer_name: self.developer_name(),
            id: self.id(),
            label: self.label(),
            results_url: format!("{url}/results"),
            soql_compatible: true,
            url,
        }
    }

    /// Its columns as its describe and results show them.
    fn described_columns(&self) -> Vec<ListViewColumn<'a>> {
        let name = self.object.name_field().map(|f| f.name.as_str());
        self.columns()
            .into_iter()
            .map(|(f, hidden)| {
                let sorted = !self.recent && Some(f.name.as_str()) == name;
                let text = f.ftype.is_text();
                ListViewColumn {
                    ascending_label: if text { "A-Z" } else { "Low to High" },
                    descending_label: if text { "Z-A" } else { "High to Low" },
                    field_name_or_path: &f.name,
                    hidden,
                    label: &f.label,
                    searchable: text,
                    select_list_item: &f.name,
                    sort_direction: sorted.then_some("ascending"),
                    sort_index: sorted.then_some(0),
                    sortable: !hidden,
                    kind: f.ftype.name(),
                }
            })
            .collect()
    }

    /// The keys it sorts by.
    fn order_by(&self) -> Vec<ListViewOrderBy<'a>> {
        let key = |field, nulls_position, sort_direction| ListViewOrderBy {
            field_name_or_path: field,
            nulls_position,
            sort_direction,
        };
        if self.recent {
            return vec![key("LastModifiedDate", "last", "descending")];
        }
        let name = self.object.name_field().map_or("Id", |f| f.name.as_str());
        vec![
            key(name, "first", "ascending"),
            key("Id", "first", "ascending"),
        ]
    }
}

/// The list views of `o`.
fn views(o: &ObjectDef) -> [View<'_>; 2] {
    [
        View {
            object: o,
            recent: false,
        },
        View {
            object: o,
            recent: true,
        },
    ]
}

/// The list view with `id`, on any object of the org.
pub(crate) fn find<'a>(schema: &'a Schema, id: &str) -> Option<View<'a>> {
    let want = RecordId::parse(id)?;
    schema
        .objects()
        .filter(|o| !o.tooling)
        .flat_map(views)
        .find(|v| RecordId::parse(&v.id()) == Some(want))
}

fn view<'a>(
    app: &crate::AppState,
    call: &Call,
    schema: &'a Schema,
    name: &str,
    id: &str,
) -> Result<View<'a>, ApiError> {
    let o = &*object(app, call, name)?;
    find(schema, id)
        .filter(|v| v.object.name == o.name)
        .ok_or_else(ApiError::not_found)
}

fn list<'a>(call: &Call, o: &'a ObjectDef) -> ListViews<'a> {
    let listviews: Vec<ListView> = views(o).iter().map(|v| v.entry(call)).collect();
    ListViews {
        done: true,
        size: listviews.len(),
        listviews,
        next_records_url: (),
        sobject_type: &o.name,
    }
}

/// `GET /sobjects/{X}/listviews`.
pub(crate) async fn listviews(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &call, &name)?;
    Ok(respond(StatusCode::OK, &list(&call, o)))
}

/// `GET /sobjects/{X}/listviews/{id}` (and `/listviews/recent`, the recently used ones).
pub(crate) async fn listview(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    if id == "recent" {
        let o = &*object(&app, &call, &name)?;
        return Ok(respond(StatusCode::OK, &list(&call, o)));
    }
    let schema = app.org.schema();
    let v = view(&app, &call, &schema, &name, &id)?;
    Ok(respond(StatusCode::OK, &v.entry(&call)))
}

/// `GET /sobjects/{X}/listviews/{id}/describe`.
pub(crate) async fn describe(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let schema = app.org.schema();
    let v = view(&app, &call, &schema, &name, &id)?;
    let body = ListViewDescribe {
        columns: v.described_columns(),
        id: v.id()[..15].to_owned(),
        order_by: v.order_by(),
        query: v.query(),
        related_entity_id: (),
        scope: if v.recent { "mru" } else { "everything" },
        scope_entity_id: (),
        sobject_type: &v.object.name,
        where_condition: (),
    };
    Ok(respond(StatusCode::OK, &body))
}

/// A value as list view results show it: text, with datetimes as
/// `Fri Aug 01 21:15:46 GMT 2014`.
fn shown(f: &FieldDef, v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if f.ftype == FieldType::Datetime => {
            Some(forcebus_org::value::parse_datetime(s).map_or_else(
                || s.clone(),
                |t| t.format("%a %b %d %H:%M:%S GMT %Y").to_string(),
            ))
        }
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `GET /sobjects/{X}/listviews/{id}/results[?limit=&offset=]`.
pub(crate) async fn results(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let schema = app.org.schema();
    let v = view(&app, &call, &schema, &name, &id)?;
    let number = |key: &str, default: usize| match q.get(key) {
        None => Ok(default),
        Some(s) => s.parse::<usize>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                forcebus_org::Code::InvalidInput,
                format!("{key} must be a number: {s}"),
            )
        }),
    };
    let limit = number("limit", DEFAULT_RESULTS)?.clamp(1, MAX_RESULTS);
    let offset = number("offset", 0)?;
    // Only the rows up to the end of the page are shaped; the rest are counted.
    let out = app
        .org
        .query_paged(
            Some(call.session.user_id),
            &v.query(),
            &call.version,
            false,
            &|o| !o.tooling,
            offset + limit,
        )
        .map_err(|e| ApiError::internal(&e))?;
    let columns = v.columns();
    let records: Vec<ListViewRecord<'_>> = out
        .first
        .iter()
        .skip(offset)
        .take(limit)
        .map(|row| ListViewRecord {
            columns: columns
                .iter()
                .map(|(f, _)| ListViewRecordColumn {
                    field_name_or_path: &f.name,
                    value: shown(f, &row[&f.name]),
                })
                .collect(),
        })
        .collect();
    let body = ListViewResults {
        columns: v.described_columns(),
        developer_name: v.developer_name(),
        done: offset + records.len() >= out.total_size,
        id: v.id()[..15].to_owned(),
        label: v.label(),
        records,
        size: out.total_size,
    };
    Ok(respond(StatusCode::OK, &body))
}

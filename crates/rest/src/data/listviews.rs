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
use serde_json::{Value, json};

use forcebus_meta::{FieldDef, FieldType, ObjectDef, RecordId, Schema};

use crate::ctx::Call;
use crate::data::sobject::object;
use crate::error::{ApiError, json_response};

/// Most rows a list view's results page holds, and the default.
const MAX_RESULTS: usize = 2000;
const DEFAULT_RESULTS: usize = 25;

/// One of an object's list views.
pub(crate) struct ListView<'a> {
    pub(crate) object: &'a ObjectDef,
    recent: bool,
}

impl ListView<'_> {
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
    fn columns(&self) -> Vec<(&FieldDef, bool)> {
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

    fn entry(&self, call: &Call) -> Value {
        let url = format!(
            "{}/sobjects/{}/listviews/{}",
            call.base(),
            self.object.name,
            self.id()
        );
        json!({
            "describeUrl": format!("{url}/describe"),
            "developerName": self.developer_name(),
            "id": self.id(),
            "label": self.label(),
            "resultsUrl": format!("{url}/results"),
            "soqlCompatible": true,
            "url": url,
        })
    }

    fn column_json(&self) -> Vec<Value> {
        let name = self.object.name_field().map(|f| f.name.as_str());
        self.columns()
            .into_iter()
            .map(|(f, hidden)| {
                let sorted = !self.recent && Some(f.name.as_str()) == name;
                json!({
                    "ascendingLabel": if f.ftype.is_text() { "A-Z" } else { "Low to High" },
                    "descendingLabel": if f.ftype.is_text() { "Z-A" } else { "High to Low" },
                    "fieldNameOrPath": f.name,
                    "hidden": hidden,
                    "label": f.label,
                    "searchable": f.ftype.is_text(),
                    "selectListItem": f.name,
                    "sortDirection": if sorted { json!("ascending") } else { Value::Null },
                    "sortIndex": if sorted { json!(0) } else { Value::Null },
                    "sortable": !hidden,
                    "type": f.ftype.name(),
                })
            })
            .collect()
    }
}

/// The list views of `o`.
fn views(o: &ObjectDef) -> [ListView<'_>; 2] {
    [
        ListView {
            object: o,
            recent: false,
        },
        ListView {
            object: o,
            recent: true,
        },
    ]
}

/// The list view with `id`, on any object of the org.
pub(crate) fn find<'a>(schema: &'a Schema, id: &str) -> Option<ListView<'a>> {
    let want = RecordId::parse(id)?;
    schema
        .objects()
        .filter(|o| !o.tooling)
        .flat_map(views)
        .find(|v| RecordId::parse(&v.id()) == Some(want))
}

fn view<'a>(
    app: &crate::AppState,
    schema: &'a Schema,
    name: &str,
    id: &str,
) -> Result<ListView<'a>, ApiError> {
    let o = &*object(app, name)?;
    find(schema, id)
        .filter(|v| v.object.name == o.name)
        .ok_or_else(ApiError::not_found)
}

fn list(call: &Call, o: &ObjectDef) -> Value {
    let entries: Vec<Value> = views(o).iter().map(|v| v.entry(call)).collect();
    json!({"done": true, "listviews": entries, "nextRecordsUrl": null, "size": entries.len(), "sobjectType": o.name})
}

/// `GET /sobjects/{X}/listviews`.
pub(crate) async fn listviews(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &name)?;
    Ok(json_response(StatusCode::OK, &list(&call, o)))
}

/// `GET /sobjects/{X}/listviews/{id}` (and `/listviews/recent`, the recently used ones).
pub(crate) async fn listview(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    if id == "recent" {
        let o = &*object(&app, &name)?;
        return Ok(json_response(StatusCode::OK, &list(&call, o)));
    }
    let schema = app.org.schema();
    let v = view(&app, &schema, &name, &id)?;
    Ok(json_response(StatusCode::OK, &v.entry(&call)))
}

/// `GET /sobjects/{X}/listviews/{id}/describe`.
pub(crate) async fn describe(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, name, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let schema = app.org.schema();
    let v = view(&app, &schema, &name, &id)?;
    let order = if v.recent {
        json!([{"fieldNameOrPath": "LastModifiedDate", "nullsPosition": "last", "sortDirection": "descending"}])
    } else {
        let name = v.object.name_field().map_or("Id", |f| f.name.as_str());
        json!([{"fieldNameOrPath": name, "nullsPosition": "first", "sortDirection": "ascending"},
               {"fieldNameOrPath": "Id", "nullsPosition": "first", "sortDirection": "ascending"}])
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "columns": v.column_json(),
            "id": &v.id()[..15],
            "orderBy": order,
            "query": v.query(),
            "relatedEntityId": null,
            "scope": if v.recent { "mru" } else { "everything" },
            "scopeEntityId": null,
            "sobjectType": v.object.name,
            "whereCondition": null,
        }),
    ))
}

/// A value as list view results show it: text, with datetimes as
/// `Fri Aug 01 21:15:46 GMT 2014`.
fn shown(f: &FieldDef, v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::String(s) if f.ftype == FieldType::Datetime => {
            forcebus_org::value::parse_datetime(s).map_or_else(
                || json!(s),
                |t| json!(t.format("%a %b %d %H:%M:%S GMT %Y").to_string()),
            )
        }
        Value::String(s) => json!(s),
        other => json!(other.to_string()),
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
    let v = view(&app, &schema, &name, &id)?;
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
    let records: Vec<Value> = out
        .first
        .iter()
        .skip(offset)
        .take(limit)
        .map(|row| {
            let cols: Vec<Value> = columns
                .iter()
                .map(|(f, _)| json!({"fieldNameOrPath": f.name, "value": shown(f, &row[&f.name])}))
                .collect();
            json!({"columns": cols})
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "columns": v.column_json(),
            "developerName": v.developer_name(),
            "done": offset + records.len() >= out.total_size,
            "id": &v.id()[..15],
            "label": v.label(),
            "records": records,
            "size": out.total_size,
        }),
    ))
}

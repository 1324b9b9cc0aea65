//! describeGlobal, an object's basic information, and describe (`org-rest-cdc.md` §2.3),
//! of the data API and of the Tooling API. Their bodies are [`crate::shapes::describe`]'s;
//! the entries describeGlobal lists are [`entries`]'; a field's describe is [`fields`]'.

mod entries;
pub(crate) mod fields;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use forcebus_org::access::Access;
use forcebus_org::{ObjectDef, Schema};

use crate::ctx::Call;
use crate::data::dispatch::{Reply, Run, Sub};
use crate::error::ApiError;
use crate::shapes::describe::{
    ChildRelationship, DescribeGlobalResult, DescribeGlobalSObjectResult, DescribeSObjectResult,
    RecordTypeInfo, RecordTypeUrls, SObjectBasicInfo, ScopeInfo,
};
use crate::shapes::{respond, to_value};
use entries::{change_describe, change_entry, event_describe, event_global_entry, object_urls};

pub(crate) use entries::global_entry;

fn child_relationships(schema: &Schema, o: &ObjectDef) -> Vec<ChildRelationship> {
    schema
        .child_relationships(&o.name)
        .into_iter()
        .map(|r| ChildRelationship {
            cascade_delete: r.cascade_delete,
            child_sobject: r.child,
            deprecated_and_hidden: false,
            field: r.field,
            junction_id_list_names: [],
            junction_reference_to: [],
            relationship_name: r.name,
            restricted_delete: false,
        })
        .collect()
}

/// `GET /sobjects` (describeGlobal).
pub(crate) fn global(run: &Run<'_>, _sub: &Sub) -> Reply {
    let (app, base) = (run.app, run.call.base());
    let schema = app.org.schema();
    let events = app.org.platform_events();
    let access = app.org.access(run.call.session.user_id);
    let mut sobjects: Vec<DescribeGlobalSObjectResult<'_>> = schema
        .objects()
        .filter(|o| !o.tooling && access.reads(o))
        .map(|o| as_seen(global_entry(&base, o), o, &access))
        .collect();
    // Change events: not queryable or writable, triggerable, tied to their object.
    sobjects.extend(
        schema
            .objects()
            .filter(|o| app.org.selected(o) && access.reads(o))
            .map(|o| change_entry(&base, o)),
    );
    sobjects.extend(events.iter().map(|d| event_global_entry(&base, d)));
    let body = DescribeGlobalResult {
        encoding: "UTF-8",
        max_batch_size: 200,
        sobjects,
    };
    Reply::new(StatusCode::OK, to_value(&body))
}

/// An object's describeGlobal entry as `access` may use the object: what it may not do
/// is not createable, updateable, deletable or queryable to it.
fn as_seen<'a>(
    mut entry: DescribeGlobalSObjectResult<'a>,
    o: &ObjectDef,
    access: &Access,
) -> DescribeGlobalSObjectResult<'a> {
    if access.is_everything() {
        return entry;
    }
    let perms = access.object(o);
    entry.createable &= perms.create;
    entry.updateable &= perms.edit;
    entry.deletable &= perms.delete;
    entry.queryable &= perms.read;
    entry
}

fn basic(object_describe: DescribeGlobalSObjectResult<'_>, recent_items: Vec<Value>) -> Value {
    to_value(&SObjectBasicInfo {
        object_describe,
        recent_items,
    })
}

/// `GET /sobjects/{X}`: the object's basic information.
pub(crate) fn basic_info(run: &Run<'_>, sub: &Sub) -> Reply {
    let (app, call, name) = (run.app, run.call, sub.segment(1));
    let base = call.base();
    if let Some(o) = app
        .org
        .change_event_object(name)
        .filter(|o| app.org.selected(o))
    {
        return Reply::new(StatusCode::OK, basic(change_entry(&base, &o), Vec::new()));
    }
    if let Some(def) = app.org.platform_event(name) {
        let entry = event_global_entry(&base, &def);
        return Reply::new(StatusCode::OK, basic(entry, Vec::new()));
    }
    Reply::of(crate::data::sobject::object(app, call, name).map(|o| {
        let recent = crate::data::recently_viewed::items(
            app,
            call,
            Some(&o.name),
            crate::data::recently_viewed::MAX_RECENT,
        );
        let access = app.org.access(call.session.user_id);
        basic(as_seen(global_entry(&base, &o), &o, &access), recent)
    }))
}

/// `GET /sobjects/{X}/describe`.
pub(crate) fn describe(run: &Run<'_>, sub: &Sub) -> Reply {
    let (app, call, name) = (run.app, run.call, sub.segment(1));
    let base = call.base();
    if let Some(o) = app
        .org
        .change_event_object(name)
        .filter(|o| app.org.selected(o))
    {
        let fields = entries::change_event_fields(&o);
        return Reply::new(
            StatusCode::OK,
            to_value(&change_describe(&base, &o, &fields)),
        );
    }
    if let Some(def) = app.org.platform_event(name) {
        return Reply::new(StatusCode::OK, to_value(&event_describe(&base, &def)));
    }
    Reply::of(crate::data::sobject::object(app, call, name).map(|o| {
        let types = app.org.record_types_of(&o.name);
        let infos = record_type_infos(call, &o, &types);
        let access = app.org.access(call.session.user_id);
        to_value(&object_describe(
            &app.org.schema(),
            (call, &access),
            &base,
            &o,
            infos,
        ))
    }))
}

/// An object's `recordTypeInfos`: its active record types by name (the first made is the
/// default), then Master, the default when there is no other.
pub(crate) fn record_type_infos(
    call: &Call,
    o: &ObjectDef,
    types: &[forcebus_org::Record],
) -> Vec<RecordTypeInfo> {
    let base = call.base();
    let info =
        |id: &str, name: &str, developer: &str, default: bool, master: bool| RecordTypeInfo {
            active: true,
            available: true,
            default_record_type_mapping: default,
            developer_name: developer.to_owned(),
            master,
            name: name.to_owned(),
            record_type_id: id.to_owned(),
            urls: RecordTypeUrls {
                layout: format!("{base}/sobjects/{}/describe/layouts/{id}", o.name),
            },
        };
    let default = types.first().map(|t| t.id);
    let mut sorted: Vec<&forcebus_org::Record> = types.iter().collect();
    sorted.sort_by(|a, b| a.get_str("Name").cmp(&b.get_str("Name")));
    let mut out: Vec<RecordTypeInfo> = sorted
        .into_iter()
        .map(|t| {
            info(
                &t.id.to18(),
                t.get_str("Name").unwrap_or_default(),
                t.get_str("DeveloperName").unwrap_or_default(),
                Some(t.id) == default,
                false,
            )
        })
        .collect();
    let master = crate::data::layouts::MASTER_RECORD_TYPE;
    out.push(info(master, "Master", "Master", default.is_none(), true));
    out
}

/// The full describe of an object (data or tooling), its URLs under `base`.
pub(crate) fn object_describe<'a>(
    schema: &Schema,
    (call, access): (&Call, &Access),
    base: &str,
    o: &'a ObjectDef,
    record_type_infos: Vec<RecordTypeInfo>,
) -> DescribeSObjectResult<'a> {
    let mut entry = as_seen(global_entry(base, o), o, access);
    entry.urls = object_urls(base, o, true);
    let plural = o.label_plural.to_lowercase();
    DescribeSObjectResult {
        entry,
        action_overrides: [],
        child_relationships: child_relationships(schema, o),
        compact_layoutable: true,
        default_implementation: (),
        extended_by: (),
        extends_interfaces: (),
        fields: o
            .fields
            .iter()
            .filter(|f| f.exists_at(call.major()) && access.sees(o, f))
            .map(|f| {
                let mut d = fields::describe(f);
                if !access.field(o, f).edit {
                    d.createable = false;
                    d.updateable = false;
                }
                d
            })
            .collect(),
        implemented_by: (),
        implements_interfaces: (),
        listviewable: (),
        lookup_layoutable: (),
        named_layout_infos: [],
        network_scope_field_name: (),
        record_type_infos,
        search_layoutable: true,
        sobject_describe_option: "FULL",
        supported_scopes: [
            ScopeInfo {
                label: format!("All {plural}"),
                name: "everything",
            },
            ScopeInfo {
                label: format!("My {plural}"),
                name: "mine",
            },
        ],
    }
}

/// The objects the Tooling API shows: its own, and the data objects it can query.
fn tooling_objects(schema: &Schema) -> impl Iterator<Item = &ObjectDef> {
    schema
        .objects()
        .filter(|o| crate::data::query::tooling_visible(o))
}

/// `GET /tooling/sobjects`: the Tooling API's describeGlobal.
pub(crate) async fn tooling_global(call: Call, State(app): State<crate::State>) -> Response {
    let base = format!("{}/tooling", call.base());
    let schema = app.org.schema();
    let mut objects: Vec<&ObjectDef> = tooling_objects(&schema)
        .chain(crate::tooling::describe::objects())
        .collect();
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    let body = DescribeGlobalResult {
        encoding: "UTF-8",
        max_batch_size: 200,
        sobjects: objects
            .into_iter()
            .map(|o| global_entry(&base, o))
            .collect(),
    };
    respond(StatusCode::OK, &body)
}

/// `GET /tooling/sobjects/{X}/describe`: its URLs are the Tooling API's, its record types'
/// the data API's.
pub(crate) async fn tooling_describe(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let schema = app.org.schema();
    let o = schema
        .object(&name)
        .filter(|o| crate::data::query::tooling_visible(o))
        .or_else(|| crate::tooling::describe::object_named(&name))
        .ok_or_else(ApiError::not_found)?;
    let tooling_base = format!("{}/tooling", call.base());
    let infos = record_type_infos(&call, o, &[]);
    let access = app.org.access(call.session.user_id);
    let body = object_describe(&schema, (&call, &access), &tooling_base, o, infos);
    Ok(respond(StatusCode::OK, &body))
}

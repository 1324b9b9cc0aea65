//! Page layouts (`data-apis.md` §6.4): `/sobjects/{X}/describe/layouts[/{recordTypeId}]`,
//! `describe/namedLayouts/{name}`, `describe/compactLayouts` and
//! `describe/approvalLayouts`.
//!
//! forcebus has no layout editor, so each object has one generated layout: an
//! "Information" section of its createable fields in two columns, a "System Information"
//! section of the audit fields, and a related list per child relationship. That is the
//! shape UI-building clients read (jsforce's `layouts()`, simple-salesforce's
//! `describe_layout`); which fields a real org's layout shows is that org's choice.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use forcebus_meta::{FieldDef, ObjectDef, RecordId, Schema};

use crate::ctx::Call;
use crate::data::sobject::object;
use crate::error::ApiError;
use crate::shapes::describe::RecordTypeUrls;
use crate::shapes::layout::{
    ButtonLayoutSection, CompactLayoutUrls, DescribeApprovalLayoutResult, DescribeCompactLayout,
    DescribeCompactLayoutsResult, DescribeLayout, DescribeLayoutComponent, DescribeLayoutItem,
    DescribeLayoutResult, DescribeLayoutRow, DescribeLayoutSection, PicklistForRecordType,
    QuickActionList, RecordTypeCompactLayoutMapping, RecordTypeMapping, RelatedList,
    RelatedListColumn,
};
use crate::shapes::respond;

/// The id of the Master record type, the only one.
pub(crate) const MASTER_RECORD_TYPE: &str = "012000000000000AAA";

/// Named layouts a standard org has (`UserAlt`, the user profile layout).
const NAMED: &[(&str, &str)] = &[("User", "UserAlt")];

/// A stable id of `kind` (`00h` layouts, `0Ah` compact layouts, `01B` sections) for an
/// object and an index.
fn stable_id(kind: &str, o: &ObjectDef, n: u64) -> String {
    let seed = o
        .name
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    RecordId::mint(kind, (seed % 1_000_000) * 100 + n).to18()
}

fn item(f: &FieldDef, tab: usize) -> DescribeLayoutItem<'_> {
    DescribeLayoutItem {
        editable_for_new: f.createable,
        editable_for_update: f.updateable,
        label: &f.label,
        layout_components: [DescribeLayoutComponent {
            details: crate::data::describe::fields::describe(f),
            display_lines: 1,
            tab_order: tab,
            kind: "Field",
            value: &f.name,
        }],
        placeholder: false,
        required: !f.nillable && f.createable && !f.defaulted_on_create,
    }
}

/// A section of `fields` in two columns.
fn section<'a>(
    o: &ObjectDef,
    heading: &'static str,
    fields: &[&'a FieldDef],
    n: u64,
    layout: &str,
) -> DescribeLayoutSection<'a> {
    let rows: Vec<DescribeLayoutRow<'a>> = fields
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| DescribeLayoutRow {
            layout_items: pair.iter().map(|f| item(f, i + 1)).collect(),
            num_items: pair.len(),
        })
        .collect();
    DescribeLayoutSection {
        collapsed: false,
        columns: 2,
        heading,
        rows: rows.len(),
        layout_rows: rows,
        layout_section_id: stable_id("01B", o, n),
        parent_layout_id: layout.to_owned(),
        tab_order: "TopToBottom",
        use_collapsible_section: false,
        use_heading: true,
    }
}

const AUDIT: &[&str] = &["CreatedById", "LastModifiedById"];

/// The related list of each child relationship of `o` that has a name.
fn related_lists<'a>(schema: &'a Schema, o: &ObjectDef) -> Vec<RelatedList<'a>> {
    schema
        .child_relationships(&o.name)
        .into_iter()
        .filter_map(|r| {
            let name = r.name?;
            let child = schema.object(&r.child)?;
            let column = child.name_field().map_or("Id", |f| f.name.as_str());
            Some(RelatedList {
                access_level_required_for_create: (),
                buttons: [],
                columns: [RelatedListColumn {
                    field: format!("{}.{column}", child.name),
                    field_api_name: column,
                    format: (),
                    label: child.field(column).map_or(column, |f| f.label.as_str()),
                    lookup_id: (),
                    name: column,
                    sortable: true,
                }],
                custom: child.custom,
                field: r.field,
                label: &child.label_plural,
                limit_rows: 5,
                name,
                sobject: &child.name,
                sort: [],
            })
        })
        .collect()
}

/// The one layout of `o`.
fn layout<'a>(schema: &'a Schema, o: &'a ObjectDef) -> DescribeLayout<'a> {
    let id = stable_id("00h", o, 0);
    let main: Vec<&FieldDef> = o.fields.iter().filter(|f| f.createable).collect();
    let audit: Vec<&FieldDef> = AUDIT.iter().filter_map(|n| o.field(n)).collect();
    DescribeLayout {
        button_layout_section: ButtonLayoutSection { detail_buttons: [] },
        detail_layout_sections: [
            section(o, "Information", &main, 1, &id),
            section(o, "System Information", &audit, 2, &id),
        ],
        edit_layout_sections: [section(o, "Information", &main, 3, &id)],
        feed_view: (),
        highlights_panel_layout_section: (),
        id,
        multirow_edit_layout_sections: [],
        offline_links: [],
        quick_action_list: QuickActionList {
            quick_action_list_items: [],
        },
        related_content: (),
        related_lists: related_lists(schema, o),
        save_options: [],
    }
}

/// The mapping of one record type (`None`: Master) to the object's layout, with every
/// picklist's values.
fn record_type_mapping<'a>(
    call: &Call,
    o: &'a ObjectDef,
    record_type: Option<&forcebus_org::Record>,
    default: bool,
) -> RecordTypeMapping<'a> {
    let picklists = o
        .fields
        .iter()
        .filter(|f| !f.picklist.is_empty())
        .map(|f| PicklistForRecordType {
            picklist_name: &f.name,
            picklist_values: crate::data::describe::fields::picklist_values(f),
        })
        .collect();
    let (id, name, developer) = match record_type {
        Some(t) => (
            t.id.to18(),
            t.get_str("Name").unwrap_or_default().to_owned(),
            t.get_str("DeveloperName").unwrap_or_default().to_owned(),
        ),
        None => (
            MASTER_RECORD_TYPE.to_owned(),
            "Master".to_owned(),
            "Master".to_owned(),
        ),
    };
    RecordTypeMapping {
        available: true,
        default_record_type_mapping: default,
        developer_name: developer,
        layout_id: stable_id("00h", o, 0),
        master: record_type.is_none(),
        name,
        picklists_for_record_type: picklists,
        urls: RecordTypeUrls {
            layout: format!("{}/sobjects/{}/describe/layouts/{id}", call.base(), o.name),
        },
        record_type_id: id,
    }
}

/// `GET /sobjects/{X}/describe/layouts`.
pub(crate) async fn layouts(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &call, &name)?;
    Ok(respond_layouts(&app, &call, o))
}

/// The layouts of `o` and their record type mappings.
fn respond_layouts(app: &crate::AppState, call: &Call, o: &ObjectDef) -> Response {
    let types = app.org.record_types_of(&o.name);
    let mut mappings: Vec<RecordTypeMapping<'_>> = types
        .iter()
        .enumerate()
        .map(|(i, t)| record_type_mapping(call, o, Some(t), i == 0))
        .collect();
    mappings.push(record_type_mapping(call, o, None, types.is_empty()));
    let schema = app.org.schema();
    let body = DescribeLayoutResult {
        layouts: [layout(&schema, o)],
        record_type_mappings: mappings,
        record_type_selector_required: [false],
    };
    respond(StatusCode::OK, &body)
}

/// `GET /sobjects/{X}/describe/layouts/{recordTypeId}`: the record type's layout.
pub(crate) async fn layout_for_record_type(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, record_type)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &call, &name)?;
    let Some(asked) = RecordId::parse(&record_type) else {
        return Err(ApiError::not_found());
    };
    let known = RecordId::parse(MASTER_RECORD_TYPE) == Some(asked)
        || app
            .org
            .record_types_of(&o.name)
            .iter()
            .any(|t| t.id == asked);
    if !known {
        return Err(ApiError::not_found());
    }
    Ok(respond(StatusCode::OK, &layout(&app.org.schema(), o)))
}

/// `GET /sobjects/{X}/describe/namedLayouts/{name}`.
pub(crate) async fn named(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name, layout_name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &call, &name)?;
    if !NAMED.contains(&(o.name.as_str(), layout_name.as_str())) {
        return Err(ApiError::not_found());
    }
    Ok(respond_layouts(&app, &call, o))
}

/// `GET /sobjects/{X}/describe/compactLayouts`: the system default compact layout (the
/// name field and up to three more).
pub(crate) async fn compact(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let o = &*object(&app, &call, &name)?;
    let fields: Vec<DescribeLayoutItem<'_>> = o
        .name_field()
        .into_iter()
        .chain(
            o.fields
                .iter()
                .filter(|f| f.createable && !f.name_field && f.ftype.is_text())
                .take(3),
        )
        .enumerate()
        .map(|(i, f)| item(f, i + 1))
        .collect();
    let base = call.base();
    let body = DescribeCompactLayoutsResult {
        compact_layouts: [DescribeCompactLayout {
            actions: [],
            field_items: fields,
            id: (),
            image_items: [],
            label: "System Default",
            name: "SYSTEM",
            object_type: &o.name,
        }],
        default_compact_layout_id: (),
        record_type_compact_layout_mappings: [RecordTypeCompactLayoutMapping {
            available: true,
            compact_layout_id: (),
            compact_layout_name: "SYSTEM",
            record_type_id: MASTER_RECORD_TYPE,
            record_type_name: "Master",
            urls: CompactLayoutUrls {
                compact_layout: format!(
                    "{base}/sobjects/{}/describe/compactLayouts/{MASTER_RECORD_TYPE}",
                    o.name
                ),
            },
        }],
    };
    Ok(respond(StatusCode::OK, &body))
}

/// `GET /sobjects/{X}/describe/approvalLayouts`: no approval process, so none.
pub(crate) async fn approval(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    object(&app, &call, &name)?;
    let body = DescribeApprovalLayoutResult {
        approval_layouts: [],
    };
    Ok(respond(StatusCode::OK, &body))
}

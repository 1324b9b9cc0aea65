//! describeGlobal (`DescribeGlobalResult`, its entries `DescribeGlobalSObjectResult`), an
//! object's basic information (`SObjectBasicInfo`) and describe
//! (`DescribeSObjectResult`, with its `ChildRelationship`s, `RecordTypeInfo`s and
//! scopes), and the describe of a change event or platform event. Every key jsforce's
//! types name is present; what forcebus does not model is null (a `()` here) or false.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

use super::field::Field;

/// `GET /sobjects`: every object the API serves.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeGlobalResult<'a> {
    /// `UTF-8`.
    pub(crate) encoding: &'static str,
    /// Most records a collection call takes: 200.
    pub(crate) max_batch_size: u32,
    pub(crate) sobjects: Vec<DescribeGlobalSObjectResult<'a>>,
}

/// An object's describeGlobal entry, which its describe begins with.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeGlobalSObjectResult<'a> {
    pub(crate) activateable: bool,
    pub(crate) associate_entity_type: Option<&'a str>,
    pub(crate) associate_parent_entity: Option<&'a str>,
    pub(crate) createable: bool,
    pub(crate) custom: bool,
    pub(crate) custom_setting: bool,
    pub(crate) deep_cloneable: bool,
    pub(crate) deletable: bool,
    pub(crate) deprecated_and_hidden: bool,
    pub(crate) feed_enabled: bool,
    pub(crate) has_subtypes: bool,
    pub(crate) id_enabled: bool,
    pub(crate) is_interface: bool,
    pub(crate) is_subtype: bool,
    pub(crate) key_prefix: Option<&'a str>,
    pub(crate) label: Cow<'a, str>,
    pub(crate) label_plural: Cow<'a, str>,
    pub(crate) layoutable: bool,
    pub(crate) mergeable: bool,
    pub(crate) mru_enabled: bool,
    pub(crate) name: Cow<'a, str>,
    pub(crate) queryable: bool,
    pub(crate) replicateable: bool,
    pub(crate) retrieveable: bool,
    pub(crate) searchable: bool,
    pub(crate) triggerable: bool,
    pub(crate) undeletable: bool,
    pub(crate) updateable: bool,
    pub(crate) urls: Urls,
}

/// The URLs an object's entry lists: a record object's, or an event's.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Urls {
    Object(ObjectUrls),
    Event(EventUrls),
}

/// A record object's URLs; its describe lists more than its describeGlobal entry.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectUrls {
    pub(crate) row_template: String,
    pub(crate) default_values: String,
    pub(crate) describe: String,
    pub(crate) sobject: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(crate) described: Option<DescribedUrls>,
}

/// The URLs only an object's describe lists (the UI's templates: none here).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribedUrls {
    pub(crate) compact_layouts: String,
    pub(crate) approval_layouts: String,
    pub(crate) ui_detail_template: (),
    pub(crate) ui_edit_template: (),
    pub(crate) listviews: String,
    pub(crate) layouts: String,
    pub(crate) quick_actions: String,
    pub(crate) ui_new_record: (),
}

/// A change event's or platform event's URLs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventUrls {
    pub(crate) event_schema: String,
    pub(crate) sobject: String,
    pub(crate) describe: String,
}

/// `GET /sobjects/{X}`: the object's entry and the records the user viewed of it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SObjectBasicInfo<'a> {
    pub(crate) object_describe: DescribeGlobalSObjectResult<'a>,
    pub(crate) recent_items: Vec<Value>,
}

/// `GET /sobjects/{X}/describe` of a record object: its entry (with every URL), then the
/// rest of its describe.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeSObjectResult<'a> {
    #[serde(flatten)]
    pub(crate) entry: DescribeGlobalSObjectResult<'a>,
    pub(crate) action_overrides: [(); 0],
    pub(crate) child_relationships: Vec<ChildRelationship>,
    pub(crate) compact_layoutable: bool,
    pub(crate) default_implementation: (),
    pub(crate) extended_by: (),
    pub(crate) extends_interfaces: (),
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) implemented_by: (),
    pub(crate) implements_interfaces: (),
    pub(crate) listviewable: (),
    pub(crate) lookup_layoutable: (),
    pub(crate) named_layout_infos: [(); 0],
    pub(crate) network_scope_field_name: (),
    pub(crate) record_type_infos: Vec<RecordTypeInfo>,
    pub(crate) search_layoutable: bool,
    /// `FULL`.
    pub(crate) sobject_describe_option: &'static str,
    pub(crate) supported_scopes: [ScopeInfo; 2],
}

/// A relationship of an object's children to it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChildRelationship {
    pub(crate) cascade_delete: bool,
    #[serde(rename = "childSObject")]
    pub(crate) child_sobject: String,
    pub(crate) deprecated_and_hidden: bool,
    pub(crate) field: String,
    pub(crate) junction_id_list_names: [(); 0],
    pub(crate) junction_reference_to: [(); 0],
    pub(crate) relationship_name: Option<String>,
    pub(crate) restricted_delete: bool,
}

/// One of an object's record types (Master among them).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordTypeInfo {
    pub(crate) active: bool,
    pub(crate) available: bool,
    pub(crate) default_record_type_mapping: bool,
    pub(crate) developer_name: String,
    pub(crate) master: bool,
    pub(crate) name: String,
    pub(crate) record_type_id: String,
    pub(crate) urls: RecordTypeUrls,
}

/// Where a record type's layout is.
#[derive(Debug, Serialize)]
pub(crate) struct RecordTypeUrls {
    pub(crate) layout: String,
}

/// A scope a list or search may take (`everything`, `mine`).
#[derive(Debug, Serialize)]
pub(crate) struct ScopeInfo {
    pub(crate) label: String,
    pub(crate) name: &'static str,
}

/// The describe of a change event or a platform event: its entry, the fields its events
/// carry, and none of a record object's relationships, record types or scopes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventDescribe<'a> {
    #[serde(flatten)]
    pub(crate) entry: DescribeGlobalSObjectResult<'a>,
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) child_relationships: [(); 0],
    pub(crate) record_type_infos: [(); 0],
    pub(crate) action_overrides: [(); 0],
    pub(crate) named_layout_infos: [(); 0],
    pub(crate) supported_scopes: [(); 0],
}

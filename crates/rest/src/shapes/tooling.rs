//! The Tooling API's objects as it shows them: the schema definitions a query reads
//! (`EntityDefinition`, `FieldDefinition`, `CustomObject`, `CustomField` rows, built from
//! the live schema), a schema object read by id, and the event settings read by id
//! (`PlatformEventChannel`, `PlatformEventChannelMember`, `ManagedEventSubscription`).
//! Their fields are upper camel case, their `Metadata` lower camel case.

use serde::Serialize;
use serde_json::Value;

use forcebus_org::FieldRef;

use super::record::Attributes;

/// An `EntityDefinition` row: an object as the schema describes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EntityDefinition<'a> {
    /// `000000000000000AAA`: a definition's id says nothing; its `DurableId` does.
    pub(crate) id: &'static str,
    pub(crate) durable_id: &'a str,
    pub(crate) qualified_api_name: &'a str,
    pub(crate) developer_name: &'a str,
    pub(crate) namespace_prefix: (),
    pub(crate) label: &'a str,
    pub(crate) plural_label: &'a str,
    pub(crate) master_label: &'a str,
    pub(crate) key_prefix: &'a str,
    pub(crate) is_customizable: bool,
    pub(crate) is_queryable: bool,
    pub(crate) is_custom_setting: bool,
    pub(crate) is_apex_triggerable: bool,
    pub(crate) is_deprecated_and_hidden: bool,
    pub(crate) is_feed_enabled: bool,
    pub(crate) internal_sharing_model: &'static str,
    pub(crate) external_sharing_model: &'static str,
    /// `Deployed` for a custom object, null for a standard one.
    pub(crate) deployment_status: Option<&'static str>,
    /// `System`, or `<local>` for a custom object.
    pub(crate) publisher_id: &'static str,
}

/// A `FieldDefinition` row: a field as the schema describes it, with its object's
/// definition.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct FieldDefinition<'a> {
    pub(crate) id: &'static str,
    pub(crate) durable_id: String,
    pub(crate) qualified_api_name: &'a str,
    pub(crate) developer_name: &'a str,
    pub(crate) namespace_prefix: (),
    pub(crate) entity_definition_id: &'a str,
    pub(crate) entity_definition: &'a EntityDefinition<'a>,
    pub(crate) label: &'a str,
    pub(crate) master_label: &'a str,
    /// The UI's name for its type (`Text(80)`, `Lookup(User)`).
    pub(crate) data_type: String,
    pub(crate) value_type_id: &'a str,
    pub(crate) length: u32,
    pub(crate) precision: u32,
    pub(crate) scale: u32,
    pub(crate) digits: u32,
    pub(crate) is_nillable: bool,
    pub(crate) is_indexed: bool,
    pub(crate) is_calculated: bool,
    pub(crate) is_field_history_tracked: bool,
    pub(crate) relationship_name: Option<&'a str>,
    pub(crate) reference_to: Option<ReferenceTo<'a>>,
    pub(crate) publisher_id: &'static str,
    pub(crate) last_modified_date: (),
}

/// The objects a reference field points at.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReferenceTo<'a> {
    pub(crate) reference_to: &'a [String],
}

/// A `CustomObject` row.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomObject<'a> {
    pub(crate) id: String,
    pub(crate) developer_name: &'a str,
    pub(crate) namespace_prefix: (),
    pub(crate) external_name: (),
    pub(crate) sharing_model: &'static str,
    pub(crate) external_sharing_model: &'static str,
    pub(crate) manageable_state: &'static str,
    pub(crate) full_name: &'a str,
    pub(crate) description: (),
    pub(crate) metadata: CustomObjectLabels<'a>,
}

/// A custom object's labels, as a `CustomObject` row's `Metadata`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomObjectLabels<'a> {
    pub(crate) label: &'a str,
    pub(crate) plural_label: &'a str,
}

/// A `CustomField` row.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomField<'a> {
    pub(crate) id: String,
    pub(crate) developer_name: &'a str,
    pub(crate) table_enum_or_id: &'a str,
    pub(crate) entity_definition_id: &'a str,
    pub(crate) namespace_prefix: (),
    pub(crate) manageable_state: &'static str,
    pub(crate) full_name: String,
    /// A text field's length; null for the others.
    pub(crate) length: Option<u32>,
    pub(crate) description: (),
    pub(crate) inline_help_text: (),
    pub(crate) metadata: Value,
}

/// Just the type of a related row a query reaches (`EntityDefinition.QualifiedApiName`).
#[derive(Debug, Serialize)]
pub(crate) struct TypeOnly<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
}

/// `GET /tooling/sobjects/CustomField/{id}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomFieldRecord<'a> {
    #[serde(rename = "attributes")]
    pub(crate) attributes: Attributes<'a>,
    pub(crate) id: String,
    pub(crate) developer_name: &'a str,
    pub(crate) table_enum_or_id: String,
    pub(crate) namespace_prefix: (),
    pub(crate) manageable_state: &'static str,
    pub(crate) full_name: String,
    pub(crate) length: Option<u32>,
    pub(crate) description: (),
    pub(crate) inline_help_text: (),
    pub(crate) metadata: Value,
}

/// `GET /tooling/sobjects/CustomObject/{id}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CustomObjectRecord<'a> {
    #[serde(rename = "attributes")]
    pub(crate) attributes: Attributes<'a>,
    pub(crate) id: String,
    pub(crate) developer_name: &'a str,
    pub(crate) namespace_prefix: (),
    pub(crate) manageable_state: &'static str,
    pub(crate) sharing_model: &'static str,
    pub(crate) external_sharing_model: &'static str,
    pub(crate) full_name: &'a str,
    pub(crate) description: (),
    pub(crate) metadata: CustomObjectMetadata,
}

/// A custom object's declaration, as its `CustomObject`'s `Metadata`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomObjectMetadata {
    pub(crate) label: String,
    pub(crate) plural_label: String,
    pub(crate) deployment_status: &'static str,
    pub(crate) sharing_model: &'static str,
    pub(crate) name_field: NameField,
}

/// A custom object's name field.
#[derive(Debug, Serialize)]
pub(crate) struct NameField {
    pub(crate) label: String,
    /// `Text`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
}

/// `GET /tooling/sobjects/ManagedEventSubscription/{id}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ManagedEventSubscription<'a> {
    #[serde(rename = "attributes")]
    pub(crate) attributes: Attributes<'a>,
    pub(crate) id: String,
    pub(crate) developer_name: FieldRef<'a>,
    pub(crate) full_name: FieldRef<'a>,
    pub(crate) metadata: ManagedSubscriptionMetadata<'a>,
}

/// A managed subscription's `Metadata`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManagedSubscriptionMetadata<'a> {
    pub(crate) label: FieldRef<'a>,
    pub(crate) topic_name: FieldRef<'a>,
    pub(crate) default_replay: FieldRef<'a>,
    pub(crate) error_recovery_replay: FieldRef<'a>,
    pub(crate) state: FieldRef<'a>,
}

/// `GET /tooling/sobjects/PlatformEventChannel/{id}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PlatformEventChannel<'a> {
    #[serde(rename = "attributes")]
    pub(crate) attributes: Attributes<'a>,
    pub(crate) id: String,
    pub(crate) developer_name: &'a str,
    pub(crate) master_label: FieldRef<'a>,
    pub(crate) channel_type: FieldRef<'a>,
    pub(crate) full_name: String,
    pub(crate) metadata: Value,
}

/// `GET /tooling/sobjects/PlatformEventChannelMember/{id}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PlatformEventChannelMember<'a> {
    #[serde(rename = "attributes")]
    pub(crate) attributes: Attributes<'a>,
    pub(crate) id: String,
    pub(crate) developer_name: FieldRef<'a>,
    pub(crate) full_name: FieldRef<'a>,
    pub(crate) event_channel: FieldRef<'a>,
    pub(crate) selected_entity: FieldRef<'a>,
    pub(crate) filter_expression: FieldRef<'a>,
    pub(crate) metadata: Value,
}

/// A `ValidationRule` row (query results, `GET /tooling/sobjects/ValidationRule/{id}`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ValidationRuleRow<'a> {
    pub(crate) id: String,
    pub(crate) validation_name: &'a str,
    pub(crate) active: bool,
    pub(crate) description: Option<&'a str>,
    pub(crate) entity_definition_id: &'a str,
    pub(crate) error_display_field: Option<&'a str>,
    pub(crate) error_message: &'a str,
    pub(crate) full_name: String,
    pub(crate) namespace_prefix: (),
    pub(crate) manageable_state: &'static str,
    pub(crate) metadata: Value,
}

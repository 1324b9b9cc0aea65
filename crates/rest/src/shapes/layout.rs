//! Page layouts as describe shows them: `describe/layouts` (`DescribeLayoutResult`: the
//! `DescribeLayout`s and each record type's `RecordTypeMapping`), a layout's sections,
//! rows, items and components, its related lists, `describe/compactLayouts`
//! (`DescribeCompactLayoutsResult`) and `describe/approvalLayouts`.

use serde::Serialize;

use super::describe::RecordTypeUrls;
use super::field::{Field, PicklistEntry};

/// `GET /sobjects/{X}/describe/layouts` (and a named layout).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeLayoutResult<'a> {
    pub(crate) layouts: [DescribeLayout<'a>; 1],
    pub(crate) record_type_mappings: Vec<RecordTypeMapping<'a>>,
    pub(crate) record_type_selector_required: [bool; 1],
}

/// A page layout: its detail and edit sections, its related lists.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeLayout<'a> {
    pub(crate) button_layout_section: ButtonLayoutSection,
    pub(crate) detail_layout_sections: [DescribeLayoutSection<'a>; 2],
    pub(crate) edit_layout_sections: [DescribeLayoutSection<'a>; 1],
    pub(crate) feed_view: (),
    pub(crate) highlights_panel_layout_section: (),
    pub(crate) id: String,
    pub(crate) multirow_edit_layout_sections: [(); 0],
    pub(crate) offline_links: [(); 0],
    pub(crate) quick_action_list: QuickActionList,
    pub(crate) related_content: (),
    pub(crate) related_lists: Vec<RelatedList<'a>>,
    pub(crate) save_options: [(); 0],
}

/// A layout's buttons: none.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ButtonLayoutSection {
    pub(crate) detail_buttons: [(); 0],
}

/// A layout's quick actions: none.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QuickActionList {
    pub(crate) quick_action_list_items: [(); 0],
}

/// A section of a layout, its fields in rows of two columns.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeLayoutSection<'a> {
    pub(crate) collapsed: bool,
    pub(crate) columns: u32,
    pub(crate) heading: &'static str,
    pub(crate) layout_rows: Vec<DescribeLayoutRow<'a>>,
    pub(crate) layout_section_id: String,
    pub(crate) parent_layout_id: String,
    pub(crate) rows: usize,
    /// `TopToBottom`.
    pub(crate) tab_order: &'static str,
    pub(crate) use_collapsible_section: bool,
    pub(crate) use_heading: bool,
}

/// A row of a layout section.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeLayoutRow<'a> {
    pub(crate) layout_items: Vec<DescribeLayoutItem<'a>>,
    pub(crate) num_items: usize,
}

/// One field's place in a layout (and in a compact layout).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeLayoutItem<'a> {
    pub(crate) editable_for_new: bool,
    pub(crate) editable_for_update: bool,
    pub(crate) label: &'a str,
    pub(crate) layout_components: [DescribeLayoutComponent<'a>; 1],
    pub(crate) placeholder: bool,
    pub(crate) required: bool,
}

/// What a layout item shows: a field, with its describe.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeLayoutComponent<'a> {
    pub(crate) details: Field<'a>,
    pub(crate) display_lines: u32,
    pub(crate) tab_order: usize,
    /// `Field`.
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) value: &'a str,
}

/// A related list of a layout: the records of one child relationship.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RelatedList<'a> {
    pub(crate) access_level_required_for_create: (),
    pub(crate) buttons: [(); 0],
    pub(crate) columns: [RelatedListColumn<'a>; 1],
    pub(crate) custom: bool,
    pub(crate) field: String,
    pub(crate) label: &'a str,
    pub(crate) limit_rows: u32,
    pub(crate) name: String,
    pub(crate) sobject: &'a str,
    pub(crate) sort: [(); 0],
}

/// A column of a related list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RelatedListColumn<'a> {
    pub(crate) field: String,
    pub(crate) field_api_name: &'a str,
    pub(crate) format: (),
    pub(crate) label: &'a str,
    pub(crate) lookup_id: (),
    pub(crate) name: &'a str,
    pub(crate) sortable: bool,
}

/// Which layout a record type uses, with every picklist's values for it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordTypeMapping<'a> {
    pub(crate) available: bool,
    pub(crate) default_record_type_mapping: bool,
    pub(crate) developer_name: String,
    pub(crate) layout_id: String,
    pub(crate) master: bool,
    pub(crate) name: String,
    pub(crate) picklists_for_record_type: Vec<PicklistForRecordType<'a>>,
    pub(crate) record_type_id: String,
    pub(crate) urls: RecordTypeUrls,
}

/// A picklist's values for a record type.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PicklistForRecordType<'a> {
    pub(crate) picklist_name: &'a str,
    pub(crate) picklist_values: Vec<PicklistEntry<'a>>,
}

/// `GET /sobjects/{X}/describe/compactLayouts`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeCompactLayoutsResult<'a> {
    pub(crate) compact_layouts: [DescribeCompactLayout<'a>; 1],
    pub(crate) default_compact_layout_id: (),
    pub(crate) record_type_compact_layout_mappings: [RecordTypeCompactLayoutMapping; 1],
}

/// A compact layout: the fields a record's highlights show.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeCompactLayout<'a> {
    pub(crate) actions: [(); 0],
    pub(crate) field_items: Vec<DescribeLayoutItem<'a>>,
    pub(crate) id: (),
    pub(crate) image_items: [(); 0],
    pub(crate) label: &'static str,
    pub(crate) name: &'static str,
    pub(crate) object_type: &'a str,
}

/// Which compact layout a record type uses.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecordTypeCompactLayoutMapping {
    pub(crate) available: bool,
    pub(crate) compact_layout_id: (),
    pub(crate) compact_layout_name: &'static str,
    pub(crate) record_type_id: &'static str,
    pub(crate) record_type_name: &'static str,
    pub(crate) urls: CompactLayoutUrls,
}

/// Where a record type's compact layout is.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompactLayoutUrls {
    pub(crate) compact_layout: String,
}

/// `GET /sobjects/{X}/describe/approvalLayouts`: none, with no approval process.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeApprovalLayoutResult {
    pub(crate) approval_layouts: [(); 0],
}

//! List views: an object's list (`ListViews`), one view (`ListView`), its describe
//! (`ListViewDescribe`: columns, order, query) and its results (`ListViewResults`: each
//! record's columns as text).

use serde::Serialize;

/// `GET /sobjects/{X}/listviews` (and `/listviews/recent`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListViews<'a> {
    pub(crate) done: bool,
    pub(crate) listviews: Vec<ListView>,
    pub(crate) next_records_url: (),
    pub(crate) size: usize,
    pub(crate) sobject_type: &'a str,
}

/// One list view: its names and where its describe and results are.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListView {
    pub(crate) describe_url: String,
    pub(crate) developer_name: String,
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) results_url: String,
    pub(crate) soql_compatible: bool,
    pub(crate) url: String,
}

/// `GET /sobjects/{X}/listviews/{id}/describe`: the view's columns, order and query.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListViewDescribe<'a> {
    pub(crate) columns: Vec<ListViewColumn<'a>>,
    /// The view's 15-character id.
    pub(crate) id: String,
    pub(crate) order_by: Vec<ListViewOrderBy<'a>>,
    pub(crate) query: String,
    pub(crate) related_entity_id: (),
    /// `everything`, or `mru` for the recently viewed.
    pub(crate) scope: &'static str,
    pub(crate) scope_entity_id: (),
    pub(crate) sobject_type: &'a str,
    pub(crate) where_condition: (),
}

/// A column of a list view, shown or hidden.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListViewColumn<'a> {
    pub(crate) ascending_label: &'static str,
    pub(crate) descending_label: &'static str,
    pub(crate) field_name_or_path: &'a str,
    pub(crate) hidden: bool,
    pub(crate) label: &'a str,
    pub(crate) searchable: bool,
    pub(crate) select_list_item: &'a str,
    /// `ascending` on the column the view sorts by; null on the others.
    pub(crate) sort_direction: Option<&'static str>,
    pub(crate) sort_index: Option<u32>,
    pub(crate) sortable: bool,
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
}

/// One key of a list view's order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListViewOrderBy<'a> {
    pub(crate) field_name_or_path: &'a str,
    /// `first` or `last`.
    pub(crate) nulls_position: &'static str,
    /// `ascending` or `descending`.
    pub(crate) sort_direction: &'static str,
}

/// `GET /sobjects/{X}/listviews/{id}/results`: a page of the view's records.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListViewResults<'a> {
    pub(crate) columns: Vec<ListViewColumn<'a>>,
    pub(crate) developer_name: String,
    pub(crate) done: bool,
    /// The view's 15-character id.
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) records: Vec<ListViewRecord<'a>>,
    /// How many records the view holds, on every page.
    pub(crate) size: usize,
}

/// A record of a list view's results: its columns' values.
#[derive(Debug, Serialize)]
pub(crate) struct ListViewRecord<'a> {
    pub(crate) columns: Vec<ListViewRecordColumn<'a>>,
}

/// A column's value in a record of a list view's results, as text (null when empty).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListViewRecordColumn<'a> {
    pub(crate) field_name_or_path: &'a str,
    pub(crate) value: Option<String>,
}

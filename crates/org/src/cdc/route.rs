//! Which custom channels a change event goes to (`org-rest-cdc.md` §4.8): the channels'
//! members as a transaction sees them, the members whose filter a change passes with
//! their enriched values, and the channels a gap event (no record to filter) reaches.

use serde_json::{Map, Value};

use forcebus_events::change::{ChangeEvent, entity_name_of};

use super::{Change, TxnInfo, filter};
use crate::record::Record;

/// A member of a custom channel, as the transaction sees it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) channel: String,
    pub(crate) entity: String,
    pub(crate) filter: Option<String>,
    pub(crate) enriched: Vec<String>,
}

impl Member {
    /// Every member of a custom channel in `state`.
    pub(crate) fn all(state: &crate::state::State) -> Vec<Self> {
        state
            .of("PlatformEventChannelMember")
            .filter_map(Self::from_record)
            .collect()
    }

    pub(crate) fn from_record(r: &Record) -> Option<Self> {
        let channel = r.get_str("EventChannel")?.to_owned();
        (!r.is_deleted && channel != "ChangeEvents").then(|| Self {
            channel,
            entity: r.get_str("SelectedEntity").unwrap_or_default().to_owned(),
            filter: r
                .get_str("FilterExpression")
                .filter(|f| !f.trim().is_empty())
                .map(str::to_owned),
            enriched: {
                let mut names: Vec<String> = r
                    .get_str("EnrichedFields")
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or_default();
                // Fields a filter names are enriched too (`org-rest-cdc.md` §4.8).
                for f in r
                    .get_str("FilterExpression")
                    .map(filter::referenced_fields)
                    .unwrap_or_default()
                {
                    if !names.iter().any(|n| n.eq_ignore_ascii_case(&f)) {
                        names.push(f);
                    }
                }
                names
            },
        })
    }
}

/// The custom channels a gap event of `entity` goes to: those whose member of the entity
/// has no filter (a filter needs the record's fields, which a gap event does not carry).
pub(super) fn unfiltered_channels(txn: &TxnInfo<'_>, entity: &str) -> Vec<String> {
    let mut channels: Vec<String> = Vec::new();
    for m in txn
        .members
        .iter()
        .filter(|m| m.entity == entity && m.filter.is_none())
    {
        if !channels.contains(&m.channel) {
            channels.push(m.channel.clone());
        }
    }
    channels
}

/// Records which custom channels an event passes (their member filters, evaluated on the
/// record after the change) and, for updates and deletes, their enriched fields' values.
pub(super) fn route(event: &mut ChangeEvent, c: &Change<'_>, txn: &TxnInfo<'_>) {
    if txn.members.is_empty() {
        return;
    }
    let entity = entity_name_of(c.object);
    let Some(record) = c.after.or(c.before) else {
        return;
    };
    for m in txn.members.iter().filter(|m| m.entity == entity) {
        let pass = m.filter.as_deref().is_none_or(|f| {
            filter::matches(txn.schema, c.object, record, &event.header, f, txn.now)
        });
        if !pass {
            continue;
        }
        if !event.channels.contains(&m.channel) {
            event.channels.push(m.channel.clone());
        }
        if matches!(event.header.change_type.as_str(), "UPDATE" | "DELETE") {
            let values: Map<String, Value> = m
                .enriched
                .iter()
                .filter_map(|name| {
                    let f = c.object.field(name)?;
                    let v = record.rest_value(c.object, &f.name);
                    (!v.is_null()).then(|| (f.name.clone(), v))
                })
                .collect();
            if !values.is_empty() {
                event
                    .enriched
                    .insert(m.channel.clone(), Value::Object(values));
            }
        }
    }
}

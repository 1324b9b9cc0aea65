//! Change Data Capture: the change events of a transaction, built from each touched
//! record's state before and after it (`org-rest-cdc.md` §4).
//!
//! One event per record change (repeated changes in a transaction are already one end
//! state); identical updates, and deletes, of several records of one entity merge into one
//! event listing every id; events past the overflow threshold become one `GAP_OVERFLOW` per
//! entity; an event too large becomes a header-only `GAP_*` event. Events are stored as a
//! neutral document ([`ChangeEvent`]); each protocol renders it through `forcebus-events`.
//!
//! - [`describe`]: what one record change amounts to (change type, body, field sets).
//! - [`route`]: which custom channels an event goes to, with their enriched values;
//!   [`filter`]: their members' filters; [`textdiff`]: diffs of long text.

use std::collections::HashMap;

use serde_json::Map;

use forcebus_events::CLASS_EVENTS;
use forcebus_events::change::{ChangeEvent, Header, OVERFLOW_ID, entity_name, entity_name_of};
use forcebus_meta::{ObjectDef, Schema};

use crate::record::Record;

mod describe;
pub mod filter;
mod route;
pub mod textdiff;

use describe::{Created, Described, WithBody, describe};
pub(crate) use route::Member;
use route::{route, unfiltered_channels};

/// The bytes a scratch buffer for serialising a transaction's events or records starts
/// with: a typical event or record body fits.
pub(crate) const SCRATCH: usize = 1024;

/// The most events a transaction's list is made with room for.
const EVENTS_RESERVED: usize = 256;

/// CDC settings.
#[derive(Debug, Clone)]
pub struct CdcConfig {
    /// Merge identical updates and deletes of several records into one event.
    pub merge: bool,
    /// Changes in one transaction past which events become `GAP_OVERFLOW`.
    pub overflow_threshold: usize,
    /// Largest event; larger ones become header-only `GAP_*` events.
    pub max_event_bytes: usize,
    /// Objects that publish change events; every object when `None` (unlike Salesforce,
    /// where nothing is selected until an admin selects it).
    pub entities: Option<Vec<String>>,
}

impl Default for CdcConfig {
    fn default() -> Self {
        Self {
            merge: true,
            overflow_threshold: 100_000,
            max_event_bytes: 1 << 20,
            entities: None,
        }
    }
}

/// What the transaction is, for every event it produces.
pub(crate) struct TxnInfo<'a> {
    pub(crate) schema: &'a Schema,
    pub(crate) members: Vec<Member>,
    pub(crate) now: chrono::DateTime<chrono::Utc>,
    pub(crate) transaction_key: &'a str,
    pub(crate) change_origin: &'a str,
    pub(crate) commit_timestamp: i64,
    pub(crate) commit_number: i64,
    pub(crate) commit_user: String,
}

/// One record's change.
pub(crate) struct Change<'a> {
    pub(crate) object: &'a ObjectDef,
    pub(crate) before: Option<&'a Record>,
    pub(crate) after: Option<&'a Record>,
}

impl TxnInfo<'_> {
    /// A header of this transaction (sequence number and field sets still to fill in).
    fn header(&self, entity: &str, change_type: String, record_ids: Vec<String>) -> Header {
        Header {
            entity_name: entity.to_owned(),
            record_ids,
            change_type,
            change_origin: self.change_origin.to_owned(),
            transaction_key: self.transaction_key.to_owned(),
            sequence_number: 0,
            commit_timestamp: self.commit_timestamp,
            commit_number: self.commit_number,
            commit_user: self.commit_user.clone(),
            nulled_fields: Vec::new(),
            diff_fields: Vec::new(),
            changed_fields: Vec::new(),
        }
    }
}

/// The change events of one transaction, in order, sequence-numbered from 1, as log
/// entries (each serialized once). In bulk-load mode every change becomes a header-only
/// `GAP_*` event, one per entity and change type.
pub(crate) fn events(
    changes: &[Change<'_>],
    txn: &TxnInfo<'_>,
    schema_ids: &HashMap<String, String>,
    config: &CdcConfig,
    bulk_load: bool,
) -> Vec<forcebus_eventlog::NewEvent> {
    // Each object's event fields, worked out once (a Bulk chunk is thousands of changes
    // of one object); a bulk load's header-only events need none.
    let mut carried_of: Vec<(&str, describe::Carried<'_>)> = Vec::new();
    for c in changes.iter().filter(|_| !bulk_load) {
        if !carried_of.iter().any(|(name, _)| *name == c.object.name) {
            carried_of.push((&c.object.name, describe::Carried::of(c.object)));
        }
    }
    let mut b = Builder {
        txn,
        schema_ids,
        config,
        // Room for an event per change, as most transactions make; a bulk load makes one
        // per entity, and past a few hundred merges and overflows may make far fewer.
        out: Vec::with_capacity(if bulk_load {
            0
        } else {
            changes.len().min(EVENTS_RESERVED)
        }),
        merged: HashMap::new(),
        counted: 0,
        overflowed: Vec::new(),
        alone: changes.len() == 1,
    };
    for c in changes {
        let id = || {
            c.after
                .or(c.before)
                .map(|r| r.id.to18())
                .expect("a change has a record")
        };
        // A bulk load's events are header-only: its changes' bodies are not made.
        if bulk_load {
            if let Some(kind) = describe::kind(c) {
                b.add_bulk(c, kind, id());
            }
            continue;
        }
        let carried = carried_of
            .iter()
            .find(|(name, _)| *name == c.object.name)
            .map(|(_, carried)| carried)
            .expect("every changed object's fields were worked out");
        if let Some(d) = describe(c, carried) {
            b.add(c, d, id());
        }
    }
    b.finish()
}

/// A header-only gap event of `object` for `record_ids` (`GAP_CREATE`, `GAP_UPDATE`,
/// `GAP_DELETE`, `GAP_UNDELETE`, or `GAP_OVERFLOW` with the empty id), as a change applied
/// below the application would raise it: sequence number 1, no change origin, sent to the
/// standard channels and to every custom channel whose member of the entity has no filter
/// (a filter needs the record's fields, which a gap event does not carry).
pub(crate) fn gap_event(
    object: &ObjectDef,
    change_type: &str,
    record_ids: Vec<String>,
    txn: &TxnInfo<'_>,
    schema_ids: &HashMap<String, String>,
) -> forcebus_eventlog::NewEvent {
    let mut header = txn.header(&object.name, change_type.to_owned(), record_ids);
    header.sequence_number = 1;
    let event = ChangeEvent {
        schema_id: schema_ids.get(&object.name).cloned().unwrap_or_default(),
        header,
        fields: Map::new(),
        channels: unfiltered_channels(txn, &entity_name_of(object)),
        enriched: Map::new(),
    };
    forcebus_eventlog::NewEvent {
        kind: entity_name(&object.name),
        class: CLASS_EVENTS,
        payload: serde_json::to_vec(&event).expect("change events serialise"),
    }
}

/// An event being built, and its body when a created record's is written as it is.
struct Pending<'c> {
    event: ChangeEvent,
    created: Option<Created<'c>>,
}

impl From<ChangeEvent> for Pending<'_> {
    fn from(event: ChangeEvent) -> Self {
        Pending {
            event,
            created: None,
        }
    }
}

/// The events of a transaction as they are built.
struct Builder<'t, 'a, 'c> {
    txn: &'t TxnInfo<'a>,
    schema_ids: &'t HashMap<String, String>,
    config: &'t CdcConfig,
    out: Vec<Pending<'c>>,
    /// Index in `out` of the event identical updates or deletes merge into.
    merged: HashMap<String, usize>,
    /// Changes counted towards the overflow threshold.
    counted: usize,
    /// Entities with changes past the threshold, in order.
    overflowed: Vec<String>,
    /// The transaction changed one record.
    alone: bool,
}

impl<'c> Builder<'_, '_, 'c> {
    /// A header-only event: gaps (`GAP_*`, `GAP_OVERFLOW`) carry no body, and go to the
    /// custom channels an injected gap goes to.
    fn gap(&self, entity: &str, change_type: String, record_ids: Vec<String>) -> ChangeEvent {
        ChangeEvent {
            schema_id: self.schema_ids.get(entity).cloned().unwrap_or_default(),
            header: self.txn.header(entity, change_type, record_ids),
            fields: Map::new(),
            channels: unfiltered_channels(self.txn, &entity_name(entity)),
            enriched: Map::new(),
        }
    }

    /// A bulk-load change: its id joins the entity's `GAP_<type>` event.
    fn add_bulk(&mut self, c: &Change<'_>, kind: &str, id: String) {
        let change_type = format!("GAP_{kind}");
        match self
            .out
            .iter_mut()
            .map(|p| &mut p.event)
            .find(|e| e.header.entity_name == c.object.name && e.header.change_type == change_type)
        {
            Some(e) => e.header.record_ids.push(id),
            None => {
                let gap = self.gap(&c.object.name, change_type, vec![id]);
                self.out.push(gap.into());
            }
        }
    }

    /// A change: its event, routed to custom channels, merged into an identical one when
    /// merging applies, or counted past the overflow threshold.
    fn add(&mut self, c: &Change<'_>, d: Described<'c>, id: String) {
        let entity = c.object.name.clone();
        self.counted += if d.kind == "UPDATE" {
            d.changed.len().max(1)
        } else {
            1
        };
        if self.counted > self.config.overflow_threshold {
            if !self.overflowed.contains(&entity) {
                self.overflowed.push(entity);
            }
            return;
        }
        let mut header = self.txn.header(&entity, d.kind.to_owned(), vec![id]);
        header.nulled_fields = d.nulled;
        header.diff_fields = d.diffs;
        header.changed_fields = d.changed;
        let mut event = ChangeEvent {
            schema_id: self.schema_ids.get(&entity).cloned().unwrap_or_default(),
            header,
            fields: d.body,
            channels: Vec::new(),
            enriched: Map::new(),
        };
        route(&mut event, c, self.txn);
        // A transaction of one change has nothing to merge with: no key is made for it.
        // Changes merge only when every channel would see them alike: the custom channels
        // a record's change passes, and its enriched values there, are per record.
        if self.config.merge && !self.alone && matches!(d.kind, "UPDATE" | "DELETE") {
            let key = serde_json::to_string(&(
                &entity,
                d.kind,
                &event.fields,
                &event.header.changed_fields,
                &event.header.nulled_fields,
                &event.channels,
                &event.enriched,
            ))
            .expect("JSON values serialise");
            if let Some(&i) = self.merged.get(&key) {
                self.out[i]
                    .event
                    .header
                    .record_ids
                    .extend(event.header.record_ids);
                return;
            }
            self.merged.insert(key, self.out.len());
        }
        self.out.push(Pending {
            event,
            created: d.created,
        });
    }

    /// The overflow events, then every event numbered and serialised; one too large
    /// becomes its header-only `GAP_*` form, on the channels its change passed.
    fn finish(mut self) -> Vec<forcebus_eventlog::NewEvent> {
        for entity in std::mem::take(&mut self.overflowed) {
            let gap = self.gap(
                &entity,
                "GAP_OVERFLOW".to_owned(),
                vec![OVERFLOW_ID.to_owned()],
            );
            self.out.push(gap.into());
        }
        let max = self.config.max_event_bytes;
        // Each event is written in `scratch` first and its payload copied out at its size:
        // the log's in-memory tail keeps a payload's allocation whole, and
        // `serde_json::to_vec` grows its buffer from 128 bytes by doubling (a 700-byte
        // event held 1,024 bytes, after three reallocations).
        let mut scratch = Vec::with_capacity(SCRATCH);
        let write = |e: &ChangeEvent, created: Option<&Created<'_>>, scratch: &mut Vec<u8>| {
            scratch.clear();
            match created {
                Some(body) => serde_json::to_writer(scratch, &WithBody { event: e, body }),
                None => serde_json::to_writer(scratch, e),
            }
            .expect("change events serialise");
        };
        self.out
            .into_iter()
            .enumerate()
            .map(
                |(
                    i,
                    Pending {
                        event: mut e,
                        created,
                    },
                )| {
                    e.header.sequence_number = i as i32 + 1;
                    write(&e, created.as_ref(), &mut scratch);
                    if scratch.len() > max && !e.header.change_type.starts_with("GAP_") {
                        e.header.change_type = format!("GAP_{}", e.header.change_type);
                        e.fields.clear();
                        e.header.changed_fields.clear();
                        e.header.nulled_fields.clear();
                        e.header.diff_fields.clear();
                        e.enriched.clear();
                        write(&e, None, &mut scratch);
                    }
                    forcebus_eventlog::NewEvent {
                        kind: entity_name(&e.header.entity_name),
                        class: CLASS_EVENTS,
                        payload: scratch.clone(),
                    }
                },
            )
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Fields;
    use crate::id::RecordId;
    use serde_json::Value;

    fn account(schema: &Schema, n: u64, name: &str) -> Record {
        let mut fields = Fields::new();
        fields.insert("Name".to_owned(), Value::String(name.to_owned()));
        fields.insert("Description".to_owned(), Value::String("x".repeat(300)));
        Record {
            id: RecordId::mint("001", n),
            object: schema.object("Account").unwrap().name.as_str().into(),
            fields,
            is_deleted: false,
            deleted: None,
        }
    }

    /// Each payload is allocated at its size (the log's tail keeps it whole), and reads
    /// back as the event it was made from; with one change or several.
    #[test]
    fn payloads_are_exactly_their_events_bytes() {
        let schema = Schema::new(forcebus_meta::standard::catalogue());
        let object = schema.object("Account").unwrap();
        let txn = TxnInfo {
            schema: &schema,
            members: Vec::new(),
            now: chrono::Utc::now(),
            transaction_key: "key",
            change_origin: "",
            commit_timestamp: 1,
            commit_number: 1,
            commit_user: "005000000000001AAA".to_owned(),
        };
        let records: Vec<Record> = (1..=3).map(|n| account(&schema, n, "Acme")).collect();
        let renamed = account(&schema, 1, "Acme Two");
        for changes in [
            vec![Change {
                object,
                before: None,
                after: Some(&records[0]),
            }],
            vec![
                Change {
                    object,
                    before: Some(&records[0]),
                    after: Some(&renamed),
                },
                Change {
                    object,
                    before: None,
                    after: Some(&records[1]),
                },
                Change {
                    object,
                    before: None,
                    after: Some(&records[2]),
                },
            ],
        ] {
            let events = events(
                &changes,
                &txn,
                &HashMap::new(),
                &CdcConfig::default(),
                false,
            );
            assert_eq!(events.len(), changes.len());
            for (i, e) in events.iter().enumerate() {
                assert_eq!(e.payload.capacity(), e.payload.len());
                let read = ChangeEvent::from_log(&e.payload).unwrap();
                assert_eq!(read.header.sequence_number, i as i32 + 1);
                assert_eq!(serde_json::to_vec(&read).unwrap(), e.payload);
            }
        }
    }
}

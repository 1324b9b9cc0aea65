//! The test controls of one org ([`crate::control`]): its clock moved forward or held
//! still (durably), events delivered late, gap and overflow change events published on
//! demand, and a view of what is active.

use std::sync::Arc;

use chrono::Duration;

use forcebus_eventlog::Event;
use forcebus_events::change::OVERFLOW_ID;
use forcebus_store::{Batch, StoreError};

use crate::Org;
use crate::caller::Caller;
use crate::clock::{ControlledClock, Shift};
use crate::commit::Committing;
use crate::control::Controls;
use crate::error::{Code, OrgError};
use crate::id::RecordId;
use crate::state::ORG;

/// Where the clock's shift is kept (space, key).
pub(crate) const CLOCK_SHIFT: (&str, &str) = ("control", "clock");

/// The gap change types a control may publish for chosen records.
pub const GAP_TYPES: [&str; 4] = ["GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE"];

/// Most record ids one gap event lists.
pub const MAX_GAP_IDS: usize = 10_000;

/// Furthest the org's clock may run ahead of its base: about a hundred years.
pub const MAX_OFFSET_DAYS: i64 = 36_525;

/// Longest delivery delay, milliseconds (ten minutes).
pub const MAX_DELIVERY_DELAY_MS: u64 = 600_000;

/// The clock's shift as stored, or none; an unreadable one fails the open (time must
/// not silently go back).
pub(crate) fn stored_shift(store: &dyn forcebus_store::Store) -> Result<Shift, StoreError> {
    match store
        .load_values(CLOCK_SHIFT.0)?
        .into_iter()
        .find(|(k, _)| k == CLOCK_SHIFT.1)
    {
        Some((_, v)) => serde_json::from_str(&v)
            .map_err(|e| StoreError::Corrupt(format!("the org clock's shift {v:?}: {e}"))),
        None => Ok(Shift::default()),
    }
}

/// What a gap control publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// A `GAP_*` event listing these records.
    Records {
        /// One of [`GAP_TYPES`].
        change_type: String,
        /// The records, of the event's object.
        record_ids: Vec<String>,
    },
    /// A `GAP_OVERFLOW` event.
    Overflow,
}

impl Org {
    /// The org's test controls.
    pub fn controls(&self) -> &Controls {
        &self.controls
    }

    /// Moves the org's clock forward by `by` (durably), then removes the events that aged
    /// past retention meanwhile (events a delivery delay held back are delivered first:
    /// the delay passed too). Returns the new shift. The clock goes at most
    /// [`MAX_OFFSET_DAYS`] ahead of its base.
    pub fn advance_clock(&self, by: Duration) -> Result<Shift, OrgError> {
        let shift = self.controlled_clock.advanced(by);
        if shift.offset_ms > Duration::days(MAX_OFFSET_DAYS).num_milliseconds() {
            return Err(OrgError::new(
                Code::InvalidInput,
                format!(
                    "The org's clock goes at most {MAX_OFFSET_DAYS} days ahead of the machine's."
                ),
            ));
        }
        let internal = |e: StoreError| OrgError::storage(&e);
        let shift = self.set_shift(|c| c.advanced(by)).map_err(internal)?;
        self.log.flush_delivery();
        self.log
            .expire(self.clock.now().timestamp_millis())
            .map_err(internal)?;
        Ok(shift)
    }

    /// Holds the org's clock still at the current time, or lets it run again from there.
    pub fn freeze_clock(&self, freeze: bool) -> Result<Shift, StoreError> {
        self.set_shift(|c| c.frozen(freeze))
    }

    /// Stores and applies a new shift, under the writer lock so that commit timestamps
    /// follow commit order.
    fn set_shift(
        &self,
        change: impl FnOnce(&ControlledClock) -> Shift,
    ) -> Result<Shift, StoreError> {
        let (_underway, _writer) = self.begin_write();
        let shift = change(&self.controlled_clock);
        let mut batch = Batch::new();
        batch.put(
            CLOCK_SHIFT.0,
            CLOCK_SHIFT.1,
            Some(serde_json::to_string(&shift).expect("a shift serialises")),
        );
        self.store.commit(&batch)?;
        self.controlled_clock.set(shift);
        Ok(shift)
    }

    /// Delivers events to subscribers of both protocols no sooner than `ms` after their
    /// commit (0: at once). Fails over [`MAX_DELIVERY_DELAY_MS`].
    pub fn set_delivery_delay(&self, ms: u64) -> Result<(), OrgError> {
        if ms > MAX_DELIVERY_DELAY_MS {
            return Err(OrgError::new(
                Code::InvalidInput,
                format!("delivery_delay_ms must be between 0 and {MAX_DELIVERY_DELAY_MS}."),
            ));
        }
        self.log
            .set_delivery_delay(std::time::Duration::from_millis(ms));
        Ok(())
    }

    /// Turns every control off: failures disarmed, keepalives sent, delivery at once, the
    /// clock running (time already passed stays passed).
    pub fn clear_controls(&self) -> Result<(), StoreError> {
        self.controls.clear();
        self.log.set_delivery_delay(std::time::Duration::ZERO);
        if self.controlled_clock.shift().frozen_at_ms.is_some() {
            self.freeze_clock(false)?;
        }
        Ok(())
    }

    /// Whether a control kept in memory only is on (a delivery delay, an armed Pub/Sub
    /// failure, suppressed keepalives); the clock's are stored.
    pub fn volatile_controls_on(&self) -> bool {
        !self.log.delivery_delay().is_zero()
            || !self.controls.armed_failures().is_empty()
            || self.controls.keepalives_suppressed()
            || self.controls.validation_rules_off()
    }

    /// What the controls are set to, and which are active.
    pub fn control_state(&self) -> ControlState {
        let shift = self.controlled_clock.shift();
        let delivery_delay_ms = self.log.delivery_delay().as_millis() as u64;
        let armed = self.controls.armed_failures();
        let keepalives_suppressed = self.controls.keepalives_suppressed();
        let mut active = Vec::new();
        // A clock frozen then let go runs on from where it stopped: behind the machine's.
        if shift.offset_ms > 0 {
            active.push("clock.advanced");
        } else if shift.offset_ms < 0 {
            active.push("clock.behind");
        }
        if shift.frozen_at_ms.is_some() {
            active.push("clock.frozen");
        }
        if delivery_delay_ms > 0 {
            active.push("streaming.delivery_delay_ms");
        }
        if !armed.is_empty() {
            active.push("pubsub.fail");
        }
        if keepalives_suppressed {
            active.push("pubsub.suppress_keepalives");
        }
        let validation_rules_off = self.controls.validation_rules_off();
        if validation_rules_off {
            active.push("rules.validation_off");
        }
        ControlState {
            active,
            now: self.clock.now(),
            offset_ms: shift.offset_ms,
            frozen: shift.frozen_at_ms.is_some(),
            delivery_delay_ms,
            session_drops: self.controls.session_epoch(),
            armed,
            keepalives_suppressed,
            validation_rules_off,
        }
    }

    /// Publishes a gap (or overflow) change event of `object`, exactly as Salesforce
    /// shapes them (`failure-modes.md` §7), through the change event channels: its own
    /// commit number and transaction key, committed by `caller`. The object must publish
    /// change events; gap record ids must be ids of it.
    pub fn publish_gap(
        &self,
        caller: &Caller,
        object: &str,
        gap: Gap,
    ) -> Result<Committing<Vec<Arc<Event>>>, OrgError> {
        let schema = self.schema();
        let def = schema
            .object(object)
            .ok_or_else(|| OrgError::no_such_object(object))?;
        if !self.selected(def) {
            return Err(OrgError::new(
                Code::InvalidInput,
                format!(
                    "{} does not publish change events: select it for Change Data Capture first.",
                    def.name
                ),
            ));
        }
        let (change_type, ids) = match gap {
            Gap::Overflow => ("GAP_OVERFLOW".to_owned(), vec![OVERFLOW_ID.to_owned()]),
            Gap::Records {
                change_type,
                record_ids,
            } => (check_gap_type(&change_type)?, gap_ids(def, &record_ids)?),
        };
        let (underway, writer) = self.begin_write();
        let now = self.clock.now();
        let state = self.read();
        let commit_number = state.commit_number + 1;
        let transaction_key = crate::new_uuid();
        let schema = self.schema();
        let info = crate::cdc::TxnInfo {
            schema: &schema,
            members: crate::cdc::Member::all(&state),
            now,
            transaction_key: &transaction_key,
            change_origin: "",
            commit_timestamp: now.timestamp_millis(),
            commit_number,
            commit_user: caller.user_id.to18(),
        };
        let event = crate::cdc::gap_event(def, &change_type, ids, &info, &self.change_schema_ids());
        drop(state);
        let mut batch = Batch::new();
        batch.put(ORG, "commit_number", Some(commit_number.to_string()));
        let schemas = self.unstored_schemas(std::iter::once(def.name.as_str()));
        for (id, text) in &schemas {
            batch.put(super::SCHEMAS, id, Some(text.to_string()));
        }
        let commit = self
            .log
            .commit(vec![event], now.timestamp_millis(), batch)
            .map_err(|e| {
                self.schemas.give_back(&schemas);
                OrgError::storage(&e)
            })?;
        self.write().commit_number = commit_number;
        drop(writer);
        let events = commit.events().clone();
        Ok(Committing::new(events, commit).holding(underway))
    }
}

fn check_gap_type(change_type: &str) -> Result<String, OrgError> {
    GAP_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(change_type))
        .map(|t| (*t).to_owned())
        .ok_or_else(|| {
            OrgError::new(
                Code::InvalidInput,
                format!(
                    "changeType must be one of {} (or use \"overflow\": true for GAP_OVERFLOW).",
                    GAP_TYPES.join(", ")
                ),
            )
        })
}

/// The record ids of a gap event, 18 characters, each an id of `object`.
fn gap_ids(object: &crate::meta::ObjectDef, ids: &[String]) -> Result<Vec<String>, OrgError> {
    if ids.is_empty() || ids.len() > MAX_GAP_IDS {
        return Err(OrgError::new(
            Code::InvalidInput,
            format!("recordIds must list between 1 and {MAX_GAP_IDS} record ids."),
        ));
    }
    ids.iter()
        .map(|raw| {
            let id = RecordId::parse(raw).ok_or_else(|| {
                OrgError::new(Code::MalformedId, format!("Invalid record id: {raw}"))
            })?;
            if id.prefix() != object.key_prefix {
                return Err(OrgError::new(
                    Code::InvalidId,
                    format!("{} is not an id of {}.", id.to18(), object.name),
                ));
            }
            Ok(id.to18())
        })
        .collect()
}

/// The test controls' settings: the clock, the delivery delay, dropped sessions, armed
/// Pub/Sub failures and held keepalives, and the names of those that are on.
#[derive(Debug, Clone)]
pub struct ControlState {
    /// The controls on, by name (`clock.advanced`, `pubsub.fail`, ...).
    pub active: Vec<&'static str>,
    /// The org's time now.
    pub now: chrono::DateTime<chrono::Utc>,
    /// How far the org's clock is from the machine's.
    pub offset_ms: i64,
    /// Whether the clock stands still.
    pub frozen: bool,
    /// How long events are held back from subscribers.
    pub delivery_delay_ms: u64,
    /// How many times sessions were dropped.
    pub session_drops: u64,
    /// The Pub/Sub failures armed.
    pub armed: Vec<crate::control::ArmedFailure>,
    /// Whether Pub/Sub keepalives are held back.
    pub keepalives_suppressed: bool,
    /// Whether the org's validation rules are off.
    pub validation_rules_off: bool,
}

//! The one writer: operations become a committed transaction in stages, and the caller
//! acknowledges it once the returned [`Committing`] is durable.
//!
//! [`Org::transaction`] runs, under the writer lock:
//! 1. **validate**: each operation against an overlay of the committed state ([`Txn`]),
//!    as the caller applies them through a [`Work`] (reading what earlier ones did); it
//!    keeps them or drops them all ([`Org::execute`]: a list of operations, dropped with
//!    all-or-none when one fails);
//! 2. **stage**: the overlay's records and the counters as one storage batch;
//! 3. **derive**: the transaction's change events and PushTopic notifications;
//! 4. **append**: the events and the batch as one storage batch
//!    ([`forcebus_eventlog::EventLog::commit`]), deferred until a sync;
//! 5. **apply**: the overlay to the committed state.
//!
//! The writer lock is released before durability (group commit): the next transaction
//! validates while this one's fsync runs. Its result may be acknowledged, and its events
//! are shown, only once [`Committing::wait`] or [`Committing::wait_async`] returns.

mod committing;
mod work;

pub use committing::{Committing, rolled_back};
pub use work::Work;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use forcebus_eventlog::{Commit, Event, NewEvent};
use forcebus_store::{Batch, StoreError, StoredRecord, Write};

use crate::Org;
use crate::caller::Caller;
use crate::error::OrgError;
use crate::id::RecordId;
use crate::state::{ORG, State};
use crate::txn::{Op, Outcome, Txn};

/// How a transaction treats its operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// One failed operation fails them all and nothing is written.
    pub all_or_none: bool,
    /// Changes bypass change tracking: subscribers get header-only `GAP_*` events.
    pub bulk_load: bool,
    /// Records the org makes itself when it is born (the Standard Price Book): no change
    /// events, as on Salesforce, where they predate every retained event.
    pub seed: bool,
}

impl Mode {
    /// Each operation succeeds or fails on its own.
    pub const PARTIAL: Mode = Mode {
        all_or_none: false,
        bulk_load: false,
        seed: false,
    };
    /// One failure fails them all.
    pub const ALL_OR_NONE: Mode = Mode {
        all_or_none: true,
        bulk_load: false,
        seed: false,
    };
}

/// What a committed transaction was, for change events to join.
#[derive(Debug, Clone)]
pub struct Committed {
    /// UUID-shaped key shared by everything the transaction changed.
    pub transaction_key: String,
    /// `changeOrigin` of the caller.
    pub change_origin: String,
    /// Commit time.
    pub commit_timestamp: DateTime<Utc>,
    /// Records whose state changed, in first-touch order.
    pub records: Vec<RecordId>,
    /// The change events the transaction appended, in order.
    pub events: Vec<Arc<Event>>,
}

/// The result of [`Org::execute`].
#[derive(Debug)]
pub struct TxnResult {
    /// One result per operation, in request order.
    pub results: Vec<Result<Outcome, OrgError>>,
    /// The committed transaction, when anything was written.
    pub committed: Option<Committed>,
}

/// A validated transaction's changes, ready to commit.
struct Staged<'u> {
    overlay: crate::Writes,
    order: Vec<RecordId>,
    next_id: u64,
    next_numbers: crate::state::Numbers,
    commit_number: i64,
    /// The uploads the transaction was given: a blob field naming one takes its bytes.
    uploads: &'u [crate::blobs::Uploaded],
}

impl Org {
    /// Runs `ops` as one transaction. A storage failure fails the whole call and changes
    /// nothing. The result may be acknowledged once the returned [`Committing`] is.
    pub fn execute(
        &self,
        caller: &Caller,
        ops: Vec<Op>,
        mode: Mode,
    ) -> Result<Committing<TxnResult>, StoreError> {
        let committing = self.transaction(caller, mode, |work| {
            let mut results: Vec<Result<Outcome, OrgError>> =
                ops.into_iter().map(|op| work.apply(op)).collect();
            if mode.all_or_none && results.iter().any(Result::is_err) {
                for r in results.iter_mut().filter(|r| r.is_ok()) {
                    *r = Err(rolled_back());
                }
                return (results, false);
            }
            (results, true)
        })?;
        Ok(committing.map(|(results, committed)| TxnResult { results, committed }))
    }

    /// Runs an interactive transaction: `f` applies operations one at a time through its
    /// [`Work`], reading what they did (records, queries, external ids) before it applies
    /// the next, and says whether to keep them. Kept work commits as one transaction
    /// (one transaction key, one storage commit); otherwise nothing is written. The
    /// writer lock is held while `f` runs, so `f` must not wait on anything but the org
    /// (reading the org is fine: no writer can be waiting for its state meanwhile).
    pub fn transaction<R>(
        &self,
        caller: &Caller,
        mode: Mode,
        f: impl FnOnce(&mut Work<'_>) -> (R, bool),
    ) -> Result<Committing<(R, Option<Committed>)>, StoreError> {
        self.transaction_with(caller, mode, &[], f)
    }

    /// [`Org::transaction`] with files uploaded ahead of it ([`Org::upload`]): a blob
    /// field whose value is one's [`crate::blobs::Uploaded::marker`] takes its bytes.
    pub fn transaction_with<R>(
        &self,
        caller: &Caller,
        mode: Mode,
        uploads: &[crate::blobs::Uploaded],
        f: impl FnOnce(&mut Work<'_>) -> (R, bool),
    ) -> Result<Committing<(R, Option<Committed>)>, StoreError> {
        let (underway, writer) = self.begin_write();
        let now = self.clock().now();
        let schema = self.schema();
        let formulas = self.formulas(&schema);
        let access = self.access(caller.user_id);
        let state = self.read();
        let mut txn = Txn::new(&formulas, &state, caller, now, access);
        txn.uploads = uploads;
        txn.validating = !self.controls().validation_rules_off();
        let mut work = Work {
            txn,
            extra: Vec::new(),
        };
        let (out, keep) = f(&mut work);
        let Work { txn, extra } = work;
        if !keep || (txn.order.is_empty() && extra.is_empty()) {
            return Ok(Committing::new((out, None), Commit::nothing(self.log())));
        }
        let mut staged = Staged {
            overlay: txn.overlay,
            order: txn.order,
            next_id: txn.next_id,
            next_numbers: txn.next_numbers,
            commit_number: state.commit_number + 1,
            uploads,
        };
        let mut batch = staged.writes(&schema, &state);
        batch.writes.extend(extra);
        let transaction_key = crate::new_uuid();
        let change_origin = caller.change_origin();
        let events = self.derive(
            &state,
            &staged,
            caller,
            mode,
            now,
            (&transaction_key, &change_origin),
        );
        drop(state);
        let commit = self.commit_events(
            &staged,
            events,
            batch,
            now.timestamp_millis(),
            &transaction_key,
        )?;
        let gaining = crate::record_types::objects_gaining(
            &schema,
            staged
                .order
                .iter()
                .filter_map(|id| staged.overlay[id].as_ref()),
        );
        let records = self.apply(staged);
        drop(writer);
        self.after_first_record_types(&gaining);
        let committed = Committed {
            transaction_key,
            change_origin,
            commit_timestamp: now,
            records,
            events: commit.events().clone(),
        };
        tracing::debug!(
            transaction_key = %committed.transaction_key,
            change_origin = %committed.change_origin,
            records = committed.records.len(),
            "Transaction committed."
        );
        Ok(Committing::new((out, Some(committed)), commit).holding(underway))
    }

    /// Commits `batch` with `events`, and the change-event schemas they name that the
    /// store does not hold yet, as one storage transaction under a `commit` span.
    fn commit_events(
        &self,
        staged: &Staged<'_>,
        events: Vec<forcebus_eventlog::NewEvent>,
        mut batch: Batch,
        now_ms: i64,
        transaction_key: &str,
    ) -> Result<Commit, StoreError> {
        let schemas = if events.is_empty() {
            Vec::new()
        } else {
            self.unstored_schemas(
                staged
                    .order
                    .iter()
                    .filter_map(|id| staged.overlay[id].as_ref().map(|r| r.object.as_str())),
            )
        };
        for (id, text) in &schemas {
            batch.put(super::SCHEMAS, id, Some(text.to_string()));
        }
        batch.followed = self.writers_waiting();
        // Debug: no cost at the default log level; exported whenever traces are.
        let span = tracing::debug_span!(
            "commit",
            records = staged.order.len(),
            events = events.len(),
            transaction_key = %transaction_key,
        );
        span.in_scope(|| self.log().commit(events, now_ms, batch))
            .inspect_err(|_| self.schemas().give_back(&schemas))
    }

    /// Runs `f` over a view of the committed state: it reads as a transaction's work does,
    /// without taking the writer, and whatever it applies is dropped (a read resource
    /// shared with composite requests runs here on its own).
    pub fn view<R>(&self, caller: &Caller, f: impl FnOnce(&mut Work<'_>) -> R) -> R {
        let now = self.clock().now();
        let schema = self.schema();
        let formulas = self.formulas(&schema);
        let access = self.access(caller.user_id);
        let state = self.read();
        let mut work = Work {
            txn: Txn::new(&formulas, &state, caller, now, access),
            extra: Vec::new(),
        };
        f(&mut work)
    }

    /// Stage 3: the change events and PushTopic notifications of the staged changes.
    fn derive(
        &self,
        state: &State,
        staged: &Staged,
        caller: &Caller,
        mode: Mode,
        now: DateTime<Utc>,
        (transaction_key, change_origin): (&str, &str),
    ) -> Vec<NewEvent> {
        let schema = self.schema();
        let changes: Vec<crate::cdc::Change<'_>> = staged
            .order
            .iter()
            .filter_map(|id| {
                let after = staged.overlay[id].as_ref();
                let before = state.records.get(id);
                let object = schema
                    .object(&after.or(before)?.object)
                    .filter(|o| self.selected_in(state, o))?;
                Some(crate::cdc::Change {
                    object,
                    before,
                    after,
                })
            })
            .collect();
        let schema = self.schema();
        let info = crate::cdc::TxnInfo {
            schema: &schema,
            members: crate::cdc::Member::all(state),
            now,
            transaction_key,
            change_origin,
            commit_timestamp: now.timestamp_millis(),
            commit_number: staged.commit_number,
            commit_user: caller.user_id.to18(),
        };
        if mode.seed {
            return Vec::new();
        }
        let mut events = crate::cdc::events(
            &changes,
            &info,
            &self.change_schema_ids(),
            &self.cdc,
            mode.bulk_load,
        );
        events.extend(self.topic_notifications(state, &staged.overlay, &staged.order, now));
        events
    }

    /// The change-event schemas of `objects` the store does not hold yet, to be stored
    /// with the events that name them.
    pub(crate) fn unstored_schemas<'a>(
        &self,
        objects: impl Iterator<Item = &'a str>,
    ) -> Vec<(String, std::sync::Arc<str>)> {
        let ids = self.change_schema_ids();
        let mut wanted: Vec<&str> = objects
            .filter_map(|o| ids.get(o).map(String::as_str))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        self.schemas().take_unstored(wanted)
    }

    /// Stage 5: the committed changes become the org's state; the records they touched,
    /// in first-touch order.
    fn apply(&self, staged: Staged) -> Vec<RecordId> {
        let touches = |object: &str| {
            staged.order.iter().any(|id| {
                staged.overlay[id]
                    .as_ref()
                    .is_none_or(|r| r.object == object)
            })
        };
        let topics_changed = touches(crate::pushtopic::OBJECT);
        let users_changed = touches("User");
        // A purge (no record left to name its object) may have been a share's.
        let access_changed = staged.order.iter().any(|id| {
            staged.overlay[id]
                .as_ref()
                .is_none_or(|r| super::access::touches_access(r.object.as_str()))
        });
        {
            let schema = self.schema();
            let mut state = self.write();
            state.next_id = staged.next_id;
            state.next_numbers = staged.next_numbers;
            state.commit_number = staged.commit_number;
            let mut overlay = staged.overlay;
            for id in &staged.order {
                match overlay.remove(id).flatten() {
                    Some(r) => state.insert(&schema, r),
                    None => state.remove(&schema, id),
                }
            }
        }
        if topics_changed {
            self.rebuild_topics();
        }
        if users_changed {
            self.users_changed();
        }
        if access_changed {
            self.access_changed();
        }
        staged.order
    }
}

impl Staged<'_> {
    /// Stage 2: the records (or their purges) and the counters, as one batch.
    /// The blob fields' bytes, out of the records and into writes of their own
    /// ([`crate::blobs`]).
    fn take_blobs(
        &mut self,
        schema: &crate::meta::Schema,
        state: &crate::state::State,
    ) -> Vec<Write> {
        let mut writes = Vec::new();
        for id in &self.order {
            if let Some(Some(rec)) = self.overlay.get_mut(id) {
                crate::blobs::take(
                    schema,
                    rec,
                    || state.records.get(id),
                    (self.commit_number, self.uploads),
                    &mut writes,
                );
            }
        }
        writes
    }

    /// The commit's writes: the records (their blobs taken out first), the counters.
    fn writes(&mut self, schema: &crate::meta::Schema, state: &crate::state::State) -> Batch {
        let blobs = self.take_blobs(schema, state);
        let mut batch = Batch::new();
        let mut scratch = Vec::with_capacity(crate::cdc::SCRATCH);
        for id in &self.order {
            batch.writes.push(match &self.overlay[id] {
                Some(r) => Write::PutRecord(StoredRecord {
                    id: r.id.as15().to_owned(),
                    object: r.object.to_string(),
                    is_deleted: r.is_deleted,
                    body: r.body_with(&mut scratch),
                }),
                None => Write::PurgeRecord {
                    id: id.as15().to_owned(),
                },
            });
        }
        batch.put(ORG, "next_id", Some(self.next_id.to_string()));
        for (object, n) in &self.next_numbers {
            let key = format!("{}{object}", crate::state::NUMBER_KEY);
            batch.put(ORG, &key, Some(n.to_string()));
        }
        batch.put(ORG, "commit_number", Some(self.commit_number.to_string()));
        batch.writes.extend(blobs);
        batch
    }
}

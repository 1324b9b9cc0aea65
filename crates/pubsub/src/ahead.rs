//! A subscription's reader: its log cursor, and the events it read ahead.
//!
//! A client keeps a window of credit (Salesforce's is 100 events) and asks for more once
//! it has taken a batch in. Read only on request, a replay is a strict turn-taking: the
//! server reads and renders a window while the client waits, then the client decodes it
//! while the server waits. So when a delivery uses up the credit, the stream reads the
//! next window at once ([`Reader::read_ahead`]), while the client is still busy with the
//! last one, and the client's next request is answered from it.
//!
//! What is held is bounded: at most one window (what the last delivery sent, itself at
//! most `max_requested`) and at most [`AHEAD_BYTES`] (what would go past them is left in
//! the log, read again when asked for), kept until the client asks or the stream ends.
//! Events read ahead are rendered then; the token and a managed subscription's state are
//! checked when they go out, as for any delivery, and retention too: a window whose
//! position expired (or an org's reset removed) meanwhile is dropped, and the stream
//! fails as a read from that position would.

/// Most bytes of events (as encoded) a stream holds read ahead.
pub(crate) const AHEAD_BYTES: usize = 256 << 10;

use std::collections::VecDeque;

use forcebus_eventlog::{Cursor, LogError};
use prost::Message;

use crate::proto::ConsumerEvent;
use crate::topic::Topic;
use crate::{PubSub, replay};

/// One event read for delivery, rendered for its topic.
#[derive(Debug)]
pub(crate) struct Read {
    pub(crate) event: ConsumerEvent,
    replay_id: u64,
    /// Its trace context, linked to the delivery that sends it.
    pub(crate) trace: Option<forcebus_trace::Context>,
}

/// The cursor of a subscription, and what it read ahead of the client's requests.
#[derive(Debug)]
pub(crate) struct Reader {
    cursor: Cursor,
    ahead: VecDeque<Read>,
    /// While events wait in `ahead`: the position the client has been served up to (the
    /// cursor stands past what was read ahead).
    served: u64,
}

impl Reader {
    pub(crate) fn new(cursor: Cursor) -> Self {
        let served = cursor.position();
        Self {
            cursor,
            ahead: VecDeque::new(),
            served,
        }
    }

    /// The replay id of the last event delivered or skipped: the cursor's position, or,
    /// while events read ahead wait, the position before them.
    pub(crate) fn position(&self) -> u64 {
        if self.ahead.is_empty() {
            self.cursor.position()
        } else {
            self.served
        }
    }

    /// Waits until the log has an event past what was read (read ahead included).
    pub(crate) async fn changed(&mut self) {
        self.cursor.changed().await;
    }

    /// Up to `max` events for delivery: those read ahead first, topped up from the log.
    /// `None` when there is nothing past the cursor; an empty batch when what the log had
    /// renders to nothing for this topic.
    pub(crate) fn next(
        &mut self,
        ps: &PubSub,
        topic: &Topic,
        max: usize,
    ) -> Result<Option<Vec<Read>>, LogError> {
        if self.ahead.is_empty() {
            return self.read(ps, topic, max);
        }
        if let Err(e) = self.cursor.retained(self.served) {
            self.ahead.clear();
            return Err(e);
        }
        let n = max.min(self.ahead.len());
        let mut batch: Vec<Read> = self.ahead.drain(..n).collect();
        if let Some(last) = batch.last() {
            self.served = last.replay_id;
        }
        if self.ahead.is_empty() && n < max {
            // The same response takes what the log has beyond; a failure is met by the
            // next read (the cursor did not move).
            if let Ok(Some(more)) = self.read(ps, topic, max - n) {
                batch.extend(more);
            }
        }
        Ok(Some(batch))
    }

    /// Up to `max` events from the log, rendered.
    fn read(
        &mut self,
        ps: &PubSub,
        topic: &Topic,
        max: usize,
    ) -> Result<Option<Vec<Read>>, LogError> {
        let events = self.cursor.poll(max)?;
        if events.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            events
                .iter()
                .filter_map(|e| {
                    Some(Read {
                        event: ConsumerEvent {
                            event: Some(ps.render(topic, e)?),
                            replay_id: replay::encode(e.replay_id),
                        },
                        replay_id: e.replay_id,
                        trace: e.trace.clone(),
                    })
                })
                .collect(),
        ))
    }

    /// Reads up to `max` events for the client's next request, if none wait already. A
    /// failure is left for that request's own read to meet (the cursor does not move).
    pub(crate) fn read_ahead(&mut self, ps: &PubSub, topic: &Topic, max: usize) {
        if !self.ahead.is_empty() || max == 0 {
            return;
        }
        let served = self.cursor.position();
        if let Ok(Some(mut batch)) = self.read(ps, topic, max) {
            let mut bytes = 0;
            let keep = batch
                .iter()
                .take_while(|r| {
                    bytes += r.event.encoded_len();
                    bytes <= AHEAD_BYTES
                })
                .count();
            if keep < batch.len() {
                // Past the budget: left in the log for the client's request to read.
                self.cursor
                    .rewind(keep.checked_sub(1).map_or(served, |i| batch[i].replay_id));
                batch.truncate(keep);
            }
            self.ahead.extend(batch);
            self.served = served;
        }
    }
}

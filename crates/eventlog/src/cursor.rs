//! Reading the log: a [`Cursor`] on a channel, from a start the log checks against
//! retention, reading the in-memory tail or, behind it, the store, and woken when the
//! visible replay id moves past it.

use std::sync::Arc;

use crate::{Channel, Event, EventLog, LogError, Start};

impl EventLog {
    /// Opens a cursor on `channel`.
    pub fn subscribe(self: &Arc<Self>, channel: Channel, start: Start) -> Result<Cursor, LogError> {
        let last = self.last_replay_id();
        let earliest = self.earliest(channel.class);
        let position = match start {
            // From what subscribers see now: events a delivery delay still holds back
            // reach this subscriber too.
            Start::Latest => self.delivery.visible().max(earliest),
            Start::Earliest => earliest,
            Start::After(id) if id > last => {
                return Err(LogError::Future {
                    requested: id,
                    last,
                });
            }
            // The id must name a retained event: the last one retention removed is not.
            Start::After(id) if id < earliest || (id == earliest && earliest > 0) => {
                return Err(LogError::Expired {
                    requested: id,
                    earliest,
                });
            }
            Start::After(id) => id,
        };
        let wake = self.waker([&channel]);
        Ok(Cursor {
            log: self.clone(),
            channel,
            position,
            wake,
        })
    }

    /// Up to `max` events after `position` shown by `channel`, and the position reached.
    fn read(
        &self,
        channel: &Channel,
        position: u64,
        max: usize,
    ) -> Result<(Vec<Arc<Event>>, u64), LogError> {
        let earliest = self.earliest(channel.class);
        if position < earliest {
            return Err(LogError::Expired {
                requested: position,
                earliest,
            });
        }
        let mut out = Vec::new();
        let mut pos = position;
        // Appended but not yet published (not yet durable, or delayed) events stay hidden.
        let visible = self.delivery.visible();
        {
            let inner = self.lock();
            let Some(next) = inner.index.after(pos).next().map(|m| m.replay_id) else {
                return Ok((out, pos));
            };
            // The tail holds every retained event from its first id on.
            if inner.tail.front().is_some_and(|t| t.replay_id <= next) {
                let start = inner.tail.partition_point(|e| e.replay_id <= pos);
                for e in inner.tail.range(start..) {
                    if out.len() >= max || e.replay_id > visible {
                        break;
                    }
                    if channel.shows(e) {
                        out.push(e.clone());
                    }
                    pos = e.replay_id;
                }
                return Ok((out, pos));
            }
        }
        // Behind the tail: read from the store, a page at a time: as many as are still
        // wanted (what is read past them would be read again by the next call), twice as
        // many each time the channel's filter leaves the page short, at most 512.
        let last = visible;
        let mut page_size = 0;
        while out.len() < max && pos < last {
            page_size = (max - out.len()).max(page_size * 2).clamp(1, 512);
            let page = self
                .store
                .load_events(pos, page_size)
                .map_err(|e| LogError::Store(e.to_string()))?;
            if page.is_empty() {
                pos = last;
                break;
            }
            for e in page {
                if out.len() >= max || e.replay_id > last {
                    return Ok((out, pos));
                }
                pos = e.replay_id;
                let e = Event::from_stored(e);
                if channel.shows(&e) {
                    out.push(Arc::new(e));
                }
            }
        }
        Ok((out, pos))
    }
}

/// How far a subscriber is behind: the events its channel shows after its position, and
/// the append time of the first of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lag {
    /// Events waiting (counted over the in-memory tail, at most 10,000; behind the tail,
    /// every event of the channel's retention class counts, so the figure is an upper
    /// bound there).
    pub events: u64,
    /// When the oldest of them was appended (epoch milliseconds).
    pub oldest_ms: Option<i64>,
}

/// Most events [`EventLog::lag`] counts: past them it stops (a subscriber that far behind
/// is that far behind at least).
pub(crate) const LAG_SCAN: usize = 10_000;

impl EventLog {
    /// How far behind a subscriber of `channel` at `position` is, counting what
    /// subscribers can see now (at most [`LAG_SCAN`] events). The log is locked only to
    /// copy what is counted: channel filters run outside it.
    pub fn lag(&self, channel: &Channel, position: u64) -> Lag {
        let visible = self.delivery.visible();
        let (events, metas): (Vec<Arc<Event>>, Vec<(crate::RetentionClass, i64)>) = {
            let inner = self.lock();
            if inner
                .tail
                .front()
                .is_some_and(|t| t.replay_id <= position + 1)
            {
                let start = inner.tail.partition_point(|e| e.replay_id <= position);
                let events = inner
                    .tail
                    .range(start..)
                    .take_while(|e| e.replay_id <= visible)
                    .take(LAG_SCAN)
                    .cloned()
                    .collect();
                (events, Vec::new())
            } else {
                let metas = inner
                    .index
                    .after(position)
                    .take_while(|m| m.replay_id <= visible)
                    .take(LAG_SCAN)
                    .map(|m| (m.class, m.time_ms))
                    .collect();
                (Vec::new(), metas)
            }
        };
        let mut lag = Lag::default();
        for e in events.iter().filter(|e| channel.shows(e)) {
            lag.events += 1;
            lag.oldest_ms.get_or_insert(e.time_ms);
        }
        // Behind the tail, every event of the channel's class counts.
        for (_, time_ms) in metas.iter().filter(|m| m.0 == channel.class) {
            lag.events += 1;
            lag.oldest_ms.get_or_insert(*time_ms);
        }
        lag
    }
}

/// A subscription's position in the log.
#[derive(Debug)]
pub struct Cursor {
    log: Arc<EventLog>,
    channel: Channel,
    position: u64,
    wake: crate::Waker,
}

impl Cursor {
    /// The replay id of the last event read or skipped.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The channel it reads.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// How far behind the log it is.
    pub fn lag(&self) -> Lag {
        self.log.lag(&self.channel, self.position)
    }

    /// `Expired` once retention (or an org's reset) has passed `position`, as a read from
    /// there would be.
    pub fn retained(&self, position: u64) -> Result<(), LogError> {
        let earliest = self.log.earliest(self.channel.class);
        if position < earliest {
            return Err(LogError::Expired {
                requested: position,
                earliest,
            });
        }
        Ok(())
    }

    /// Moves back to `position` when it is behind the cursor: what was read past it is
    /// read again.
    pub fn rewind(&mut self, position: u64) {
        self.position = self.position.min(position);
    }

    /// Takes up to `max` events without waiting.
    pub fn poll(&mut self, max: usize) -> Result<Vec<Arc<Event>>, LogError> {
        let (events, pos) = self.log.read(&self.channel, self.position, max)?;
        self.position = pos;
        Ok(events)
    }

    /// Waits until an event its channel may show is visible past this cursor's position
    /// (events of other kinds leave it waiting).
    pub async fn changed(&mut self) {
        loop {
            self.wake.seen();
            if self.wake.last_rung() > self.position {
                return;
            }
            self.wake.rung().await;
        }
    }
}

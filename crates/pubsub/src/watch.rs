//! The open Subscribe and ManagedSubscribe streams, as the console lists them: each
//! registered while its flow runs, its position kept current as it delivers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use forcebus_eventlog::Channel;
use forcebus_org::RecordId;
use forcebus_org::subscribers::{Subscriber, Subscribers};
use forcebus_sync::prelude::*;

use crate::PubSub;

/// The client's address, put on each call's request by the server that accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::SocketAddr);

/// One open stream.
#[derive(Debug)]
pub(crate) struct Watched {
    pub(crate) protocol: &'static str,
    pub(crate) id: String,
    pub(crate) user: RecordId,
    pub(crate) address: Option<String>,
    pub(crate) topic: String,
    pub(crate) channel: Channel,
    /// The replay id read up to.
    pub(crate) position: AtomicU64,
    pub(crate) since_ms: i64,
}

/// Every open stream, by rpc id.
#[derive(Debug, Default)]
pub(crate) struct Open(Mutex<HashMap<String, Arc<Watched>>>);

/// A stream's place in [`Open`] and in the stream count, given up when the flow ends.
#[derive(Debug)]
pub(crate) struct Registered {
    ps: Arc<PubSub>,
    pub(crate) watched: Arc<Watched>,
}

impl Registered {
    pub(crate) fn new(ps: &Arc<PubSub>, watched: Watched) -> Self {
        ps.streams.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!("forcebus_subscribers", "protocol" => "pubsub").increment(1.0);
        let watched = Arc::new(watched);
        ps.open
            .0
            .locked()
            .insert(watched.id.clone(), watched.clone());
        Self {
            ps: ps.clone(),
            watched,
        }
    }

    /// The stream has read up to `position`.
    pub(crate) fn at(&self, position: u64) {
        self.watched.position.store(position, Ordering::Relaxed);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.ps.open.0.locked().remove(&self.watched.id);
        self.ps.streams.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!("forcebus_subscribers", "protocol" => "pubsub").decrement(1.0);
    }
}

impl Subscribers for PubSub {
    fn subscribers(&self) -> Vec<Subscriber> {
        let open: Vec<Arc<Watched>> = self.open.0.locked().values().cloned().collect();
        let log = self.org.log();
        let mut out: Vec<Subscriber> = open
            .iter()
            .map(|w| {
                let position = w.position.load(Ordering::Relaxed);
                Subscriber {
                    protocol: w.protocol,
                    id: w.id.clone(),
                    user: w.user,
                    address: w.address.clone(),
                    channel: w.topic.clone(),
                    replay_id: position,
                    lag: log.lag(&w.channel, position),
                    since_ms: w.since_ms,
                }
            })
            .collect();
        out.sort_by_key(|s| s.since_ms);
        out
    }
}

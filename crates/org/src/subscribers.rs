//! Who is subscribed right now and how far behind each is, as the console and
//! `/forcebus/v1/subscribers` show them. The streaming edges know their sessions and
//! streams; they implement [`Subscribers`], and the server hands the list to REST (the
//! org does not call the edges).

use crate::id::RecordId;

/// One subscription of a streaming client.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscriber {
    /// `cometd`, `pubsub` or `managed` (a Pub/Sub managed subscription's stream).
    pub protocol: &'static str,
    /// The CometD `clientId`, or the Pub/Sub stream's rpc id.
    pub id: String,
    /// The user it runs as.
    pub user: RecordId,
    /// The client's address, where the server knows it.
    pub address: Option<String>,
    /// The channel or topic, as the client named it.
    pub channel: String,
    /// The replay id it has read up to.
    pub replay_id: u64,
    /// How far behind the log it is.
    pub lag: forcebus_eventlog::Lag,
    /// When it began (epoch milliseconds).
    pub since_ms: i64,
}

/// A streaming edge's subscribers.
pub trait Subscribers: Send + Sync + std::fmt::Debug {
    /// Every live subscription.
    fn subscribers(&self) -> Vec<Subscriber>;
}

/// Several edges' subscribers as one list.
#[derive(Debug)]
pub struct All(pub Vec<std::sync::Arc<dyn Subscribers>>);

impl Subscribers for All {
    fn subscribers(&self) -> Vec<Subscriber> {
        self.0.iter().flat_map(|s| s.subscribers()).collect()
    }
}

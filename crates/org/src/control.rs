//! Test controls: switches that make hard-to-reproduce Salesforce behaviour happen on
//! demand (`failure-modes.md`). Every control is off by default, belongs to one org, and
//! lasts until cleared or the process ends (the clock's shift alone is durable: time that
//! passed stays passed). The org keeps the switches; each protocol reads the ones that
//! concern it and renders their effect in its own wire terms.

use forcebus_sync::prelude::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tokio::sync::watch;

/// A Pub/Sub RPC a failure can be aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Rpc {
    /// `Subscribe`.
    Subscribe,
    /// `Publish`.
    Publish,
    /// `PublishStream`.
    PublishStream,
    /// `GetSchema`.
    GetSchema,
    /// `GetTopic`.
    GetTopic,
    /// `ManagedSubscribe`.
    ManagedSubscribe,
}

impl Rpc {
    /// Every RPC, by its name in the proto.
    pub const ALL: [(Rpc, &'static str); 6] = [
        (Rpc::Subscribe, "Subscribe"),
        (Rpc::Publish, "Publish"),
        (Rpc::PublishStream, "PublishStream"),
        (Rpc::GetSchema, "GetSchema"),
        (Rpc::GetTopic, "GetTopic"),
        (Rpc::ManagedSubscribe, "ManagedSubscribe"),
    ];

    /// The RPC named `name` (as in the proto, any case).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(r, _)| *r)
    }

    /// The proto name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(r, _)| *r == self)
            .map_or("", |(_, n)| n)
    }
}

/// A failure Salesforce's Pub/Sub API is documented (or was seen) to end a call with
/// (`failure-modes.md` §3.3–§4.1, §5.1, §6.3, §8). The Pub/Sub crate renders each as its
/// status, message and `error-code` trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PubSubFailure {
    /// `INVALID_ARGUMENT`, `subscription.fetch.replayid.corrupted`.
    ReplayCorrupted,
    /// `RESOURCE_EXHAUSTED`: too many connections (seen without an `error-code`).
    ResourceExhausted,
    /// `UNAVAILABLE`: the proxy's reset before headers (seen without an `error-code`).
    Unavailable,
    /// `INTERNAL`, `service.unavailable`: the service is down; retry with backoff.
    ServiceUnavailable,
    /// `UNAUTHENTICATED`, `service.auth.error`.
    AuthError,
    /// `NOT_FOUND`, `topic.not.found`.
    TopicNotFound,
    /// `RESOURCE_EXHAUSTED`, `subscription.limit.exceeded`: the daily delivery allocation.
    DeliveryLimit,
    /// `ALREADY_EXISTS`, `managed.subscription.already.active`.
    ManagedAlreadyActive,
}

impl PubSubFailure {
    /// Every failure with the names the control accepts (the first is the canonical one):
    /// the `error-code` suffix, or the gRPC status name for the two Salesforce sends
    /// without an `error-code`.
    pub const NAMES: [(PubSubFailure, &'static [&'static str]); 8] = [
        (
            PubSubFailure::ReplayCorrupted,
            &[
                "replayid.corrupted",
                "subscription.fetch.replayid.corrupted",
            ],
        ),
        (PubSubFailure::ResourceExhausted, &["RESOURCE_EXHAUSTED"]),
        (PubSubFailure::Unavailable, &["UNAVAILABLE"]),
        (
            PubSubFailure::ServiceUnavailable,
            &["service.unavailable", "INTERNAL"],
        ),
        (
            PubSubFailure::AuthError,
            &["auth.error", "service.auth.error", "UNAUTHENTICATED"],
        ),
        (
            PubSubFailure::TopicNotFound,
            &["topic.not.found", "NOT_FOUND"],
        ),
        (
            PubSubFailure::DeliveryLimit,
            &["subscription.limit.exceeded", "limit.exceeded"],
        ),
        (
            PubSubFailure::ManagedAlreadyActive,
            &["managed.subscription.already.active", "ALREADY_EXISTS"],
        ),
    ];

    /// The failure called `name` (any case, with or without the
    /// `sfdc.platform.eventbus.grpc.` prefix).
    pub fn parse(name: &str) -> Option<Self> {
        let name = name
            .strip_prefix("sfdc.platform.eventbus.grpc.")
            .unwrap_or(name);
        Self::NAMES
            .iter()
            .find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            .map(|(f, _)| *f)
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(f, _)| *f == self)
            .map_or("", |(_, n)| n[0])
    }

    /// Every canonical name, for error messages.
    pub fn canonical_names() -> Vec<&'static str> {
        Self::NAMES.iter().map(|(_, n)| n[0]).collect()
    }
}

/// Failures armed for the next matching Pub/Sub calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmedFailure {
    /// What the calls end with.
    #[serde(serialize_with = "failure_name")]
    pub fail: PubSubFailure,
    /// The RPC it is aimed at; any RPC when `None`.
    #[serde(serialize_with = "rpc_name")]
    pub rpc: Option<Rpc>,
    /// Calls still to fail.
    pub remaining: u32,
}

fn failure_name<S: serde::Serializer>(f: &PubSubFailure, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(f.name())
}

fn rpc_name<S: serde::Serializer>(r: &Option<Rpc>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(r.name()),
        None => s.serialize_none(),
    }
}

/// Most failures armed at once.
pub const MAX_ARMED: usize = 64;

/// One org's switches (the clock and the delivery delay live with the clock and the
/// event log they change; the org's facade shows them all together).
#[derive(Debug)]
pub struct Controls {
    armed: Mutex<Vec<ArmedFailure>>,
    suppress_keepalives: AtomicBool,
    /// The org's validation rules are off (a data load, as teams switch them off with a
    /// custom setting in a real org).
    validation_rules_off: AtomicBool,
    /// Incremented by every "end streams": open Pub/Sub streams end when it changes.
    streams_ended: watch::Sender<u64>,
    /// Incremented by every "reset streams": open Pub/Sub calls are reset (HTTP/2).
    streams_reset: watch::Sender<u64>,
    /// Incremented by every "drop sessions": CometD sessions opened before are forgotten.
    sessions_dropped: watch::Sender<u64>,
}

impl Default for Controls {
    fn default() -> Self {
        Self {
            armed: Mutex::default(),
            suppress_keepalives: AtomicBool::new(false),
            validation_rules_off: AtomicBool::new(false),
            streams_ended: watch::channel(0).0,
            streams_reset: watch::channel(0).0,
            sessions_dropped: watch::channel(0).0,
        }
    }
}

impl Controls {
    /// Whether the org's validation rules are off.
    pub fn validation_rules_off(&self) -> bool {
        self.validation_rules_off.load(Ordering::Relaxed)
    }

    /// Turns the org's validation rules off (`true`) or back on.
    pub fn set_validation_rules_off(&self, off: bool) {
        self.validation_rules_off.store(off, Ordering::Relaxed);
    }

    fn armed(&self) -> std::sync::MutexGuard<'_, Vec<ArmedFailure>> {
        self.armed.locked()
    }

    /// Arms `failure` for the next `times` calls of `rpc` (any RPC when `None`). Fails when
    /// [`MAX_ARMED`] are armed already.
    pub fn arm(&self, failure: ArmedFailure) -> Result<(), usize> {
        let mut armed = self.armed();
        if armed.len() >= MAX_ARMED {
            return Err(MAX_ARMED);
        }
        if failure.remaining > 0 {
            armed.push(failure);
        }
        Ok(())
    }

    /// The failure the next call of `rpc` must end with, if one is armed for it (the
    /// earliest armed first); counts it.
    pub fn take_failure(&self, rpc: Rpc) -> Option<PubSubFailure> {
        let mut armed = self.armed();
        let i = armed.iter().position(|a| a.rpc.is_none_or(|r| r == rpc))?;
        let fail = armed[i].fail;
        armed[i].remaining -= 1;
        if armed[i].remaining == 0 {
            armed.remove(i);
        }
        Some(fail)
    }

    /// The failures still armed.
    pub fn armed_failures(&self) -> Vec<ArmedFailure> {
        self.armed().clone()
    }

    /// Whether Pub/Sub keepalives are held back.
    pub fn keepalives_suppressed(&self) -> bool {
        self.suppress_keepalives.load(Ordering::Relaxed)
    }

    /// Holds back (or lets through again) Pub/Sub keepalives.
    pub fn suppress_keepalives(&self, on: bool) {
        self.suppress_keepalives.store(on, Ordering::Relaxed);
    }

    /// Ends every open Pub/Sub stream.
    pub fn end_streams(&self) {
        self.streams_ended.send_modify(|n| *n += 1);
    }

    /// Changes whenever [`Controls::end_streams`] is called.
    pub fn streams_ended(&self) -> watch::Receiver<u64> {
        self.streams_ended.subscribe()
    }

    /// Resets every open Pub/Sub call at the transport (HTTP/2 `RST_STREAM`).
    pub fn reset_streams(&self) {
        self.streams_reset.send_modify(|n| *n += 1);
    }

    /// Changes whenever [`Controls::reset_streams`] is called.
    pub fn streams_reset(&self) -> watch::Receiver<u64> {
        self.streams_reset.subscribe()
    }

    /// Forgets every CometD session open now.
    pub fn drop_sessions(&self) {
        self.sessions_dropped.send_modify(|n| *n += 1);
    }

    /// How many times sessions were dropped: a session opened at a lower count is gone.
    pub fn session_epoch(&self) -> u64 {
        *self.sessions_dropped.borrow()
    }

    /// Changes whenever [`Controls::drop_sessions`] is called.
    pub fn sessions_dropped(&self) -> watch::Receiver<u64> {
        self.sessions_dropped.subscribe()
    }

    /// Disarms every failure and lets keepalives through (dropped sessions and ended
    /// streams are events, not states: nothing to clear).
    pub fn clear(&self) {
        self.armed().clear();
        self.suppress_keepalives(false);
        self.set_validation_rules_off(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_failure_fails_exactly_its_count_of_matching_calls() {
        let c = Controls::default();
        c.arm(ArmedFailure {
            fail: PubSubFailure::ReplayCorrupted,
            rpc: Some(Rpc::Subscribe),
            remaining: 2,
        })
        .unwrap();
        assert_eq!(c.take_failure(Rpc::Publish), None);
        assert_eq!(
            c.take_failure(Rpc::Subscribe),
            Some(PubSubFailure::ReplayCorrupted)
        );
        assert_eq!(
            c.take_failure(Rpc::Subscribe),
            Some(PubSubFailure::ReplayCorrupted)
        );
        assert_eq!(c.take_failure(Rpc::Subscribe), None);
        assert!(c.armed_failures().is_empty());
    }

    #[test]
    fn names_parse_with_or_without_the_prefix_and_in_any_rpc_case() {
        assert_eq!(
            PubSubFailure::parse(
                "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
            ),
            Some(PubSubFailure::ReplayCorrupted)
        );
        assert_eq!(
            PubSubFailure::parse("service.unavailable"),
            Some(PubSubFailure::ServiceUnavailable)
        );
        assert_eq!(PubSubFailure::parse("nonsense"), None);
        assert_eq!(Rpc::parse("managedsubscribe"), Some(Rpc::ManagedSubscribe));
        for (f, _) in PubSubFailure::NAMES {
            assert_eq!(PubSubFailure::parse(f.name()), Some(f));
        }
    }

    #[test]
    fn arming_is_bounded_and_clearing_disarms_everything() {
        let c = Controls::default();
        for _ in 0..MAX_ARMED {
            c.arm(ArmedFailure {
                fail: PubSubFailure::AuthError,
                rpc: None,
                remaining: 1,
            })
            .unwrap();
        }
        assert!(
            c.arm(ArmedFailure {
                fail: PubSubFailure::AuthError,
                rpc: None,
                remaining: 1,
            })
            .is_err()
        );
        c.suppress_keepalives(true);
        c.clear();
        assert!(c.armed_failures().is_empty());
        assert!(!c.keepalives_suppressed());
    }
}

//! ManagedSubscribe (`pubsub-api.md` §4.7): a subscription stored in the org as the
//! tooling sObject `ManagedEventSubscription` (key prefix `18x`), named in the first
//! request by id or developer name, with its last committed replay id kept by the server.
//!
//! - Start: after the committed replay id; without one, the subscription's
//!   `defaultReplay`; when the committed id is no longer valid (past retention), its
//!   `errorRecoveryReplay`.
//! - Commits ride on any request and are answered at once with a response carrying
//!   `commit_response` (plus `latest_replay_id` and `pending_num_requested`, since the npm
//!   client handles every message alike). A commit that cannot be honoured (empty or
//!   malformed id, an id beyond the log) gets a `COMMIT` error; the stream goes on.
//! - The subscription must be in the RUN state; a stream whose subscription leaves it
//!   ends within `STATE_CHECK` (5 s), and the stored commit is forgotten.
//!
//! Commits are kept by the org ([`forcebus_org::Org::commit_replay_id`]), keyed by the
//! subscription's id, so they survive restarts.

use std::sync::Arc;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use forcebus_eventlog::{Cursor, LogError, Start};
use forcebus_org::{Record, RecordId};

use crate::error::PubSubError;
use crate::flow::{Ask, Flow, Mode, Out};
use crate::opening::{self, Opened};
use crate::proto::{
    CommitReplayRequest, CommitReplayResponse, Error, ErrorCode, ManagedFetchRequest,
    ManagedFetchResponse,
};
use crate::{PubSub, Stream, Topic, replay};

/// The tooling sObject that stores managed subscriptions.
pub const OBJECT: &str = "ManagedEventSubscription";

/// How soon an open stream notices that its subscription left the RUN state.
const STATE_CHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// A managed subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The record id.
    pub id: RecordId,
    /// `DeveloperName`.
    pub developer_name: String,
    /// The topic it subscribes to.
    pub topic_name: String,
    /// Where it starts without a commit.
    pub default_replay: Start,
    /// Where it starts when the committed id is no longer valid.
    pub error_recovery_replay: Start,
    /// Whether its state is RUN.
    pub running: bool,
}

fn preset(r: &Record, field: &str) -> Start {
    match r.get_str(field) {
        Some(p) if p.eq_ignore_ascii_case("EARLIEST") => Start::Earliest,
        _ => Start::Latest,
    }
}

impl Subscription {
    fn of(r: &Record) -> Option<Self> {
        (r.object == OBJECT && !r.is_deleted).then(|| Self {
            id: r.id,
            developer_name: r.get_str("DeveloperName").unwrap_or_default().to_owned(),
            topic_name: r.get_str("TopicName").unwrap_or_default().to_owned(),
            default_replay: preset(r, "DefaultReplay"),
            error_recovery_replay: preset(r, "ErrorRecoveryReplay"),
            running: r
                .get_str("State")
                .is_some_and(|s| s.eq_ignore_ascii_case("RUN")),
        })
    }
}

impl PubSub {
    /// A managed subscription by id (15 or 18 characters) or developer name.
    pub fn managed_subscription(&self, id: &str, developer_name: &str) -> Option<Subscription> {
        if !id.is_empty() {
            return RecordId::parse(id)
                .and_then(|i| self.org.get(i))
                .and_then(|r| Subscription::of(&r));
        }
        self.org
            .scan(OBJECT, |r| {
                Subscription::of(r).filter(|s| s.developer_name == developer_name)
            })
            .into_iter()
            .next()
    }

    /// The committed replay id of a managed subscription.
    pub fn committed(&self, id: RecordId) -> Result<Option<u64>, PubSubError> {
        self.org
            .committed_replay_id(id)
            .map_err(|_| PubSubError::Unavailable)
    }

    fn store_commit(&self, id: RecordId, replay: Option<u64>) -> Result<(), PubSubError> {
        self.org
            .commit_replay_id(id, replay)
            .map_err(|_| PubSubError::Unavailable)
    }
}

pub(crate) fn managed_subscribe(
    ps: &Arc<PubSub>,
    request: Request<Streaming<ManagedFetchRequest>>,
) -> Result<Response<Stream<ManagedFetchResponse>>, Status> {
    opening::open(
        ps,
        request,
        |rpc| tracing::debug_span!("managed_subscribe", rpc_id = %rpc),
        start,
    )
}

async fn start(mut call: Opened<ManagedFetchRequest, ManagedFetchResponse>) {
    let Some(first) = call.first().await else {
        return;
    };
    let Opened {
        ps,
        inbound,
        tx,
        rpc,
        token,
        address,
        ended,
        user,
        ..
    } = call;
    if let Some(e) = ps.injected(forcebus_org::control::Rpc::ManagedSubscribe, "") {
        let _ = tx.send(Err(e.status(&rpc))).await;
        return;
    }
    let (sub, topic, cursor) = match open(&ps, &first, user) {
        Ok(v) => v,
        Err(e) => {
            let _ = tx.send(Err(e.status(&rpc))).await;
            return;
        }
    };
    tracing::debug!(rpc_id = %rpc, subscription = %sub.id.to18(), topic = %topic.name, "Managed subscription opened.");
    let asks = inbound.map(|r| match r {
        Ok(r) => Ok(Ask {
            num_requested: r.num_requested,
            commit: r.commit_replay_id_request,
        }),
        Err(_) => Err(PubSubError::InvalidRequest(
            "The request stream failed.".into(),
        )),
    });
    let pending = first.num_requested.clamp(0, ps.config.max_requested as i32) as u32;
    let flow = Flow {
        ps: ps.clone(),
        topic,
        reader: crate::ahead::Reader::new(cursor),
        pending,
        rpc_id: rpc,
        mode: Managed { id: sub.id },
        tx,
        _hold: ps.auth.hold(&token),
        token,
        ended,
        address,
        watched: None,
    };
    // A commit may ride on the first request too.
    let initial = first.commit_replay_id_request.map(|c| Ask {
        num_requested: 0,
        commit: Some(c),
    });
    flow.spawn(initial, Box::pin(asks));
}

fn open(
    ps: &Arc<PubSub>,
    first: &ManagedFetchRequest,
    user: forcebus_org::RecordId,
) -> Result<(Subscription, Topic, Cursor), PubSubError> {
    let name = if first.subscription_id.is_empty() {
        &first.developer_name
    } else {
        &first.subscription_id
    };
    if name.is_empty() {
        return Err(PubSubError::InvalidRequest(
            "A subscription ID or developer name is required in the first ManagedFetchRequest."
                .into(),
        ));
    }
    let sub = ps
        .managed_subscription(&first.subscription_id, &first.developer_name)
        .ok_or_else(|| PubSubError::SubscriptionNotFound(name.clone()))?;
    if !sub.running {
        ps.store_commit(sub.id, None)?;
        return Err(PubSubError::SubscriptionStopped(sub.developer_name));
    }
    let topic = ps
        .topic(&sub.topic_name)
        .filter(|t| t.can_subscribe)
        .ok_or_else(|| ps.topic_not_found(&sub.topic_name))?;
    let topic = ps.for_subscriber(topic, user)?;
    let log = ps.org.log();
    let cursor = match ps.committed(sub.id)? {
        Some(id) => match log.subscribe(topic.channel.clone(), Start::After(id)) {
            Ok(c) => c,
            Err(LogError::Expired { .. } | LogError::Future { .. }) => log
                .subscribe(topic.channel.clone(), sub.error_recovery_replay)
                .map_err(|_| PubSubError::Unavailable)?,
            Err(_) => return Err(PubSubError::Unavailable),
        },
        None => log
            .subscribe(topic.channel.clone(), sub.default_replay)
            .map_err(|_| PubSubError::Unavailable)?,
    };
    Ok((sub, topic, cursor))
}

/// ManagedSubscribe's flavour of the flow.
struct Managed {
    id: RecordId,
}

fn commit_error(r: CommitReplayRequest, msg: &str, now: i64) -> CommitReplayResponse {
    CommitReplayResponse {
        commit_request_id: r.commit_request_id,
        replay_id: r.replay_id,
        error: Some(Error {
            code: ErrorCode::Commit as i32,
            msg: msg.to_owned(),
        }),
        process_time: now,
    }
}

impl Mode for Managed {
    const PROTOCOL: &'static str = "managed";
    type Response = ManagedFetchResponse;

    fn wrap(&self, out: Out, rpc_id: &str) -> ManagedFetchResponse {
        ManagedFetchResponse {
            events: out.events,
            latest_replay_id: out.latest_replay_id,
            rpc_id: rpc_id.to_owned(),
            pending_num_requested: out.pending,
            commit_response: out.commit,
        }
    }

    async fn commit(&mut self, ps: &PubSub, r: CommitReplayRequest) -> CommitReplayResponse {
        let now = ps.org.clock().now().timestamp_millis();
        let id = match replay::decode(&r.replay_id) {
            Ok(id) => id,
            Err(_) => return commit_error(r, "The replay ID to commit isn't valid.", now),
        };
        if id > ps.org.log().last_replay_id() {
            return commit_error(r, "The replay ID to commit refers to no event.", now);
        }
        if ps.store_commit(self.id, Some(id)).is_err() {
            return commit_error(
                r,
                "The replay ID couldn't be committed. Try again later.",
                now,
            );
        }
        tracing::debug!(subscription = %self.id.to18(), replay_id = id, "Replay id committed.");
        CommitReplayResponse {
            commit_request_id: r.commit_request_id,
            replay_id: r.replay_id,
            error: None,
            process_time: now,
        }
    }

    fn check_every(&self) -> Option<std::time::Duration> {
        Some(STATE_CHECK)
    }

    fn check(&mut self, ps: &PubSub) -> Result<(), PubSubError> {
        match ps.org.get(self.id).as_ref().and_then(Subscription::of) {
            Some(s) if s.running => Ok(()),
            other => {
                ps.store_commit(self.id, None)?;
                let name = other.map_or_else(|| self.id.to18(), |s| s.developer_name);
                Err(PubSubError::SubscriptionStopped(name))
            }
        }
    }
}

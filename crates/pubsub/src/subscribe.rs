//! Subscribe (`pubsub-api.md` §4.4, §4.5): the first FetchRequest picks the topic, the
//! start and the first credit; later ones add credit and, if they name a topic, must name
//! the same one. Their replay fields are ignored (the official Python example resends
//! them every time).

use std::sync::Arc;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use forcebus_eventlog::{LogError, Start};
use forcebus_org::control::Rpc;

use crate::error::PubSubError;
use crate::flow::{Ask, Flow, Mode, Out};
use crate::opening::{self, Opened};
use crate::proto::{
    CommitReplayRequest, CommitReplayResponse, FetchRequest, FetchResponse, ReplayPreset,
};
use crate::replay::{self, ReplayIdError};
use crate::{PubSub, Stream};

pub(crate) fn subscribe(
    ps: &Arc<PubSub>,
    request: Request<Streaming<FetchRequest>>,
) -> Result<Response<Stream<FetchResponse>>, Status> {
    opening::open(
        ps,
        request,
        |rpc| tracing::debug_span!("subscribe", rpc_id = %rpc),
        start,
    )
}

async fn start(mut call: Opened<FetchRequest, FetchResponse>) {
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
    if let Some(e) = ps.injected(Rpc::Subscribe, &first.topic_name) {
        let _ = tx.send(Err(e.status(&rpc))).await;
        return;
    }
    let (topic, cursor) = match open(&ps, &first, user) {
        Ok(v) => v,
        Err(e) => {
            let _ = tx.send(Err(e.status(&rpc))).await;
            return;
        }
    };
    tracing::debug!(rpc_id = %rpc, topic = %topic.name, "Subscription opened.");
    let name = topic.name.clone();
    let asks = inbound.map(move |r| match r {
        Ok(r) if !r.topic_name.is_empty() && r.topic_name != name => {
            Err(PubSubError::TopicChanged {
                first: name.clone(),
                got: r.topic_name,
            })
        }
        Ok(r) => Ok(Ask {
            num_requested: r.num_requested,
            commit: None,
        }),
        // The client's stream broke: treat it as gone.
        Err(_) => Err(PubSubError::InvalidRequest(
            "The request stream failed.".into(),
        )),
    });
    let pending = first.num_requested.clamp(0, ps.config.max_requested as i32) as u32;
    Flow {
        ps: ps.clone(),
        topic,
        reader: crate::ahead::Reader::new(cursor),
        pending,
        rpc_id: rpc,
        mode: Plain,
        tx,
        _hold: ps.auth.hold(&token),
        token,
        ended,
        address,
        watched: None,
    }
    .spawn(None, Box::pin(asks));
}

/// Resolves the first request's topic and opens its cursor at the requested start.
fn open(
    ps: &Arc<PubSub>,
    first: &FetchRequest,
    user: forcebus_org::RecordId,
) -> Result<(crate::Topic, forcebus_eventlog::Cursor), PubSubError> {
    if first.topic_name.is_empty() {
        return Err(PubSubError::InvalidRequest(
            "The topic name is required in the first FetchRequest of a stream.".into(),
        ));
    }
    let topic = ps
        .topic(&first.topic_name)
        .filter(|t| t.can_subscribe)
        .ok_or_else(|| ps.topic_not_found(&first.topic_name))?;
    let topic = ps.for_subscriber(topic, user)?;
    let start = match ReplayPreset::try_from(first.replay_preset) {
        Ok(ReplayPreset::Earliest) => Start::Earliest,
        Ok(ReplayPreset::Custom) => match replay::decode(&first.replay_id) {
            Ok(id) => Start::After(id),
            Err(ReplayIdError::Short(_)) => return Err(PubSubError::ReplayValidation),
            Err(ReplayIdError::Long(_)) => return Err(PubSubError::ReplayCorrupted),
        },
        // LATEST, and values this proto does not know (proto3 enums are open).
        _ => Start::Latest,
    };
    let cursor = ps
        .org
        .log()
        .subscribe(topic.channel.clone(), start)
        .map_err(|e| match e {
            LogError::Expired { .. } | LogError::Future { .. } => PubSubError::ReplayCorrupted,
            _ => PubSubError::Unavailable,
        })?;
    Ok((topic, cursor))
}

/// Subscribe's flavour of the flow: no commits, no subscription state.
struct Plain;

impl Mode for Plain {
    const PROTOCOL: &'static str = "pubsub";
    type Response = FetchResponse;

    fn wrap(&self, out: Out, rpc_id: &str) -> FetchResponse {
        FetchResponse {
            events: out.events,
            latest_replay_id: out.latest_replay_id,
            rpc_id: rpc_id.to_owned(),
            pending_num_requested: out.pending,
        }
    }

    async fn commit(&mut self, _: &PubSub, r: CommitReplayRequest) -> CommitReplayResponse {
        // FetchRequests carry no commits, so no Ask of this mode holds one.
        CommitReplayResponse {
            commit_request_id: r.commit_request_id,
            replay_id: r.replay_id,
            error: Some(crate::proto::Error {
                code: crate::proto::ErrorCode::Commit as i32,
                msg: "Commits are for managed subscriptions.".into(),
            }),
            process_time: 0,
        }
    }

    fn check(&mut self, _: &PubSub) -> Result<(), PubSubError> {
        Ok(())
    }
}

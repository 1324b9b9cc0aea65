//! Publish and PublishStream (`pubsub-api.md` §4.6).
//!
//! Each event is checked on its own: its schema id must be one of the topic's schemas,
//! its payload must decode against that schema, it must fit `max_event_bytes`, and a
//! publisher-chosen id must fit 36 characters. A failed event gets a `PUBLISH` error in
//! its result (and replay id 0) and does not stop the others. Results come back in request order with the
//! event's id (or a generated UUID) as `correlation_key`. A request over
//! `max_request_bytes` fails the whole call (and ends a PublishStream), as Salesforce's
//! does.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use forcebus_org::RecordId;
use forcebus_org::platform::Fields;

use crate::error::{PubSubError, rpc_id};
use crate::opening::{self, Opened};
use crate::proto::{
    Error, ErrorCode, ProducerEvent, PublishRequest, PublishResponse, PublishResult,
};
use crate::responses::Responses;
use crate::topic::Topic;
use crate::{PubSub, Stream, auth, replay};

/// Each appended event's replay id (or its error), and the append to make durable.
type AppendOutcome = (Vec<Result<u64, String>>, Option<forcebus_eventlog::Commit>);

/// Longest publisher-chosen event id.
const MAX_ID_CHARS: usize = 36;

/// An event that passed every check, ready to append.
#[derive(Debug)]
pub struct Accepted {
    /// Its position in the request.
    pub index: usize,
    /// The correlation key (the publisher's id or a generated UUID); also the event UUID.
    pub id: String,
    /// The schema it was written with.
    pub schema_id: String,
    /// The decoded payload.
    pub value: forcebus_avro::Value,
    /// The payload as sent.
    pub payload: bytes::Bytes,
}

pub(crate) async fn publish(
    ps: &Arc<PubSub>,
    request: Request<PublishRequest>,
) -> Result<Response<PublishResponse>, Status> {
    let rpc = rpc_id();
    let user = auth::authenticate(&ps.auth, request.metadata())
        .map_err(|e| e.status(&rpc))?
        .user_id;
    let req = request.into_inner();
    if let Some(e) = ps.injected(forcebus_org::control::Rpc::Publish, &req.topic_name) {
        return Err(e.status(&rpc));
    }
    let topic = ps.publish_topic(&req).map_err(|e| e.status(&rpc))?;
    // A task of its own: a caller that goes away cannot leave appended events unshown.
    let ps = ps.clone();
    let published = tokio::spawn(async move {
        let ps2 = ps.clone();
        let (schema_id, results, pending) =
            tokio::task::spawn_blocking(move || ps2.publish_events(&topic, user, req.events))
                .await
                .map_err(|_| PubSubError::Unavailable)??;
        ps.finish(pending).await?;
        Ok::<_, PubSubError>((schema_id, results))
    })
    .await
    .map_err(|_| PubSubError::Unavailable.status(&rpc))?;
    let (schema_id, results) = published.map_err(|e| e.status(&rpc))?;
    Ok(Response::new(PublishResponse {
        results,
        schema_id,
        rpc_id: rpc,
    }))
}

pub(crate) fn publish_stream(
    ps: &Arc<PubSub>,
    request: Request<Streaming<PublishRequest>>,
) -> Result<Response<Stream<PublishResponse>>, Status> {
    opening::open(
        ps,
        request,
        |rpc| tracing::debug_span!("publish_stream", rpc_id = %rpc),
        stream,
    )
}

/// PublishRequests of one stream whose events are appended and that wait for durability
/// while the next ones are read and appended (responses still go out in request order).
const PIPELINE: usize = 8;

/// A response being made: ready, or waiting for its events to become durable.
type Answer = tokio::task::JoinHandle<Result<PublishResponse, PubSubError>>;

async fn stream(call: Opened<PublishRequest, PublishResponse>) {
    let Opened {
        ps,
        mut inbound,
        tx,
        rpc,
        user,
        mut ended,
        ..
    } = call;
    // Responses go out in request order from here; a failed one ends the stream.
    let (answers, ordered) = mpsc::channel::<Answer>(PIPELINE);
    let responder = tokio::spawn(respond_in_order(ordered, tx, rpc.clone()));
    let mut first_topic: Option<String> = None;
    while let Some(mut req) = next_request(&ps, &mut inbound, &answers, &rpc, &mut ended).await {
        if first_topic.is_none()
            && let Some(e) = ps.injected(forcebus_org::control::Rpc::PublishStream, &req.topic_name)
        {
            let _ = answers.send(ready(Err(e))).await;
            break;
        }
        let topic = match stream_topic(&ps, first_topic.as_deref(), &mut req) {
            Ok(t) => t,
            Err(e) => {
                let _ = answers.send(ready(Err(e))).await;
                break;
            }
        };
        // The responder stops at the first failed answer: append nothing more then, as
        // it could never be acknowledged.
        if answers.is_closed() {
            break;
        }
        first_topic.get_or_insert_with(|| topic.name.clone());
        let answer = match append_request(&ps, topic, user, req.events, &rpc).await {
            Ok(answer) => answer,
            Err(e) => {
                let _ = answers.send(ready(Err(e))).await;
                break;
            }
        };
        if answers.send(answer).await.is_err() {
            break;
        }
    }
    drop(answers);
    let _ = responder.await;
}

/// An answer that is already known.
fn ready(r: Result<PublishResponse, PubSubError>) -> Answer {
    tokio::spawn(async move { r })
}

/// Sends the answers to the client in request order, each once it is made; stops at the
/// first failed one (which ends the stream) or when the client has gone.
async fn respond_in_order(
    mut ordered: mpsc::Receiver<Answer>,
    tx: Responses<PublishResponse>,
    rpc: String,
) {
    while let Some(answer) = ordered.recv().await {
        let msg = answer
            .await
            .unwrap_or(Err(PubSubError::Unavailable))
            .map_err(|e| e.status(&rpc));
        let fatal = msg.is_err();
        if tx.send(msg).await.is_err() || fatal {
            return;
        }
    }
}

/// The stream's next request, or `None` once the stream is over: the client closed it
/// or failed, it stayed idle past `publish_idle_timeout`, or the server is shutting down
/// or the test controls end the org's streams (then the client is answered
/// "service unavailable").
async fn next_request(
    ps: &PubSub,
    inbound: &mut Streaming<PublishRequest>,
    answers: &mpsc::Sender<Answer>,
    rpc: &str,
    ended: &mut tokio::sync::watch::Receiver<u64>,
) -> Option<PublishRequest> {
    let idle: Duration = ps.config.publish_idle_timeout;
    let next = tokio::select! {
        _ = ps.closed() => {
            let _ = answers.send(ready(Err(PubSubError::Unavailable))).await;
            return None;
        }
        Ok(()) = ended.changed() => {
            let _ = answers.send(ready(Err(PubSubError::Unavailable))).await;
            return None;
        }
        next = tokio::time::timeout(idle, inbound.next()) => next,
    };
    match next {
        Ok(Some(Ok(r))) => Some(r),
        Ok(None) | Ok(Some(Err(_))) => None,
        Err(_) => {
            tracing::debug!(rpc_id = %rpc, "PublishStream idle; closed.");
            None
        }
    }
}

/// The topic of a request in a stream whose first request named `first`: later requests
/// may repeat that topic or leave it empty (it is filled in), but not name another.
fn stream_topic(
    ps: &PubSub,
    first: Option<&str>,
    req: &mut PublishRequest,
) -> Result<Topic, PubSubError> {
    match first {
        Some(t) if !req.topic_name.is_empty() && t != req.topic_name => {
            Err(PubSubError::TopicChanged {
                first: t.to_owned(),
                got: req.topic_name.clone(),
            })
        }
        _ => {
            if req.topic_name.is_empty() {
                req.topic_name = first.unwrap_or_default().to_owned();
            }
            ps.publish_topic(req)
        }
    }
}

/// Checks and appends one request's events (in request order, off the async workers)
/// and answers with the task that waits for their durability and then makes the
/// response, so the stream reads on meanwhile.
async fn append_request(
    ps: &Arc<PubSub>,
    topic: Topic,
    user: RecordId,
    events: Vec<ProducerEvent>,
    rpc: &str,
) -> Result<Answer, PubSubError> {
    let ps2 = ps.clone();
    let (schema_id, results, pending) =
        tokio::task::spawn_blocking(move || ps2.publish_events(&topic, user, events))
            .await
            .unwrap_or(Err(PubSubError::Unavailable))?;
    let (ps, rpc) = (ps.clone(), rpc.to_owned());
    Ok(tokio::spawn(async move {
        ps.finish(pending).await?;
        Ok(PublishResponse {
            results,
            schema_id,
            rpc_id: rpc,
        })
    }))
}

impl PubSub {
    /// The request's topic, if the request may be published at all.
    pub(crate) fn publish_topic(&self, req: &PublishRequest) -> Result<Topic, PubSubError> {
        if req.encoded_len() > self.config.max_request_bytes {
            return Err(PubSubError::RequestTooLarge);
        }
        if req.topic_name.is_empty() {
            return Err(PubSubError::InvalidRequest(
                "The topic name is required in a PublishRequest.".into(),
            ));
        }
        let topic = self
            .topic(&req.topic_name)
            .ok_or_else(|| self.topic_not_found(&req.topic_name))?;
        if !topic.can_publish {
            return Err(PubSubError::PublishNotAllowed(topic.name));
        }
        Ok(topic)
    }

    /// Checks every event, appends those that pass as `user`, and answers one result per
    /// event in request order, with the schema id to report with them. The results may be
    /// sent only once [`PubSub::finish`] has made the appended events durable.
    fn publish_events(
        &self,
        topic: &Topic,
        user: RecordId,
        events: Vec<ProducerEvent>,
    ) -> Result<
        (
            String,
            Vec<PublishResult>,
            Option<forcebus_eventlog::Commit>,
        ),
        PubSubError,
    > {
        let (mut results, accepted) = self.check_publish(topic, events);
        let indexes: Vec<usize> = accepted.iter().map(|a| a.index).collect();
        let (outcomes, pending) = self.append(topic, user, accepted)?;
        for (index, outcome) in indexes.into_iter().zip(outcomes) {
            let r = &mut results[index];
            match outcome {
                Ok(id) => r.replay_id = replay::encode(id),
                Err(msg) => {
                    r.replay_id = replay::encode(0);
                    r.error = Some(Error {
                        code: ErrorCode::Publish as i32,
                        msg,
                    });
                }
            }
        }
        Ok((topic.schema_id.clone(), results, pending))
    }

    /// Waits until appended events are durable (and shown to subscribers).
    async fn finish(&self, pending: Option<forcebus_eventlog::Commit>) -> Result<(), PubSubError> {
        let Some(pending) = pending else {
            return Ok(());
        };
        pending.wait_async().await.map(drop).map_err(|e| {
            tracing::error!(error = %e, "A publish could not be made durable.");
            PubSubError::Unavailable
        })
    }

    /// The per-event checks of a publish to `topic`: one result per event in request
    /// order (failures carry their `PUBLISH` error and are final; successes carry their
    /// correlation key and await a replay id), and the events that passed.
    pub fn check_publish(
        &self,
        topic: &Topic,
        events: Vec<ProducerEvent>,
    ) -> (Vec<PublishResult>, Vec<Accepted>) {
        let mut results: Vec<PublishResult> = Vec::with_capacity(events.len());
        let mut accepted = Vec::new();
        for (index, e) in events.into_iter().enumerate() {
            match self.check_event(topic, e) {
                Ok(mut a) => {
                    a.index = index;
                    results.push(PublishResult {
                        correlation_key: a.id.clone(),
                        ..Default::default()
                    });
                    accepted.push(a);
                }
                Err((key, msg)) => results.push(PublishResult {
                    // Zero, which is no event's replay id, rather than empty: the npm
                    // client decodes every result's replay id, and an empty one crashes
                    // its PublishStream handler (`pubsub-api.md` §6, §7 question 8).
                    replay_id: replay::encode(0),
                    error: Some(Error {
                        code: ErrorCode::Publish as i32,
                        msg,
                    }),
                    correlation_key: key,
                }),
            }
        }
        (results, accepted)
    }

    /// One event's checks; on failure the correlation key to report and the message.
    fn check_event(&self, topic: &Topic, e: ProducerEvent) -> Result<Accepted, (String, String)> {
        if e.id.chars().count() > MAX_ID_CHARS {
            return Err((
                String::new(),
                format!(
                    "The event ID {} exceeds the maximum length of {MAX_ID_CHARS} characters.",
                    e.id
                ),
            ));
        }
        let key = e.id.clone();
        let fail = |msg: String| Err((key.clone(), msg));
        if e.payload.len() > self.config.max_event_bytes {
            return fail(format!(
                "The event size of {} bytes exceeds the maximum event size of {} bytes.",
                e.payload.len(),
                self.config.max_event_bytes
            ));
        }
        let Some(schema) = self
            .schema(&e.schema_id)
            .filter(|s| self.schema_of_topic(topic, s))
        else {
            return fail(format!(
                "The schema ID {} isn't a schema of the topic {}.",
                e.schema_id, topic.name
            ));
        };
        let value = match forcebus_avro::decode(&schema, &e.payload) {
            Ok(v) => v,
            Err(err) => {
                return fail(format!(
                    "The event payload can't be decoded with the schema {}: {err}.",
                    e.schema_id
                ));
            }
        };
        let id = if e.id.is_empty() {
            forcebus_org::new_uuid()
        } else {
            e.id
        };
        Ok(Accepted {
            index: 0,
            id,
            schema_id: e.schema_id,
            value,
            payload: e.payload,
        })
    }

    /// Whether `schema` is one of the topic's (its current one, or an older version of
    /// the same record).
    fn schema_of_topic(&self, topic: &Topic, schema: &forcebus_avro::Schema) -> bool {
        let current = self.schema(&topic.schema_id);
        match (
            current.as_deref().and_then(|c| c.as_record()),
            schema.as_record(),
        ) {
            (Some(c), Some(s)) => c.name == s.name && c.namespace == s.namespace,
            _ => false,
        }
    }

    /// Appends accepted events to the log as `user`: per event, in order, its replay id or
    /// why the org refused it (reported as that event's `PUBLISH` error). A failure of the
    /// whole append (storage) fails the call. No topic served today can be published to
    /// (`publish_topic` refuses them all), so nothing reaches this yet; platform events
    /// add their append here (each `Accepted::id` is the event's UUID).
    fn append(
        &self,
        topic: &Topic,
        user: RecordId,
        accepted: Vec<Accepted>,
    ) -> Result<AppendOutcome, PubSubError> {
        if accepted.is_empty() {
            return Ok((Vec::new(), None));
        }
        let Some(def) = topic
            .name
            .strip_prefix("/event/")
            .and_then(|n| self.org.platform_event(n))
        else {
            return Err(PubSubError::PublishNotAllowed(topic.name.clone()));
        };
        let mut inputs = Vec::with_capacity(accepted.len());
        for a in accepted {
            // In the definition's current schema, the record is checked and encoded as
            // it is; in an older one, through the field values it gives.
            let fields = if a.schema_id == def.schema_id {
                Fields::Avro(a.value)
            } else {
                let schema = self
                    .schema(&a.schema_id)
                    .ok_or_else(|| PubSubError::SchemaNotFound(a.schema_id.clone()))?;
                Fields::Json(forcebus_events::platform::values_from_avro(
                    &def.object,
                    &schema,
                    &a.value,
                ))
            };
            inputs.push((def.clone(), fields, Some(a.id)));
        }
        let caller = forcebus_org::Caller::pubsub(user);
        // Pub/Sub publishes each event on its own: one bad event fails only itself.
        let (results, pending) = self
            .org
            .publish(&caller, &inputs, false)
            .map_err(|e| {
                tracing::error!(error = %e, "Publishing failed in storage.");
                PubSubError::Unavailable
            })?
            .into_parts();
        let outcomes = results
            .into_iter()
            .map(|r| {
                r.map(|p| p.replay_id)
                    .map_err(|e| format!("{}: {}", e.code, e.message))
            })
            .collect();
        Ok((outcomes, Some(pending)))
    }
}

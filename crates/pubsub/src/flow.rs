//! The flow-control loop of Subscribe and ManagedSubscribe (`pubsub-api.md` §4.4, §4.7).
//!
//! - Credit: every request adds its `num_requested` (non-positive adds nothing); the
//!   outstanding credit is capped at `max_requested`. Each delivered event uses one.
//! - Responses carry `pending_num_requested` = the credit left after that response, and
//!   always `latest_replay_id`: the last event's id in a batch, the stream's position
//!   otherwise (which may be ahead of the last delivered event, past events its channel
//!   does not show, but never past a window read ahead and not yet delivered).
//! - Read-ahead: once a delivery uses up the credit, the next window is read before the
//!   client asks (`ahead`).
//! - A response stays under `max_response_bytes`; a larger batch is split.
//! - Keepalive: with credit outstanding, an empty response after `keepalive` without one.
//! - Credentials: the stream ends with `UNAUTHENTICATED` once its token is revoked
//!   (checked when tokens are forgotten and before every delivery); the stream holds its
//!   token, which does not expire while it is open.
//! - Idle: with no credit, the stream ends (status OK) after `idle_timeout` without a
//!   request. The clock starts when the client has nothing outstanding: at its last
//!   request or when its credit ran out, whichever is later (a stream whose credit runs
//!   out after a long quiet waits for the client's top-up). A client half-close ends it too; a server shutdown, or the test controls'
//!   "end streams", ends it with Salesforce's "service unavailable".
//! - The test controls may hold keepalives back.

use std::sync::Arc;

use bytes::Bytes;
use prost::Message;
use tokio::time::{Instant, sleep_until};
use tokio_stream::{Stream, StreamExt};
use tracing::Instrument;

use forcebus_eventlog::LogError;

use crate::ahead::Reader;
use crate::deadlines::Deadlines;
use crate::error::PubSubError;
use crate::proto::{CommitReplayRequest, CommitReplayResponse, ConsumerEvent};
use crate::responses::Responses;
use crate::topic::Topic;
use crate::{PubSub, replay};

/// A request after the first, in either RPC's terms.
#[derive(Debug, Default)]
pub(crate) struct Ask {
    /// Events the client can take in addition.
    pub(crate) num_requested: i32,
    /// A replay id to commit (ManagedSubscribe).
    pub(crate) commit: Option<CommitReplayRequest>,
}

/// One response, in either RPC's terms.
#[derive(Debug)]
pub(crate) struct Out {
    pub(crate) events: Vec<ConsumerEvent>,
    pub(crate) latest_replay_id: Bytes,
    pub(crate) pending: i32,
    pub(crate) commit: Option<CommitReplayResponse>,
}

/// What differs between Subscribe and ManagedSubscribe.
pub(crate) trait Mode: Send + 'static {
    /// How the console names its streams: `pubsub` or `managed`.
    const PROTOCOL: &'static str;
    /// The response message.
    type Response: Send + 'static;
    /// Builds the response message.
    fn wrap(&self, out: Out, rpc_id: &str) -> Self::Response;
    /// Answers a commit request.
    fn commit(
        &mut self,
        ps: &PubSub,
        request: CommitReplayRequest,
    ) -> impl std::future::Future<Output = CommitReplayResponse> + Send;
    /// Whether the stream may go on (a managed subscription switched to STOP may not).
    fn check(&mut self, ps: &PubSub) -> Result<(), PubSubError>;
    /// How often [`Mode::check`] runs while nothing else wakes the stream.
    fn check_every(&self) -> Option<std::time::Duration> {
        None
    }
}

/// One subscription stream.
pub(crate) struct Flow<M: Mode> {
    pub(crate) ps: Arc<PubSub>,
    pub(crate) topic: Topic,
    pub(crate) reader: Reader,
    pub(crate) pending: u32,
    pub(crate) rpc_id: String,
    pub(crate) mode: M,
    pub(crate) tx: Responses<M::Response>,
    /// The access token the stream was opened with: once it is revoked the stream ends
    /// with `UNAUTHENTICATED`.
    pub(crate) token: String,
    /// The token held while the stream is open: it does not expire meanwhile (as on
    /// Salesforce, which does not cut an open stream when a session times out).
    pub(crate) _hold: forcebus_auth::Hold,
    /// Changes when the test controls end every open stream (watched from the call's
    /// start).
    pub(crate) ended: tokio::sync::watch::Receiver<u64>,
    /// The client's address, where the server knows it.
    pub(crate) address: Option<String>,
    /// Its entry in the list of open streams, while it runs.
    pub(crate) watched: Option<crate::watch::Registered>,
}

/// Why the loop ended early: the client went away, or an error was sent.
struct Stop;

impl<M: Mode> Flow<M> {
    /// Its entry in the list of open streams (counted in `/metrics` while it runs).
    fn register(&mut self) -> crate::watch::Registered {
        crate::watch::Registered::new(
            &self.ps,
            crate::watch::Watched {
                protocol: M::PROTOCOL,
                id: self.rpc_id.clone(),
                user: self
                    .ps
                    .auth
                    .verify(&self.token)
                    .map_or(forcebus_org::RecordId::mint("005", 0), |s| s.user_id),
                address: self.address.take(),
                topic: self.topic.name.clone(),
                channel: self.topic.channel.clone(),
                position: self.reader.position().into(),
                since_ms: self.ps.org.clock().now().timestamp_millis(),
            },
        )
    }

    /// Runs the stream in a task of its own (in the current span) until the client
    /// leaves, the idle timeout, or an error. `first` is what the first request asked
    /// beyond its credit (a commit).
    ///
    /// The task that waited for the first request and opened the stream ends here: an
    /// open stream's task is this loop alone. Awaited inside the opening task instead,
    /// the loop's future sat inside a 5.8 KB one that kept the opening's state (its
    /// first-request wait, the request, the moved-from parts) for the stream's life.
    pub(crate) fn spawn<S>(self, first: Option<Ask>, inbound: S)
    where
        S: Stream<Item = Result<Ask, PubSubError>> + Unpin + Send + 'static,
    {
        tokio::spawn(self.run(first, inbound).in_current_span());
    }

    /// The stream's loop. A function returning a block, not an async fn: an async fn's
    /// future keeps its arguments twice (as given, and as moved into its body), which
    /// was 536 bytes here.
    #[allow(clippy::manual_async_fn)]
    fn run<S>(mut self, first: Option<Ask>, mut inbound: S) -> impl Future<Output = ()> + Send
    where
        S: Stream<Item = Result<Ask, PubSubError>> + Unpin + Send,
    {
        async move {
            self.watched = Some(self.register());
            let mut at = Deadlines::new(&self.ps.config, self.mode.check_every());
            let opened = match first {
                Some(ask) => self.request(ask, &mut at.last_sent).await,
                None => self.deliver(&mut at.last_sent).await,
            };
            if opened.is_err() {
                return;
            }
            at.idle_since = Instant::now();
            at.checked(at.idle_since);
            let mut revocations = self.ps.auth.revocations();
            let mut ended = self.ended.clone();
            // One timer, reset to whatever is due next as the loop goes round (not a
            // timer made for each deadline on every turn).
            let mut timer = std::pin::pin!(sleep_until(at.next(self.pending > 0)));
            loop {
                let credit = self.pending > 0;
                let next = at.next(credit);
                if timer.deadline() != next {
                    timer.as_mut().reset(next);
                }
                tokio::select! {
                    biased;
                    _ = self.ps.closed() => {
                        let _ = self.fail(PubSubError::Unavailable).await;
                        return;
                    }
                    Ok(()) = ended.changed() => {
                        tracing::info!(rpc_id = %self.rpc_id, "Test control: stream ended.");
                        let _ = self.fail(PubSubError::Unavailable).await;
                        return;
                    }
                    msg = inbound.next() => match msg {
                        None => {
                            tracing::debug!(rpc_id = %self.rpc_id, "Subscriber closed its stream.");
                            return;
                        }
                        Some(Err(e)) => {
                            let _ = self.tx.send(Err(e.status(&self.rpc_id))).await;
                            return;
                        }
                        Some(Ok(ask)) => {
                            at.idle_since = Instant::now();
                            if self.request(ask, &mut at.last_sent).await.is_err() {
                                return;
                            }
                        }
                    },
                    Ok(()) = revocations.changed() => {
                        if self.ps.auth.verify(&self.token).is_none() {
                            let _ = self.fail(PubSubError::Auth).await;
                            return;
                        }
                    }
                    _ = self.reader.changed(), if credit => {
                        if self.deliver(&mut at.last_sent).await.is_err() {
                            return;
                        }
                    }
                    () = &mut timer => {
                        if self.timer_fired(&mut at, credit).await.is_err() {
                            return;
                        }
                    }
                }
                if credit && self.pending == 0 {
                    at.idle_since = Instant::now();
                }
            }
        }
    }

    /// What the loop's timer found due: a keepalive, the mode's check, or the idle end.
    async fn timer_fired(&mut self, at: &mut Deadlines, credit: bool) -> Result<(), Stop> {
        let due = at.due(Instant::now(), credit);
        if due.keepalive {
            self.keepalive(&mut at.last_sent).await?;
        }
        if due.check {
            at.checked(Instant::now());
            if let Err(e) = self.mode.check(&self.ps) {
                return Err(self.fail(e).await);
            }
        }
        if due.idle {
            tracing::debug!(rpc_id = %self.rpc_id, "Subscription idle without credit; closed.");
            return Err(Stop);
        }
        Ok(())
    }

    async fn request(&mut self, ask: Ask, last_sent: &mut Instant) -> Result<(), Stop> {
        if ask.num_requested > 0 {
            let cap = self.ps.config.max_requested;
            self.pending = (self.pending.saturating_add(ask.num_requested as u32)).min(cap);
        }
        if let Some(c) = ask.commit {
            let answer = self.mode.commit(&self.ps, c).await;
            let out = Out {
                events: Vec::new(),
                latest_replay_id: replay::encode(self.reader.position()),
                pending: self.pending as i32,
                commit: Some(answer),
            };
            self.send(out, last_sent).await?;
        }
        self.deliver(last_sent).await
    }

    async fn send(&mut self, out: Out, last_sent: &mut Instant) -> Result<(), Stop> {
        let msg = self.mode.wrap(out, &self.rpc_id);
        self.tx.send(Ok(msg)).await.map_err(|_| Stop)?;
        *last_sent = Instant::now();
        Ok(())
    }

    async fn fail(&mut self, e: PubSubError) -> Stop {
        let _ = self.tx.send(Err(e.status(&self.rpc_id))).await;
        Stop
    }

    /// Sends what the cursor has, as far as the credit goes.
    async fn deliver(&mut self, last_sent: &mut Instant) -> Result<(), Stop> {
        if self.ps.auth.verify(&self.token).is_none() {
            return Err(self.fail(PubSubError::Auth).await);
        }
        if let Err(e) = self.mode.check(&self.ps) {
            return Err(self.fail(e).await);
        }
        let mut sent = 0;
        while self.pending > 0 {
            let read = self
                .reader
                .next(&self.ps, &self.topic, self.pending as usize);
            if let Some(w) = &self.watched {
                w.at(self.reader.position());
            }
            let read = match read {
                Ok(Some(read)) => read,
                Ok(None) => break,
                Err(e) => return Err(self.fail(log_error(&e)).await),
            };
            if read.iter().any(|r| r.trace.is_some()) {
                let span = tracing::info_span!(
                    "deliver",
                    protocol = "pubsub",
                    rpc_id = %self.rpc_id,
                    topic = %self.topic.name,
                    events = read.len(),
                );
                forcebus_trace::link(&span, read.iter().filter_map(|r| r.trace.as_ref()));
            }
            let rendered = read.into_iter().map(|r| r.event).collect();
            for batch in split(rendered, self.ps.config.max_response_bytes) {
                self.pending -= batch.len() as u32;
                sent += batch.len();
                metrics::counter!("forcebus_deliveries_total", "protocol" => "pubsub")
                    .increment(batch.len() as u64);
                let latest = batch
                    .last()
                    .map(|e| e.replay_id.clone())
                    .unwrap_or_else(|| replay::encode(self.reader.position()));
                let out = Out {
                    events: batch,
                    latest_replay_id: latest,
                    pending: self.pending as i32,
                    commit: None,
                };
                self.send(out, last_sent).await?;
            }
        }
        if self.pending == 0 && sent > 0 {
            // The credit is used up: read the client's next window while it takes this
            // one in. Yield first, so the connection sends what is queued meanwhile.
            tokio::task::yield_now().await;
            let max = sent.min(self.ps.config.max_requested as usize);
            self.reader.read_ahead(&self.ps, &self.topic, max);
        }
        Ok(())
    }

    async fn keepalive(&mut self, last_sent: &mut Instant) -> Result<(), Stop> {
        self.deliver(last_sent).await?;
        if Instant::now() < *last_sent + self.ps.config.keepalive {
            // Events went out just now; they were the sign of life.
            return Ok(());
        }
        if self.ps.keepalives_suppressed() {
            // The test controls hold keepalives back: the stream stays silent, and the
            // next one is due a period from now.
            *last_sent = Instant::now();
            return Ok(());
        }
        let out = Out {
            events: Vec::new(),
            latest_replay_id: replay::encode(self.reader.position()),
            pending: self.pending as i32,
            commit: None,
        };
        self.send(out, last_sent).await
    }
}

/// A cursor failure as the client sees it: retention overtook a slow subscriber (its
/// position is gone, as a replay from it would be), or storage failed.
fn log_error(e: &LogError) -> PubSubError {
    match e {
        LogError::Expired { .. } | LogError::Future { .. } => PubSubError::ReplayCorrupted,
        _ => PubSubError::Unavailable,
    }
}

/// Splits events into responses of at most `max_bytes` each (an event larger than that
/// goes alone).
fn split(events: Vec<ConsumerEvent>, max_bytes: usize) -> Vec<Vec<ConsumerEvent>> {
    // Room for latest_replay_id, rpc_id and pending_num_requested.
    const OVERHEAD: usize = 128;
    let mut out: Vec<Vec<ConsumerEvent>> = Vec::new();
    let mut size = OVERHEAD;
    for e in events {
        let len = e.encoded_len();
        let framed = 1 + prost::length_delimiter_len(len) + len;
        match out.last_mut() {
            Some(batch) if size + framed <= max_bytes => {
                batch.push(e);
                size += framed;
            }
            _ => {
                out.push(vec![e]);
                size = OVERHEAD + framed;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ProducerEvent;

    fn event(bytes: usize) -> ConsumerEvent {
        ConsumerEvent {
            event: Some(ProducerEvent {
                id: "x".into(),
                schema_id: "s".into(),
                payload: vec![0u8; bytes].into(),
                headers: vec![],
            }),
            replay_id: replay::encode(1),
        }
    }

    #[test]
    fn batches_stay_under_the_limit() {
        let events: Vec<ConsumerEvent> = (0..10).map(|_| event(1000)).collect();
        let batches = split(events, 3500);
        assert!(batches.len() > 1);
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 10);
        for b in &batches {
            let resp = crate::proto::FetchResponse {
                events: b.clone(),
                latest_replay_id: replay::encode(u64::MAX),
                rpc_id: uuid::Uuid::new_v4().to_string(),
                pending_num_requested: 100,
            };
            assert!(resp.encoded_len() <= 3500, "{}", resp.encoded_len());
        }
        assert_eq!(split(vec![event(5000)], 3500).len(), 1);
        assert!(split(Vec::new(), 3500).is_empty());
    }
}

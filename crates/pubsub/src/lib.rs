//! The Pub/Sub API (`eventbus.v1.PubSub`): gRPC with Avro payloads, flow control and
//! replay, served with tonic (`pubsub-api.md`).
//!
//! Layout:
//! - [`proto`]: the messages and service generated from `proto/pubsub.proto`.
//! - [`auth`]: the `accesstoken` / `tenantid` metadata check of every call.
//! - [`error`]: Salesforce's statuses, messages and `error-code` trailers.
//! - [`topic`]: topic names to log channels, and log events to Avro (one encoding per
//!   event, shared by every subscriber).
//! - [`replay`]: 8-byte big-endian replay ids.
//! - `control`: what the org's test controls do to calls (armed failures, keepalives,
//!   ending streams); `reset`: resetting open calls at the HTTP/2 layer ([`Grpc`]).
//! - `describe`: GetTopic and GetSchema; `subscribe`: Subscribe; `managed`:
//!   ManagedSubscribe and replay id commits; `flow`: the flow-control loop both share
//!   (`deadlines`: when its keepalive, check and idle end fall due);
//!   `ahead`: a stream's cursor, and the window it reads before the client asks for it;
//!   `publish`: Publish and PublishStream; `opening`: how every streaming call opens
//!   (credentials, its task, a subscription's first request); `responses`: the channel
//!   from a streaming call's task to the stream tonic sends from.
//!
//! The service is a tower service ([`PubSub::service`]); the server crate owns the
//! listener (TLS and plaintext HTTP/2 on one port).

use std::sync::Arc;
use std::time::Duration;

use forcebus_auth::Auth;
use forcebus_org::Org;

mod ahead;
pub mod auth;
pub mod codec;
mod control;
mod deadlines;
mod describe;
pub mod error;
mod flow;
pub mod managed;
mod opening;
pub mod proto;
pub mod publish;
pub mod replay;
mod reset;
mod responses;
mod subscribe;
pub mod topic;
mod watch;

pub use error::PubSubError;
pub use reset::{Grpc, ResetBody};
pub use topic::{Render, Topic};
pub use watch::ClientAddress;

/// Settings. Salesforce's documented limits are the defaults.
#[derive(Debug, Clone)]
pub struct PubSubConfig {
    /// Most events outstanding on one Subscribe (a request for more counts as this many).
    pub max_requested: u32,
    /// An empty FetchResponse goes out after this long without a response while credit
    /// is outstanding (Salesforce: within 270 s, about 60 s in practice).
    pub keepalive: Duration,
    /// A Subscribe with no credit left ends after this long without a FetchRequest.
    pub idle_timeout: Duration,
    /// A PublishStream ends after this long without a PublishRequest.
    pub publish_idle_timeout: Duration,
    /// Largest published event payload (1 MB).
    pub max_event_bytes: usize,
    /// Largest publish request (4 MB).
    pub max_request_bytes: usize,
    /// Largest response message; clients keep gRPC's 4 MiB receive limit.
    pub max_response_bytes: usize,
}

impl Default for PubSubConfig {
    fn default() -> Self {
        Self {
            max_requested: 100,
            keepalive: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            publish_idle_timeout: Duration::from_secs(70),
            max_event_bytes: 1 << 20,
            max_request_bytes: 4 << 20,
            // Below 4 MiB with room for the response's own fields.
            max_response_bytes: (4 << 20) - (64 << 10),
        }
    }
}

/// The Pub/Sub API of one org.
#[derive(Debug)]
pub struct PubSub {
    org: Arc<Org>,
    auth: Arc<Auth>,
    config: PubSubConfig,
    /// Flips to true when the server shuts down: open streams end at once.
    closing: tokio::sync::watch::Sender<bool>,
    /// Subscribe streams (plain and managed) running now.
    pub(crate) streams: std::sync::atomic::AtomicUsize,
    /// Those streams, for the console's list.
    pub(crate) open: watch::Open,
}

impl PubSub {
    /// The API over `org`, authenticating with `auth`.
    pub fn new(org: Arc<Org>, auth: Arc<Auth>, config: PubSubConfig) -> Arc<Self> {
        Arc::new(Self {
            org,
            auth,
            config,
            closing: tokio::sync::watch::channel(false).0,
            streams: std::sync::atomic::AtomicUsize::new(0),
            open: watch::Open::default(),
        })
    }

    /// How many Subscribe streams (plain and managed) are open.
    pub fn stream_count(&self) -> usize {
        self.streams.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Ends every open stream with Salesforce's "service unavailable" status (clients
    /// reconnect), so that a shutdown need not wait for long-lived subscriptions.
    pub fn shutdown(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`PubSub::shutdown`] was called.
    pub(crate) async fn closed(&self) {
        let mut rx = self.closing.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }

    /// The settings.
    pub fn config(&self) -> &PubSubConfig {
        &self.config
    }

    /// The gRPC service, ready to be served over HTTP/2, its calls resettable by the test
    /// controls. Requests may be up to twice the publish limit so that an oversized
    /// publish gets Salesforce's answer rather than tonic's.
    pub fn service(self: &Arc<Self>) -> Grpc {
        let server = proto::pub_sub_server::PubSubServer::new(Service(self.clone()))
            .max_decoding_message_size(self.config.max_request_bytes * 2)
            .max_encoding_message_size(usize::MAX);
        Grpc::new(server, self.clone())
    }
}

/// The tonic service: one handler per RPC.
#[derive(Debug, Clone)]
pub struct Service(Arc<PubSub>);

pub(crate) type Stream<T> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

#[tonic::async_trait]
impl proto::pub_sub_server::PubSub for Service {
    type SubscribeStream = Stream<proto::FetchResponse>;
    type PublishStreamStream = Stream<proto::PublishResponse>;
    type ManagedSubscribeStream = Stream<proto::ManagedFetchResponse>;

    async fn subscribe(
        &self,
        request: tonic::Request<tonic::Streaming<proto::FetchRequest>>,
    ) -> Result<tonic::Response<Self::SubscribeStream>, tonic::Status> {
        subscribe::subscribe(&self.0, request)
    }

    async fn get_schema(
        &self,
        request: tonic::Request<proto::SchemaRequest>,
    ) -> Result<tonic::Response<proto::SchemaInfo>, tonic::Status> {
        describe::get_schema(&self.0, request)
    }

    async fn get_topic(
        &self,
        request: tonic::Request<proto::TopicRequest>,
    ) -> Result<tonic::Response<proto::TopicInfo>, tonic::Status> {
        describe::get_topic(&self.0, request)
    }

    async fn publish(
        &self,
        request: tonic::Request<proto::PublishRequest>,
    ) -> Result<tonic::Response<proto::PublishResponse>, tonic::Status> {
        publish::publish(&self.0, request).await
    }

    async fn publish_stream(
        &self,
        request: tonic::Request<tonic::Streaming<proto::PublishRequest>>,
    ) -> Result<tonic::Response<Self::PublishStreamStream>, tonic::Status> {
        publish::publish_stream(&self.0, request)
    }

    async fn managed_subscribe(
        &self,
        request: tonic::Request<tonic::Streaming<proto::ManagedFetchRequest>>,
    ) -> Result<tonic::Response<Self::ManagedSubscribeStream>, tonic::Status> {
        managed::managed_subscribe(&self.0, request)
    }
}

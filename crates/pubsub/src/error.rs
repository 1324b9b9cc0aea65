//! Errors as Salesforce's Pub/Sub API reports them (`pubsub-api.md` §3.1, §4.1, §4.5,
//! §4.8): a gRPC status whose message ends in ` rpcId: <uuid>`, with the trailers
//! `error-code` (which clients match on) and `rpc-id`. This is the one place that maps
//! to `tonic::Status`.

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

/// `error-code` values clients match on, verbatim.
pub mod codes {
    /// Bad or missing token, or a tenant id that is not the token's org.
    pub const AUTH: &str = "sfdc.platform.eventbus.grpc.service.auth.error";
    /// A replay id that is unknown, malformed or outside retention.
    pub const REPLAY_CORRUPTED: &str =
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
    /// CUSTOM with a missing or short replay id.
    pub const REPLAY_VALIDATION: &str =
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed";
    /// The service cannot serve the call (storage failure).
    pub const UNAVAILABLE: &str = "sfdc.platform.eventbus.grpc.service.unavailable";
    // The codes below are forcebus's own: the spec knows no Salesforce value for these
    // cases (§7, open question 7), so they follow the naming of the known ones.
    /// Unknown topic.
    pub const TOPIC_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.topic.not.found";
    /// Unknown schema id.
    pub const SCHEMA_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.schema.not.found";
    /// A request that is not well formed (missing topic, topic changed within a stream).
    pub const INVALID_REQUEST: &str = "sfdc.platform.eventbus.grpc.request.invalid";
    /// Publishing to a topic that cannot be published to.
    pub const PUBLISH_NOT_ALLOWED: &str = "sfdc.platform.eventbus.grpc.publish.not.allowed";
    /// The subscriber lacks the permissions the topic needs (View All Data, or View All
    /// on its object, for change events).
    pub const SUBSCRIBE_NOT_ALLOWED: &str =
        "sfdc.platform.eventbus.grpc.subscription.fetch.authorization.error";
    /// A publish request over the 4 MB limit.
    pub const REQUEST_TOO_LARGE: &str = "sfdc.platform.eventbus.grpc.publish.request.too.large";
    /// The daily event delivery allocation is used up (`failure-modes.md` §5.1).
    pub const DELIVERY_LIMIT: &str = "sfdc.platform.eventbus.grpc.subscription.limit.exceeded";
    /// A managed subscription's previous stream still holds its slot (§6.3).
    pub const MANAGED_ACTIVE: &str =
        "sfdc.platform.eventbus.grpc.managed.subscription.already.active";
    /// Unknown managed subscription.
    pub const SUBSCRIPTION_NOT_FOUND: &str =
        "sfdc.platform.eventbus.grpc.managed.subscription.not.found";
    /// A managed subscription that is not in the RUN state.
    pub const SUBSCRIPTION_STOPPED: &str =
        "sfdc.platform.eventbus.grpc.managed.subscription.not.running";
}

/// Why a call fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PubSubError {
    /// Authentication failed.
    #[error(
        "An authentication exception occurred. Provide valid authentication via metadata headers."
    )]
    Auth,
    /// The topic does not exist for this org.
    #[error(
        "The topic information for org {tenant} and topic {topic} not found. Ensure the topic name is correct and that the topic exists."
    )]
    TopicNotFound {
        /// The 18-character org id.
        tenant: String,
        /// The name asked for.
        topic: String,
    },
    /// A replay id that does not name a retained position.
    #[error("The Replay ID validation failed. Ensure that the Replay ID is valid.")]
    ReplayCorrupted,
    /// CUSTOM without a usable replay id.
    #[error(
        "The Replay ID validation failed. Ensure that the Replay ID is valid and that the replay preset is CUSTOM only when a Replay ID is provided."
    )]
    ReplayValidation,
    /// No schema has this id.
    #[error("The schema with ID {0} was not found. Ensure that the schema ID is correct.")]
    SchemaNotFound(String),
    /// The first request names no topic or subscription.
    #[error("{0}")]
    InvalidRequest(String),
    /// A later request names another topic than the first.
    #[error(
        "The topic name {got} doesn't match the topic name {first} of the first request in this stream. Use the same topic name in all requests of a stream."
    )]
    TopicChanged {
        /// The stream's topic.
        first: String,
        /// What the request named.
        got: String,
    },
    /// The topic cannot be published to.
    #[error(
        "Publishing to the topic {0} isn't allowed. Events on this topic are published by the platform."
    )]
    PublishNotAllowed(String),
    /// The subscriber may not read the topic's events.
    #[error(
        "You don't have the permissions to subscribe to {0}: change events need View All Data, or View All on their object."
    )]
    SubscribeNotAllowed(String),
    /// A publish request over the request size limit (Salesforce closes the stream with
    /// this status, <https://developer.salesforce.com/docs/platform/pub-sub-api/guide/allocations.html>).
    #[error(
        "upstream connect error or disconnect/reset before headers. reset reason: remote reset"
    )]
    RequestTooLarge,
    /// No managed subscription has this id or developer name.
    #[error(
        "The managed subscription {0} was not found. Ensure that the subscription ID or developer name is correct."
    )]
    SubscriptionNotFound(String),
    /// The managed subscription is not in the RUN state.
    #[error("The managed subscription {0} isn't in the RUN state.")]
    SubscriptionStopped(String),
    /// Storage failed, or the service is down.
    #[error("The service is unavailable. Try again later")]
    Unavailable,
    /// Too many connections (`failure-modes.md` §3.5; Salesforce sends no `error-code`).
    #[error(
        "The service received too many connections and doesn't have the resources to accept new connections."
    )]
    ResourceExhausted,
    /// The proxy in front of the service reset the call before answering (§5.3; no
    /// `error-code`).
    #[error(
        "upstream connect error or disconnect/reset before headers. reset reason: remote reset"
    )]
    Reset,
    /// The daily delivery allocation is used up (§5.1).
    #[error("You have exceeded the event delivery limit for your org.")]
    DeliveryLimit,
    /// The managed subscription's slot is still held (§6.3).
    #[error(
        "An active managed subscription with the same ID already exists. If a previous subscription with the same ID was stopped, there can be a delay before it expires. Try subscribing again later."
    )]
    ManagedAlreadyActive,
}

impl PubSubError {
    fn code(&self) -> (Code, Option<&'static str>) {
        let (code, error_code) = match self {
            Self::Auth => (Code::Unauthenticated, codes::AUTH),
            Self::TopicNotFound { .. } => (Code::NotFound, codes::TOPIC_NOT_FOUND),
            Self::ReplayCorrupted => (Code::InvalidArgument, codes::REPLAY_CORRUPTED),
            Self::ReplayValidation => (Code::InvalidArgument, codes::REPLAY_VALIDATION),
            Self::SchemaNotFound(_) => (Code::NotFound, codes::SCHEMA_NOT_FOUND),
            Self::InvalidRequest(_) | Self::TopicChanged { .. } => {
                (Code::InvalidArgument, codes::INVALID_REQUEST)
            }
            Self::PublishNotAllowed(_) => (Code::PermissionDenied, codes::PUBLISH_NOT_ALLOWED),
            Self::SubscribeNotAllowed(_) => (Code::PermissionDenied, codes::SUBSCRIBE_NOT_ALLOWED),
            Self::RequestTooLarge => (Code::Unavailable, codes::REQUEST_TOO_LARGE),
            Self::SubscriptionNotFound(_) => (Code::NotFound, codes::SUBSCRIPTION_NOT_FOUND),
            Self::SubscriptionStopped(_) => (Code::FailedPrecondition, codes::SUBSCRIPTION_STOPPED),
            Self::Unavailable => (Code::Internal, codes::UNAVAILABLE),
            Self::ResourceExhausted => return (Code::ResourceExhausted, None),
            Self::Reset => return (Code::Unavailable, None),
            Self::DeliveryLimit => (Code::ResourceExhausted, codes::DELIVERY_LIMIT),
            Self::ManagedAlreadyActive => (Code::AlreadyExists, codes::MANAGED_ACTIVE),
        };
        (code, Some(error_code))
    }

    /// The status of this error in the call `rpc_id`.
    pub fn status(&self, rpc_id: &str) -> Status {
        let (code, error_code) = self.code();
        let mut meta = MetadataMap::new();
        if let Some(error_code) = error_code {
            meta.insert("error-code", MetadataValue::from_static(error_code));
        }
        if let Ok(v) = MetadataValue::try_from(rpc_id) {
            meta.insert("rpc-id", v);
        }
        Status::with_metadata(code, format!("{self} rpcId: {rpc_id}"), meta)
    }
}

/// A fresh trace id for a call.
pub fn rpc_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failure_is_salesforces() {
        let s = PubSubError::Auth.status("abc");
        assert_eq!(s.code(), Code::Unauthenticated);
        assert_eq!(
            s.message(),
            "An authentication exception occurred. Provide valid authentication via metadata headers. rpcId: abc"
        );
        assert_eq!(
            s.metadata().get("error-code").unwrap(),
            "sfdc.platform.eventbus.grpc.service.auth.error"
        );
        assert_eq!(s.metadata().get("rpc-id").unwrap(), "abc");
    }
}

//! The test controls' effect on calls (`forcebus_org::control`): a failure armed for an
//! RPC ends its next call with Salesforce's status, message and `error-code`
//! (`failure-modes.md` §3–§8); keepalives can be held back; open streams can be ended.

use forcebus_org::control::{PubSubFailure, Rpc};

use crate::PubSub;
use crate::error::PubSubError;

impl PubSub {
    /// The failure armed for this call of `rpc`, if any (counting it), as this API
    /// reports it; `topic` is the topic the call names ("" when none).
    pub(crate) fn injected(&self, rpc: Rpc, topic: &str) -> Option<PubSubError> {
        let failure = self.org.controls().take_failure(rpc)?;
        tracing::info!(
            rpc = rpc.name(),
            failure = failure.name(),
            "Test control: call failed on purpose."
        );
        Some(match failure {
            PubSubFailure::ReplayCorrupted => PubSubError::ReplayCorrupted,
            PubSubFailure::ResourceExhausted => PubSubError::ResourceExhausted,
            PubSubFailure::Unavailable => PubSubError::Reset,
            PubSubFailure::ServiceUnavailable => PubSubError::Unavailable,
            PubSubFailure::AuthError => PubSubError::Auth,
            PubSubFailure::TopicNotFound => self.topic_not_found(topic),
            PubSubFailure::DeliveryLimit => PubSubError::DeliveryLimit,
            PubSubFailure::ManagedAlreadyActive => PubSubError::ManagedAlreadyActive,
        })
    }

    /// Whether keepalives are held back.
    pub(crate) fn keepalives_suppressed(&self) -> bool {
        self.org.controls().keepalives_suppressed()
    }

    /// A receiver that changes when the controls end every open stream.
    pub(crate) fn streams_ended(&self) -> tokio::sync::watch::Receiver<u64> {
        self.org.controls().streams_ended()
    }
}

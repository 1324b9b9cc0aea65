//! Bayeux errors as Salesforce words them: `code::message` in a reply's `error` field
//! (`streaming-cometd.md` §2). One variant per error the Streaming API answers; the text
//! is compared by clients (CometD's `403::Unknown client` triggers a re-handshake), so it
//! is exactly Salesforce's.

use std::fmt;

/// An error a Bayeux reply carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BayeuxError {
    /// The clientId is not (or no longer) a session of the caller.
    UnknownClient,
    /// The token is missing, expired or revoked.
    AuthenticationInvalid,
    /// A handshake without a token.
    RequiresAuthentication,
    /// A refused handshake (its reason is in `ext.sfdc.failureReason`).
    HandshakeDenied,
    /// More than one handshake in one request.
    OneHandshakePerRequest,
    /// A message without a channel, or a subscription without one.
    ChannelNotSpecified,
    /// A message to a non-meta channel: the Streaming API does not take publishes.
    PublishNotAllowed,
    /// A request holding no message.
    EmptyBatch,
    /// A handshake that offers no `long-polling`, or a WebSocket upgrade (`websocket`).
    InvalidConnectionType(Option<&'static str>),
    /// The user has as many sessions as allowed.
    ConcurrentUserLimit,
    /// A subscription not starting with `/`.
    NoLeadingSlash,
    /// A subscription to a channel that does not exist.
    NoSuchChannel(String),
    /// A subscription whose channel is missing from the `replay` extension's map (the
    /// channel, and the map as `{key=value, ...}`).
    ReplayIdNotInMap(String, String),
    /// A replay id below -2.
    InvalidReplayId(String),
}

impl fmt::Display for BayeuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownClient => f.write_str("403::Unknown client"),
            Self::AuthenticationInvalid => f.write_str("401::Authentication invalid"),
            Self::RequiresAuthentication => f.write_str("401::Request requires authentication"),
            Self::HandshakeDenied => f.write_str("403::Handshake denied"),
            Self::OneHandshakePerRequest => f.write_str("400::Only one handshake per request"),
            Self::ChannelNotSpecified => f.write_str("400::Channel name not specified"),
            Self::PublishNotAllowed => {
                f.write_str("403::Publish is not allowed on the Streaming API; publish over REST")
            }
            Self::EmptyBatch => f.write_str("400::Empty message batch"),
            Self::InvalidConnectionType(None) => f.write_str("400::Invalid connection type"),
            Self::InvalidConnectionType(Some(t)) => write!(f, "400::Invalid connection type {t}"),
            Self::ConcurrentUserLimit => {
                f.write_str("403::Organization concurrent user limit exceeded")
            }
            Self::NoLeadingSlash => {
                f.write_str("400::Channel subscriptions must start with a leading '/'")
            }
            Self::NoSuchChannel(name) => write!(
                f,
                "400::The channel you requested to subscribe to does not exist {{{name}}}"
            ),
            Self::ReplayIdNotInMap(key, map) => write!(
                f,
                "400::The replayId for channel {{{key}}} wasn't found using the provided \
                 replay ID map {{{map}}}. Ensure that the channel name you provided in the replay \
                 map is valid and matches the channel name used for subscribing."
            ),
            Self::InvalidReplayId(replay) => write!(
                f,
                "400::The replayId {{{replay}}} you provided was invalid.  Please provide a \
                 valid ID, -2 to replay all events, or -1 to replay only new events."
            ),
        }
    }
}

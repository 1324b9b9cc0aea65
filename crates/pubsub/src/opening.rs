//! How every streaming call opens (Subscribe, ManagedSubscribe, PublishStream): its
//! credentials checked, the channel its responses go out on made, the test controls'
//! "end streams" watched from the call's start (so it reaches a stream still opening),
//! and a task of the call's own started; a subscription then waits for its first request.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, Span};

use forcebus_org::RecordId;

use crate::error::{PubSubError, rpc_id};
use crate::responses::Responses;
use crate::{ClientAddress, PubSub, Stream, auth};

/// A streaming call whose credentials passed, as its task gets it.
#[derive(Debug)]
pub(crate) struct Opened<Req, Resp> {
    pub(crate) ps: Arc<PubSub>,
    /// The client's requests.
    pub(crate) inbound: Streaming<Req>,
    /// Where the call's responses go.
    pub(crate) tx: Responses<Resp>,
    /// The call's id, in its errors and its log lines.
    pub(crate) rpc: String,
    /// The caller.
    pub(crate) user: RecordId,
    /// The caller's access token (a subscription holds it while it runs).
    pub(crate) token: String,
    /// Where the client connects from, when the listener says.
    pub(crate) address: Option<String>,
    /// Changes when the test controls end the org's streams.
    pub(crate) ended: watch::Receiver<u64>,
}

/// Opens a streaming call: checks its credentials, then runs `call` on a task of its own
/// in the span `span` makes of the call's id; the response stream tonic sends from.
pub(crate) fn open<Req, Resp, Call, Running>(
    ps: &Arc<PubSub>,
    request: Request<Streaming<Req>>,
    span: impl FnOnce(&str) -> Span,
    call: Call,
) -> Result<Response<Stream<Resp>>, Status>
where
    Resp: Send + 'static,
    Call: FnOnce(Opened<Req, Resp>) -> Running,
    Running: Future<Output = ()> + Send + 'static,
{
    let rpc = rpc_id();
    let user = auth::authenticate(&ps.auth, request.metadata())
        .map_err(|e| e.status(&rpc))?
        .user_id;
    let token = auth::credentials(request.metadata())
        .map(|c| c.token.to_owned())
        .unwrap_or_default();
    let address = request
        .extensions()
        .get::<ClientAddress>()
        .map(|a| a.0.to_string());
    let (tx, stream) = Responses::channel();
    let ended = ps.streams_ended();
    let span = span(&rpc);
    let opened = Opened {
        ps: ps.clone(),
        inbound: request.into_inner(),
        tx,
        rpc,
        user,
        token,
        address,
        ended,
    };
    tokio::spawn(call(opened).instrument(span));
    Ok(Response::new(stream))
}

impl<Req, Resp: Send + 'static> Opened<Req, Resp> {
    /// The stream's first request, awaited up to the idle timeout. None when the client
    /// closes the stream, breaks it or stays silent (nothing is answered), or when the org's
    /// streams are ended first (the client is answered "service unavailable").
    pub(crate) async fn first(&mut self) -> Option<Req>
    where
        Req: Send + 'static,
    {
        tokio::select! {
            first = tokio::time::timeout(self.ps.config.idle_timeout, self.inbound.next()) => {
                match first {
                    Ok(Some(Ok(r))) => Some(r),
                    _ => None,
                }
            }
            Ok(()) = self.ended.changed() => {
                let _ = self.tx.send(Err(PubSubError::Unavailable.status(&self.rpc))).await;
                None
            }
        }
    }
}

//! Transport resets on demand: the test controls' "reset streams" ends every open call at
//! the HTTP/2 layer (`RST_STREAM`, no gRPC status, no `error-code`), which is how the
//! transient resets Salesforce lists as retryable reach clients (`failure-modes.md` §3.4:
//! grpc-js reports `13 INTERNAL: Received RST_STREAM with code …`). The service wraps
//! every response body; a body whose stream is reset fails, and hyper resets the stream.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tonic::Status;
use tonic::codegen::{BoxFuture, Service, http};

use crate::PubSub;
use crate::proto::pub_sub_server::PubSubServer;

/// The Pub/Sub gRPC service, its responses resettable by the test controls.
#[derive(Debug, Clone)]
pub struct Grpc {
    inner: PubSubServer<crate::Service>,
    ps: Arc<PubSub>,
}

impl Grpc {
    pub(crate) fn new(inner: PubSubServer<crate::Service>, ps: Arc<PubSub>) -> Self {
        Self { inner, ps }
    }
}

impl<B> Service<http::Request<B>> for Grpc
where
    PubSubServer<crate::Service>:
        Service<http::Request<B>, Response = http::Response<tonic::body::Body>, Error = Infallible>,
    <PubSubServer<crate::Service> as Service<http::Request<B>>>::Future: Send + 'static,
{
    type Response = http::Response<ResetBody>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let mut resets = self.ps.org.controls().streams_reset();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            let reset = Box::pin(async move {
                // A closed control (never, while the org lives) resets nothing.
                if resets.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            });
            Ok(response.map(|inner| ResetBody { inner, reset }))
        })
    }
}

/// A response body that fails (so the stream is reset) once the controls reset streams.
pub struct ResetBody {
    inner: tonic::body::Body,
    reset: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl std::fmt::Debug for ResetBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetBody").finish_non_exhaustive()
    }
}

impl Body for ResetBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.reset.as_mut().poll(cx).is_ready() {
            tracing::info!("Test control: stream reset.");
            return Poll::Ready(Some(Err(Status::internal("reset by the test controls"))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

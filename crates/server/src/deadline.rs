//! A deadline on reading a request body. hyper bounds the wait for a request's headers
//! (`header_read_timeout`) but not for its body: a client that sends headers and part of
//! a body could hold a connection, a task and a parked buffer for ever. [`DeadlineBody`] fails the body once the deadline passes; the handler then answers
//! with an error and hyper closes the connection, since the body was never read whole.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};

/// The error a body reports once its deadline has passed.
#[derive(Debug)]
pub(crate) struct BodyTimedOut(Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body was not received within {:?}", self.0)
    }
}

impl std::error::Error for BodyTimedOut {}

/// `B`, failing with [`BodyTimedOut`] if it has not ended `limit` after it was made.
#[derive(Debug)]
pub(crate) struct DeadlineBody<B> {
    inner: Pin<Box<B>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    done: bool,
}

impl<B> DeadlineBody<B> {
    /// Wraps `inner`; the clock starts now.
    pub(crate) fn new(inner: B, limit: Duration) -> Self {
        Self {
            inner: Box::pin(inner),
            sleep: Box::pin(tokio::time::sleep(limit)),
            limit,
            done: false,
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_frame(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => Poll::Ready(Some(frame.map_err(Into::into))),
            Poll::Pending => match self.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    self.done = true;
                    Poll::Ready(Some(Err(Box::new(BodyTimedOut(self.limit)))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

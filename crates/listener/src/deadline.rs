//! A deadline on reading a request body. hyper bounds the wait for a request's headers
//! (`header_read_timeout`) but not for its body: a client that sends headers and part of
//! a body could hold a connection, a task and a parked buffer for ever. [`DeadlineBody`]
//! fails the body once the deadline passes; the handler then answers with an error and
//! hyper closes the connection, since the body was never read whole. A body that keeps
//! arriving earns more time: every [`GRANT_BYTES`] received moves the deadline a whole
//! period on, so a large file (a 2 GB upload) needs only a steady pace, not a fast one,
//! while a trickle still runs out.

use std::pin::Pin;

use bytes::Buf as _;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};

/// The error a body reports once its deadline has passed.
#[derive(Debug)]
pub(crate) struct BodyTimedOut(pub(crate) Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body was not received within {:?}", self.0)
    }
}

impl std::error::Error for BodyTimedOut {}

/// Bytes of a body that earn it another period.
pub(crate) const GRANT_BYTES: u64 = 16 << 20;

/// `B`, failing with [`BodyTimedOut`] if it has not ended `limit` after it was made (or
/// after it last earned more time).
#[derive(Debug)]
pub(crate) struct DeadlineBody<B> {
    inner: Pin<Box<B>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    done: bool,
    /// Bytes received towards the next period.
    earned: u64,
}

impl<B> DeadlineBody<B> {
    /// Wraps `inner`; the clock starts now.
    pub(crate) fn new(inner: B, limit: Duration) -> Self {
        Self {
            inner: Box::pin(inner),
            sleep: Box::pin(tokio::time::sleep(limit)),
            limit,
            done: false,
            earned: 0,
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
            Poll::Ready(Some(frame)) => {
                if let Ok(f) = &frame {
                    self.earned += f.data_ref().map_or(0, |d| d.remaining() as u64);
                }
                if self.earned >= GRANT_BYTES {
                    self.earned %= GRANT_BYTES;
                    let until = tokio::time::Instant::now() + self.limit;
                    self.sleep.as_mut().reset(until);
                }
                Poll::Ready(Some(frame.map_err(Into::into)))
            }
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

/// The body of a request whose body stopped short on the lean path: the bytes that came,
/// then the error [`DeadlineBody`] fails with, so that the handler answers it as it
/// answers one through hyper.
pub(crate) fn cut_off(received: bytes::Bytes, limit: Duration) -> axum::body::Body {
    axum::body::Body::from_stream(tokio_stream::iter([Ok(received), Err(BodyTimedOut(limit))]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    /// A body of `chunks` chunks of `size` bytes, one every `every`.
    fn slow(
        chunks: usize,
        size: usize,
        every: Duration,
    ) -> http_body_util::StreamBody<
        impl futures_util::Stream<Item = Result<Frame<bytes::Bytes>, std::io::Error>>,
    > {
        let stream = futures_util::stream::unfold(0, move |n| async move {
            if n == chunks {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok(Frame::data(bytes::Bytes::from(vec![0u8; size]))), n + 1))
        });
        http_body_util::StreamBody::new(stream)
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_large_body_earns_time_and_a_trickle_runs_out() {
        let limit = Duration::from_secs(60);
        // 64 MB at 8 MB per 20 s: 160 s in all, past the limit, but never 60 s without
        // earning more.
        let steady = DeadlineBody::new(slow(8, 8 << 20, Duration::from_secs(20)), limit);
        assert_eq!(steady.collect().await.unwrap().to_bytes().len(), 64 << 20);
        // 1 KB every 20 s: out of time at 60 s.
        let trickle = DeadlineBody::new(slow(100, 1024, Duration::from_secs(20)), limit);
        let err = trickle.collect().await.unwrap_err();
        assert!(err.to_string().contains("not received within"), "{err}");
    }
}

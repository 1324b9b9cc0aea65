//! A reply ready only later: the body of a request that may park (a `/meta/connect`) on a
//! connection that reads a whole body before writing any of it (`ConnInfo::whole_replies`,
//! the server's lean path). The handler, and the middleware around it, finish at once; only
//! what the connect needs waits, and the bytes on the wire are the same as a reply
//! awaited in the handler (the connection writes the body with its length once it is
//! ready). A connection that drops the body (the client left) drops the connect.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::body::Bytes;
use http_body::{Body, Frame};

type Reply = Pin<Box<dyn Future<Output = String> + Send>>;

/// One frame, the reply's text, once the future made it.
pub(crate) struct Later {
    reply: Option<Reply>,
}

impl Later {
    pub(crate) fn new(reply: impl Future<Output = String> + Send + 'static) -> Self {
        Self {
            reply: Some(Box::pin(reply)),
        }
    }
}

impl Body for Later {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let Some(reply) = self.reply.as_mut() else {
            return Poll::Ready(None);
        };
        let text = ready!(reply.as_mut().poll(cx));
        self.reply = None;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(text)))))
    }

    fn is_end_stream(&self) -> bool {
        self.reply.is_none()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt as _;

    use super::*;

    #[tokio::test]
    async fn the_reply_is_the_one_frame() {
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let later = Later::new(async move { rx.await.unwrap() });
        assert!(!later.is_end_stream());
        let collected = tokio::spawn(later.collect());
        tx.send("[{\"successful\":true}]".into()).unwrap();
        let body = collected.await.unwrap().unwrap().to_bytes();
        assert_eq!(&body[..], b"[{\"successful\":true}]");
    }
}

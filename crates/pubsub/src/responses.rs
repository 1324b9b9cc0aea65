//! The channel from a streaming call's task to its response stream. Its items are boxed:
//! tokio's channel keeps its slots in blocks of 32, and an open stream keeps at least one
//! block, so 32 pointers cost an idle stream a few hundred bytes where 32 responses with
//! their `Status` cost kilobytes.

use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::Stream;

/// Where a call's task sends its responses.
#[derive(Debug)]
pub(crate) struct Responses<T>(mpsc::Sender<Box<Result<T, Status>>>);

impl<T: Send + 'static> Responses<T> {
    /// The sender and the stream tonic sends from; two responses may wait in between.
    pub(crate) fn channel() -> (Self, Stream<T>) {
        let (tx, rx) = mpsc::channel(2);
        (
            Self(tx),
            Box::pin(ReceiverStream::new(rx).map(|boxed| *boxed)),
        )
    }

    /// Sends one response; `Err` when the stream has ended (the client went away).
    pub(crate) async fn send(&self, response: Result<T, Status>) -> Result<(), Gone> {
        self.0.send(Box::new(response)).await.map_err(|_| Gone)
    }
}

/// The response stream has ended.
#[derive(Debug)]
pub(crate) struct Gone;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn responses_arrive_in_order_and_a_closed_stream_is_gone() {
        let (tx, mut stream) = Responses::<u32>::channel();
        tx.send(Ok(1)).await.unwrap();
        tx.send(Err(Status::unavailable("x"))).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), 1);
        assert_eq!(
            stream.next().await.unwrap().unwrap_err().code(),
            tonic::Code::Unavailable
        );
        drop(stream);
        assert!(tx.send(Ok(2)).await.is_err());
    }
}

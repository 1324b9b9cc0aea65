//! How a streaming call's responses reach the stream tonic sends from. Two ways:
//!
//! - [`Responses::channel`]: a channel from tasks of the call's own (PublishStream,
//!   whose answers are made by several tasks). Its items are boxed: tokio's channel
//!   keeps its slots in blocks of 32, and an open stream keeps at least one block, so 32
//!   pointers cost an idle stream a few hundred bytes where 32 responses with their
//!   `Status` cost kilobytes.
//! - [`Responses::driven`]: the call runs inside the response stream itself, in the task
//!   that sends the responses (Subscribe, ManagedSubscribe). A response goes straight
//!   from the call to the sender, with no task of its own to wake in between: a replay
//!   window costs one wake-up less.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::Stream;

/// Where a call sends its responses.
#[derive(Debug)]
pub(crate) struct Responses<T>(Way<T>);

#[derive(Debug)]
enum Way<T> {
    Channel(mpsc::Sender<Box<Result<T, Status>>>),
    Driven(Arc<Slot<T>>),
}

/// The responses a driven call has made and its stream has not yet taken.
#[derive(Debug)]
struct Slot<T>(Mutex<VecDeque<Result<T, Status>>>);

/// How many responses a driven call makes ahead of the sender (as the channel's two).
const AHEAD: usize = 2;

impl<T: Send + 'static> Responses<T> {
    /// The sender and the stream tonic sends from; two responses may wait in between.
    pub(crate) fn channel() -> (Self, Stream<T>) {
        let (tx, rx) = mpsc::channel(AHEAD);
        (
            Self(Way::Channel(tx)),
            Box::pin(ReceiverStream::new(rx).map(|boxed| *boxed)),
        )
    }

    /// The stream of a call that `call` makes: the call runs as the stream is polled for
    /// its next response, and ends when the stream is dropped (the client went away).
    /// The stream ends when the call has returned and its responses are taken.
    pub(crate) fn driven<F>(call: impl FnOnce(Self) -> F) -> Stream<T>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let slot = Arc::new(Slot(Mutex::new(VecDeque::with_capacity(AHEAD))));
        let call = Box::pin(call(Self(Way::Driven(slot.clone()))));
        Box::pin(Driven {
            call: Some(call),
            slot,
        })
    }

    /// Sends one response; `Err` when the stream has ended (the client went away).
    pub(crate) async fn send(&self, response: Result<T, Status>) -> Result<(), Gone> {
        match &self.0 {
            Way::Channel(tx) => tx.send(Box::new(response)).await.map_err(|_| Gone),
            Way::Driven(slot) => {
                let mut response = Some(response);
                std::future::poll_fn(|_| slot.offer(&mut response)).await;
                Ok(())
            }
        }
    }
}

impl<T> Slot<T> {
    /// Queues the response unless [`AHEAD`] wait already. No waker is kept when full: the
    /// call runs in its stream's task, which polls it again once it has taken one.
    fn offer(&self, response: &mut Option<Result<T, Status>>) -> Poll<()> {
        let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if queue.len() >= AHEAD {
            return Poll::Pending;
        }
        queue.extend(response.take());
        Poll::Ready(())
    }

    fn take(&self) -> Option<Result<T, Status>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).pop_front()
    }

    fn is_empty(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_empty()
    }
}

/// The stream of a driven call.
struct Driven<T> {
    /// The call, until it returns.
    call: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    slot: Arc<Slot<T>>,
}

impl<T> tokio_stream::Stream for Driven<T> {
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(response) = self.slot.take() {
                return Poll::Ready(Some(response));
            }
            // Nothing waits: the call runs until it makes a response, waits for something
            // (which wakes this task), or returns.
            let Some(call) = self.call.as_mut() else {
                return Poll::Ready(None);
            };
            match call.as_mut().poll(cx) {
                Poll::Ready(()) => self.call = None,
                Poll::Pending if self.slot.is_empty() => return Poll::Pending,
                Poll::Pending => {}
            }
        }
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

    #[tokio::test]
    async fn a_driven_call_runs_as_its_stream_is_read_and_ends_with_it() {
        let (made, mut seen) = mpsc::unbounded_channel();
        let (go, mut wait) = mpsc::channel::<()>(1);
        let mut stream = Responses::<u32>::driven(move |tx| async move {
            for i in 0..5 {
                tx.send(Ok(i)).await.unwrap();
                made.send(i).unwrap();
            }
            // Waits on something else: the stream's task is woken when it comes.
            wait.recv().await;
            tx.send(Err(Status::unavailable("x"))).await.unwrap();
        });
        // Nothing runs before the stream is polled.
        tokio::task::yield_now().await;
        assert!(seen.try_recv().is_err());
        assert_eq!(stream.next().await.unwrap().unwrap(), 0);
        // The call made at most AHEAD responses beyond the one taken.
        let mut ahead = 0;
        while seen.try_recv().is_ok() {
            ahead += 1;
        }
        assert!(ahead <= 1 + AHEAD, "{ahead}");
        for i in 1..5 {
            assert_eq!(stream.next().await.unwrap().unwrap(), i);
        }
        let reader = tokio::spawn(async move {
            let last = stream.next().await.unwrap().unwrap_err().code();
            (last, stream.next().await.is_none())
        });
        tokio::task::yield_now().await;
        go.send(()).await.unwrap();
        assert_eq!(reader.await.unwrap(), (tonic::Code::Unavailable, true));
    }

    #[tokio::test]
    async fn a_dropped_driven_stream_drops_its_call() {
        let (held, mut dropped) = mpsc::channel::<()>(1);
        let mut stream = Responses::<u32>::driven(move |tx| async move {
            let _held = held;
            tx.send(Ok(1)).await.unwrap();
            std::future::pending::<()>().await;
        });
        assert_eq!(stream.next().await.unwrap().unwrap(), 1);
        assert!(dropped.try_recv().is_err());
        drop(stream);
        assert!(dropped.recv().await.is_none());
    }
}

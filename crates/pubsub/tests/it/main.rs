//! In-process tests of the Pub/Sub service: a real tonic client talking HTTP/2 to the
//! service over `tokio::io::duplex`, an in-memory org, and tokio's paused clock for
//! keepalives and idle timeouts (no test sleeps in real time).

mod ahead;
mod auth;
mod control;
mod flow;
mod managed;
mod platform;
mod publish;
mod replay;
mod world;

//! The `eventbus.v1` messages, and the tonic server and client, generated from
//! `proto/pubsub.proto` at build time.

#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![allow(clippy::all, clippy::too_many_lines)]

tonic::include_proto!("eventbus.v1");

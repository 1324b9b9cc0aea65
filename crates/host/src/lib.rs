//! The host: the orgs a server holds, the cluster it may be a node of, and the serving of
//! them on the listeners until shutdown.
//!
//! - [`run`] ([`app`]): building the orgs (the default one, and those made through the
//!   admin API before) from the configuration, binding the listeners, reporting the start
//!   ([`banner`]), and serving until a signal ([`shutdown`]).
//! - [`tenant`]: one org with its router, Streaming and Pub/Sub services; [`tenants`]:
//!   every org of the server, open or resting, here or on another node; [`made`]: one
//!   org's place among them (open, resting while idle, deleted; served here or elsewhere).
//! - [`dispatch`]: which org a request is for, by its credential, served here or passed
//!   on to the node serving it; [`orgs_api`]: `/forcebus/v1/orgs` and the node's own
//!   health; [`health`]: each org's `/forcebus/health` and `/forcebus/ready`.
//! - [`cluster`]: a node among several on one PostgreSQL database (its lease, the admin
//!   key and certificate it shares); [`advertise`]: where the other nodes reach this one.
//! - [`metrics`]: `GET /metrics`, the HTTP requests and what is read at each scrape;
//!   [`process`]: this process's memory and CPU; [`logline`]: the node named on every
//!   log line.
//! - [`secrets`]: the development secrets generated on first start; [`scratch`]: the Bulk
//!   API directories of in-memory orgs, and those of killed servers removed.
//! - [`project`]: an sfdx project's schema, loaded at start (`--project`); [`describes`]:
//!   a real org's custom objects and fields mirrored from describe files (`--describes`).

mod advertise;
mod app;
mod banner;
mod cluster;
mod describes;
mod dispatch;
mod health;
mod hosted;
pub mod logline;
mod metrics;
mod orgs_api;
mod process;
mod project;
mod scratch;
mod secrets;
mod shutdown;
mod tenant;
mod tenants;

pub use app::run;

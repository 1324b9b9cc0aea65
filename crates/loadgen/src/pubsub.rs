//! Pub/Sub API helpers: a client with Salesforce's auth metadata, a load platform event
//! and its Avro payloads.

use std::sync::Arc;

use anyhow::Context;
use forcebus_avro::{Schema, Value as A};
use forcebus_pubsub::proto::pub_sub_client::PubSubClient;
use forcebus_pubsub::proto::{ProducerEvent, PublishRequest, SchemaRequest, TopicRequest};
use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use crate::bodies::{DeclaredField, EventDefinition};
use crate::server::Target;

/// The load event: a send timestamp and a body.
pub(crate) const TOPIC: &str = "/event/Load__e";

#[derive(Debug, Clone)]
pub(crate) struct Conn {
    pub(crate) client: PubSubClient<Channel>,
    token: String,
    instance: String,
    tenant: String,
}

impl Conn {
    /// A new HTTP/2 connection to the gRPC port (plaintext).
    pub(crate) async fn open(t: &Target) -> anyhow::Result<Self> {
        let grpc = t.grpc.clone().context("the server has no gRPC listener")?;
        let channel = tonic::transport::Endpoint::from_shared(grpc)?
            .tcp_nodelay(true)
            .connect()
            .await?;
        Ok(Self {
            client: PubSubClient::new(channel)
                .max_decoding_message_size(16 << 20)
                .max_encoding_message_size(16 << 20),
            token: t.token.clone(),
            instance: t.http.clone(),
            tenant: t.org_id.clone(),
        })
    }

    /// `msg` with the `accesstoken`, `instanceurl` and `tenantid` metadata.
    pub(crate) fn req<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        let m = r.metadata_mut();
        for (k, v) in [
            ("accesstoken", &self.token),
            ("instanceurl", &self.instance),
            ("tenantid", &self.tenant),
        ] {
            if let Ok(v) = MetadataValue::try_from(v.as_str()) {
                m.insert(k, v);
            }
        }
        r
    }

    /// The topic's current schema id and schema.
    pub(crate) async fn schema(&self, topic: &str) -> anyhow::Result<(String, Arc<Schema>)> {
        let info = self
            .client
            .clone()
            .get_topic(self.req(TopicRequest {
                topic_name: topic.into(),
            }))
            .await?
            .into_inner();
        let s = self
            .client
            .clone()
            .get_schema(self.req(SchemaRequest {
                schema_id: info.schema_id.clone(),
            }))
            .await?
            .into_inner();
        let json: serde_json::Value = serde_json::from_str(&s.schema_json)?;
        Ok((info.schema_id, Arc::new(Schema::from_json(&json)?)))
    }
}

/// Defines `Load__e` (a send timestamp and a long text body).
pub(crate) async fn define(t: &Target) -> anyhow::Result<()> {
    define_event(&reqwest::Client::new(), t, "Load__e").await
}

/// Defines a load platform event `name`: a send timestamp `Sent__c` and a long text body
/// `Body__c`.
pub(crate) async fn define_event(
    http: &reqwest::Client,
    t: &Target,
    name: &str,
) -> anyhow::Result<()> {
    let r = http
        .put(format!("{}/forcebus/v1/platform-events/{name}", t.http))
        .bearer_auth(&t.token)
        .json(&EventDefinition {
            fields: [
                DeclaredField {
                    name: "Sent__c",
                    kind: "string",
                    length: 24,
                },
                DeclaredField {
                    name: "Body__c",
                    kind: "textarea",
                    length: 131072,
                },
            ],
        })
        .send()
        .await?;
    anyhow::ensure!(
        r.status().is_success(),
        "cannot define {name}: {}",
        r.status()
    );
    Ok(())
}

/// A `Load__e` payload sent at `sent_us` with a body of `size` bytes.
pub(crate) fn payload(schema: &Schema, sent_us: u64, size: usize) -> anyhow::Result<Vec<u8>> {
    let rec = schema.as_record().context("not a record schema")?;
    let values = rec
        .fields
        .iter()
        .map(|f| match f.name.as_str() {
            "CreatedDate" => A::Long(0),
            "CreatedById" => A::String(String::new()),
            "Sent__c" => A::Union(1, Box::new(A::String(sent_us.to_string()))),
            "Body__c" => A::Union(1, Box::new(A::String("x".repeat(size)))),
            _ => A::Union(0, Box::new(A::Null)),
        })
        .collect();
    Ok(forcebus_avro::encode(schema, &A::Record(values))?)
}

/// A PublishRequest of `n` `Load__e` events sent at `sent_us`, each with a body of `size`
/// bytes (one payload, shared).
pub(crate) fn batch(
    schema: &Schema,
    schema_id: &str,
    sent_us: u64,
    size: usize,
    n: usize,
) -> anyhow::Result<PublishRequest> {
    let bytes = bytes::Bytes::from(payload(schema, sent_us, size)?);
    let events = (0..n)
        .map(|_| ProducerEvent {
            id: String::new(),
            schema_id: schema_id.to_owned(),
            payload: bytes.clone(),
            headers: vec![],
        })
        .collect();
    Ok(PublishRequest {
        topic_name: TOPIC.into(),
        events,
        auth_refresh: String::new(),
    })
}

/// The send timestamp of a delivered `Load__e` payload.
pub(crate) fn sent_of(schema: &Schema, payload: &[u8]) -> Option<u64> {
    let v = forcebus_avro::decode(schema, payload).ok()?;
    let j = forcebus_avro::to_json(schema, &v);
    j["Sent__c"].as_str()?.parse().ok()
}

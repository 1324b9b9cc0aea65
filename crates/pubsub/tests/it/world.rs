//! The harness: an org with one user, the service, and a client connected over a duplex.

use std::sync::Arc;
use std::time::Duration;

use forcebus_auth::{AppConfig, Auth, AuthConfig, UserCredentials};
use forcebus_meta::standard;
use forcebus_org::{Api, Caller, Op, Org, Schema, SystemClock, UserSeed};
use forcebus_pubsub::proto::pub_sub_client::PubSubClient;
use forcebus_pubsub::proto::{
    FetchRequest, FetchResponse, PublishRequest, PublishResponse, ReplayPreset,
};
use forcebus_pubsub::{PubSub, PubSubConfig};
use forcebus_store::SqliteStore;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status, Streaming};

pub(crate) struct World {
    pub(crate) org: Arc<Org>,
    pub(crate) auth: Arc<Auth>,
    pub(crate) ps: Arc<PubSub>,
    pub(crate) token: String,
    pub(crate) caller: Caller,
    pub(crate) client: PubSubClient<Channel>,
}

pub(crate) async fn world(config: PubSubConfig) -> World {
    world_on(Arc::new(SqliteStore::in_memory().unwrap()), config).await
}

/// [`world`] over a given store (a database file, to wait on real fsyncs).
pub(crate) async fn world_on(store: Arc<SqliteStore>, config: PubSubConfig) -> World {
    let seed = UserSeed {
        username: "a@b.c".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@b.c".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let schema = Schema::new(
        standard::catalogue()
            .into_iter()
            .chain(standard::tooling_catalogue())
            .collect(),
    );
    let org =
        Arc::new(Org::open(store.clone(), schema, Arc::new(SystemClock), "T", &[seed]).unwrap());
    let auth = Arc::new(
        Auth::open(
            org.clone(),
            store.clone(),
            AuthConfig {
                users: vec![UserCredentials {
                    username: "a@b.c".into(),
                    password: "p".into(),
                    security_token: "t".into(),
                    first_name: "A".into(),
                    last_name: "B".into(),
                    email: None,
                    profile: None,
                    permission_sets: Vec::new(),
                }],
                app: AppConfig {
                    client_id: "c".into(),
                    client_secret: "s".into(),
                    run_as: None,
                    certificate: None,
                    callback_urls: vec![],
                },
                session_timeout: Duration::from_secs(7200),
                trusted_networks: forcebus_auth::Network::loopback(),
            },
        )
        .unwrap(),
    );
    let user = auth.default_user().unwrap();
    let token = auth.issue(user, false).unwrap().access_token;
    let ps = PubSub::new(org.clone(), auth.clone(), config);
    let client = connect(&ps).await;
    World {
        org,
        auth,
        ps,
        token,
        caller: Caller {
            user_id: user,
            api: Api::Rest,
            version: "59.0".into(),
            client: None,
        },
        client,
    }
}

/// A client whose every connection is a fresh duplex served by the service over HTTP/2.
async fn connect(ps: &Arc<PubSub>) -> PubSubClient<Channel> {
    let ps = ps.clone();
    let channel = Endpoint::from_static("http://pubsub.test")
        .connect_with_connector(tower::service_fn(move |_| {
            let (client, server) = tokio::io::duplex(1 << 20);
            let service = ps.service();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(server), TowerToHyperService::new(service))
                    .await;
            });
            async move { Ok::<_, std::io::Error>(TokioIo::new(client)) }
        }))
        .await
        .unwrap();
    PubSubClient::new(channel)
        .max_decoding_message_size(16 << 20)
        .max_encoding_message_size(16 << 20)
}

impl World {
    /// `msg` with this world's credentials.
    pub(crate) fn req<T>(&self, msg: T) -> Request<T> {
        let org = self.org.id().to18();
        with_credentials(msg, Some(&self.token), Some(&org))
    }

    pub(crate) fn account(&self, name: &str) -> String {
        self.create("Account", json!({"Name": name}))
    }

    pub(crate) fn create(&self, object: &str, fields: Value) -> String {
        let r = self
            .org
            .execute(
                &self.caller,
                vec![Op::Create {
                    object: object.into(),
                    fields: fields.as_object().unwrap().clone(),
                }],
                forcebus_org::Mode::ALL_OR_NONE,
            )
            .unwrap()
            .wait()
            .unwrap();
        match r.results.into_iter().next().unwrap() {
            Ok(o) => o.id().to18(),
            Err(e) => panic!("{e:?}"),
        }
    }

    pub(crate) fn update(&self, id: &str, fields: Value) {
        let r = self
            .org
            .execute(
                &self.caller,
                vec![Op::Update {
                    object: None,
                    id: id.into(),
                    fields: fields.as_object().unwrap().clone(),
                }],
                forcebus_org::Mode::ALL_OR_NONE,
            )
            .unwrap()
            .wait()
            .unwrap();
        r.results.into_iter().next().unwrap().unwrap();
    }

    /// Opens a PublishStream, sending `first` when given; returns the request sender and
    /// the response stream.
    pub(crate) async fn publish_stream(
        &self,
        first: Option<PublishRequest>,
    ) -> (mpsc::Sender<PublishRequest>, Streaming<PublishResponse>) {
        let (tx, rx) = mpsc::channel(16);
        if let Some(first) = first {
            tx.send(first).await.unwrap();
        }
        let stream = self
            .client
            .clone()
            .publish_stream(self.req(ReceiverStream::new(rx)))
            .await
            .unwrap()
            .into_inner();
        (tx, stream)
    }

    /// Opens a Subscribe stream; returns the request sender and the response stream.
    pub(crate) async fn subscribe(
        &self,
        first: FetchRequest,
    ) -> (mpsc::Sender<FetchRequest>, Streaming<FetchResponse>) {
        let (tx, rx) = mpsc::channel(16);
        tx.send(first).await.unwrap();
        let stream = self
            .client
            .clone()
            .subscribe(self.req(ReceiverStream::new(rx)))
            .await
            .unwrap()
            .into_inner();
        (tx, stream)
    }
}

pub(crate) fn fetch(topic: &str, preset: ReplayPreset, n: i32) -> FetchRequest {
    FetchRequest {
        topic_name: topic.into(),
        replay_preset: preset as i32,
        num_requested: n,
        ..Default::default()
    }
}

pub(crate) fn with_credentials<T>(msg: T, token: Option<&str>, tenant: Option<&str>) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(t) = token {
        r.metadata_mut()
            .insert("accesstoken", MetadataValue::try_from(t).unwrap());
    }
    if let Some(t) = tenant {
        r.metadata_mut()
            .insert("tenantid", MetadataValue::try_from(t).unwrap());
    }
    r.metadata_mut().insert(
        "instanceurl",
        MetadataValue::from_static("https://localhost"),
    );
    r
}

/// The next message, failing the test on a stream error or end.
pub(crate) async fn next<T>(s: &mut Streaming<T>) -> T {
    match s.message().await {
        Ok(Some(m)) => m,
        other => panic!("expected a message, got {:?}", other.map(|_| ())),
    }
}

/// The stream's terminal error.
pub(crate) async fn error<T>(s: &mut Streaming<T>) -> Status {
    loop {
        match s.message().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without an error"),
            Err(e) => return e,
        }
    }
}

pub(crate) fn replay_id(b: &[u8]) -> u64 {
    u64::from_be_bytes(b.try_into().expect("8-byte replay id"))
}

pub(crate) fn error_code(s: &Status) -> &str {
    s.metadata()
        .get("error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

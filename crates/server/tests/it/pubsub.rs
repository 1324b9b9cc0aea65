//! The Pub/Sub API through the built binary: the gRPC port answers plaintext HTTP/2 and
//! TLS (the generated CA, ALPN h2); managed subscriptions made through the tooling API
//! resume from their committed replay id after a restart.

use forcebus_pubsub::proto::pub_sub_client::PubSubClient;
use forcebus_pubsub::proto::{
    CommitReplayRequest, ManagedFetchRequest, ManagedFetchResponse, TopicRequest,
};
use forcebus_testkit::{Options, Server};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::{Authed, bin, create, j};

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn request<T>(s: &Server, msg: T) -> tonic::Request<T> {
    request_as(s, msg, &s.ready.access_token, &s.ready.org_id)
}

/// `msg` with `token` of org `tenant` in its metadata.
pub(crate) fn request_as<T>(s: &Server, msg: T, token: &str, tenant: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    let m = r.metadata_mut();
    m.insert("accesstoken", MetadataValue::try_from(token).unwrap());
    m.insert("tenantid", MetadataValue::try_from(tenant).unwrap());
    m.insert(
        "instanceurl",
        MetadataValue::try_from(s.tls_base()).unwrap(),
    );
    r
}

/// A Subscribe to Account change events over plaintext with 5 events of credit; the
/// sender keeps the request stream open.
pub(crate) fn subscribe_to_account_changes(
    rt: &tokio::runtime::Runtime,
    s: &Server,
) -> (
    mpsc::Sender<forcebus_pubsub::proto::FetchRequest>,
    tonic::Streaming<forcebus_pubsub::proto::FetchResponse>,
) {
    subscribe_as(rt, s, &s.ready.access_token, &s.ready.org_id)
}

/// The same, with `token` of org `tenant`.
pub(crate) fn subscribe_as(
    rt: &tokio::runtime::Runtime,
    s: &Server,
    token: &str,
    tenant: &str,
) -> (
    mpsc::Sender<forcebus_pubsub::proto::FetchRequest>,
    tonic::Streaming<forcebus_pubsub::proto::FetchResponse>,
) {
    rt.block_on(async {
        let (tx, rx) = mpsc::channel(2);
        tx.send(forcebus_pubsub::proto::FetchRequest {
            topic_name: "/data/AccountChangeEvent".into(),
            num_requested: 5,
            ..Default::default()
        })
        .await
        .unwrap();
        let req = request_as(s, ReceiverStream::new(rx), token, tenant);
        let stream = plaintext(s)
            .await
            .subscribe(req)
            .await
            .unwrap()
            .into_inner();
        (tx, stream)
    })
}

pub(crate) async fn plaintext(s: &Server) -> PubSubClient<Channel> {
    let ch = Endpoint::from_shared(format!("http://{}", s.ready.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    PubSubClient::new(ch)
}

pub(crate) async fn tls(s: &Server) -> PubSubClient<Channel> {
    let port = s.ready.grpc.rsplit(':').next().unwrap();
    let ca = std::fs::read_to_string(&s.ready.ca_cert).unwrap();
    let ch = Endpoint::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(ca))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    PubSubClient::new(ch)
}

#[test]
fn the_grpc_port_answers_plaintext_and_tls() {
    let s = crate::server();
    assert!(s.ready.grpc.starts_with("127.0.0.1:"), "{}", s.ready.grpc);
    assert_ne!(s.ready.grpc, s.ready.http);
    runtime().block_on(async {
        for mut client in [plaintext(&s).await, tls(&s).await] {
            let info = client
                .get_topic(request(
                    &s,
                    TopicRequest {
                        topic_name: "/data/AccountChangeEvent".into(),
                    },
                ))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(info.topic_name, "/data/AccountChangeEvent");
            assert_eq!(info.tenant_guid, s.ready.org_id);
            assert_eq!(info.schema_id.len(), 22);
        }
    });
}

/// A managed subscription `name` to Account change events from EARLIEST, made through
/// the Tooling API; its id.
pub(crate) fn account_changes_subscription(s: &Server, name: &str) -> String {
    let (st, body) = j(s
        .http()
        .post(format!(
            "{}/tooling/sobjects/ManagedEventSubscription",
            s.data()
        ))
        .bearer(s)
        .json(&json!({"FullName": name, "Metadata": {
            "label": name, "topicName": "/data/AccountChangeEvent",
            "defaultReplay": "EARLIEST", "errorRecoveryReplay": "LATEST", "state": "RUN"}}))
        .send()
        .unwrap());
    assert_eq!(st, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn managed(
    s: &Server,
    name: &str,
    n: i32,
) -> (
    mpsc::Sender<ManagedFetchRequest>,
    tonic::Streaming<ManagedFetchResponse>,
) {
    let (tx, rx) = mpsc::channel(4);
    tx.send(ManagedFetchRequest {
        developer_name: name.into(),
        num_requested: n,
        ..Default::default()
    })
    .await
    .unwrap();
    let stream = plaintext(s)
        .await
        .managed_subscribe(request(s, ReceiverStream::new(rx)))
        .await
        .unwrap()
        .into_inner();
    (tx, stream)
}

#[test]
fn a_managed_subscription_resumes_from_its_commit_after_a_restart() {
    let mut s = Server::start_with(
        &bin(),
        Options {
            in_memory: false,
            ..Default::default()
        },
    );
    let sub_id = account_changes_subscription(&s, "Accounts_Sub");
    assert!(sub_id.starts_with("18x"));
    // The shape the npm client reads before it subscribes.
    let q = "SELECT Id, DeveloperName, Metadata FROM ManagedEventSubscription WHERE DeveloperName='Accounts_Sub' LIMIT 1";
    let (st, body) = j(s
        .http()
        .get(format!("{}/tooling/query/", s.data()))
        .query(&[("q", q)])
        .bearer(&s)
        .send()
        .unwrap());
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["records"][0]["Id"], sub_id.as_str());
    assert_eq!(
        body["records"][0]["Metadata"]["topicName"],
        "/data/AccountChangeEvent"
    );
    assert_eq!(body["records"][0]["Metadata"]["state"], "RUN");

    for name in ["One", "Two"] {
        create(&s, "Account", json!({"Name": name}));
    }
    let committed = runtime().block_on(async {
        let (tx, mut stream) = managed(&s, "Accounts_Sub", 2).await;
        let mut events = Vec::new();
        while events.len() < 2 {
            events.extend(stream.message().await.unwrap().unwrap().events);
        }
        let first = events[0].replay_id.clone();
        tx.send(ManagedFetchRequest {
            commit_replay_id_request: Some(CommitReplayRequest {
                commit_request_id: "c1".into(),
                replay_id: first.clone(),
            }),
            ..Default::default()
        })
        .await
        .unwrap();
        let answer = stream.message().await.unwrap().unwrap();
        let c = answer.commit_response.unwrap();
        assert_eq!(c.commit_request_id, "c1");
        assert!(c.error.is_none(), "{c:?}");
        (first, events[1].replay_id.clone())
    });
    s.restart();
    runtime().block_on(async {
        let (_tx, mut stream) = managed(&s, "Accounts_Sub", 5).await;
        let r = stream.message().await.unwrap().unwrap();
        assert_eq!(r.events.len(), 1, "only the event after the commit");
        assert_eq!(r.events[0].replay_id, committed.1);
        assert!(committed.0 < committed.1);
    });
}

#[test]
fn sigterm_ends_open_subscriptions_and_the_server_exits_promptly() {
    let mut s = crate::server();
    // A worker thread keeps the client's connection answering (HTTP/2 pings of the
    // server's graceful shutdown) while this thread waits for the process to exit.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (_tx, mut stream) = subscribe_to_account_changes(&rt, &s);
    let started = std::time::Instant::now();
    let status = s.terminate();
    assert!(status.success(), "{status:?}; log:\n{}", s.log());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "exited after {:?}",
        started.elapsed()
    );
    let end = rt.block_on(stream.message());
    assert!(
        end.is_err(),
        "the stream ended with an error status: {end:?}"
    );
}

#[test]
fn garbage_on_the_grpc_port_closes_that_connection_only() {
    use std::io::{Read, Write};
    let s = crate::server();
    for bytes in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\xff\xff\xff\xff\xff\xff\xff\xff\xff"[..],
        &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5][..],
        &[0u8; 64][..],
    ] {
        let mut tcp = std::net::TcpStream::connect(&s.ready.grpc).unwrap();
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(15)))
            .unwrap();
        tcp.write_all(bytes).unwrap();
        let mut sink = Vec::new();
        // The server answers what it can (an HTTP/2 GOAWAY, a TLS alert) and closes.
        let _ = tcp.read_to_end(&mut sink);
    }
    runtime().block_on(async {
        let info = plaintext(&s)
            .await
            .get_topic(request(
                &s,
                TopicRequest {
                    topic_name: "/data/ChangeEvents".into(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(info.topic_name, "/data/ChangeEvents");
    });
}

/// A review found: a Subscribe kept delivering after its token was revoked. The
/// stream now ends with UNAUTHENTICATED and Salesforce's `error-code` trailer.
#[test]
fn a_subscription_ends_when_its_token_is_revoked() {
    let s = crate::server();
    let rt = runtime();
    // Blocking HTTP calls run outside `block_on` (reqwest's blocking client has a runtime
    // of its own).
    let (tx, mut stream) = subscribe_to_account_changes(&rt, &s);
    create(&s, "Account", json!({"Name": "before the revoke"}));
    let first = rt.block_on(stream.message()).unwrap().unwrap();
    assert_eq!(first.events.len(), 1);
    let (st, _) = j(s
        .http()
        .post(format!("{}/services/oauth2/revoke", s.base()))
        .form(&[("token", s.ready.access_token.as_str())])
        .send()
        .unwrap());
    assert_eq!(st, 200);
    let end = rt
        .block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), stream.message()).await
        })
        .expect("the stream ends at once");
    let status = end.expect_err("an error status, not another response");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert_eq!(
        status
            .metadata()
            .get("error-code")
            .map(|v| v.to_str().unwrap()),
        Some("sfdc.platform.eventbus.grpc.service.auth.error"),
        "{status:?}"
    );
    drop(tx);
}

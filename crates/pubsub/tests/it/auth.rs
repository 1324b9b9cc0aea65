//! Every auth failure, on every RPC (`pubsub-api.md` §3.1): UNAUTHENTICATED, Salesforce's
//! message with the call's rpc id, and the `error-code` trailer.

use forcebus_pubsub::PubSubConfig;
use forcebus_pubsub::proto::{
    FetchRequest, ManagedFetchRequest, PublishRequest, SchemaRequest, TopicRequest,
};
use tonic::{Code, Status};

use crate::world::{World, error_code, with_credentials, world};

const MESSAGE: &str = "An authentication exception occurred. Provide valid authentication via metadata headers. rpcId: ";

fn assert_auth_error(s: &Status, case: &str) {
    assert_eq!(s.code(), Code::Unauthenticated, "{case}: {s:?}");
    assert!(s.message().starts_with(MESSAGE), "{case}: {}", s.message());
    let rpc = &s.message()[MESSAGE.len()..];
    assert_eq!(rpc.len(), 36, "{case}: rpc id {rpc}");
    assert_eq!(
        error_code(s),
        "sfdc.platform.eventbus.grpc.service.auth.error",
        "{case}"
    );
    assert_eq!(s.metadata().get("rpc-id").unwrap(), rpc, "{case}");
}

/// Each RPC called with `token` and `tenant`; returns its status.
async fn every_rpc(
    w: &World,
    token: Option<&str>,
    tenant: Option<&str>,
) -> Vec<(&'static str, Status)> {
    let mut c = w.client.clone();
    let topic = "/data/AccountChangeEvent";
    let mut out = Vec::new();
    out.push((
        "GetTopic",
        c.get_topic(with_credentials(
            TopicRequest {
                topic_name: topic.into(),
            },
            token,
            tenant,
        ))
        .await
        .unwrap_err(),
    ));
    out.push((
        "GetSchema",
        c.get_schema(with_credentials(
            SchemaRequest {
                schema_id: "x".into(),
            },
            token,
            tenant,
        ))
        .await
        .unwrap_err(),
    ));
    out.push((
        "Publish",
        c.publish(with_credentials(
            PublishRequest {
                topic_name: topic.into(),
                ..Default::default()
            },
            token,
            tenant,
        ))
        .await
        .unwrap_err(),
    ));
    let sub = tokio_stream::iter(vec![FetchRequest {
        topic_name: topic.into(),
        num_requested: 1,
        ..Default::default()
    }]);
    out.push((
        "Subscribe",
        c.subscribe(with_credentials(sub, token, tenant))
            .await
            .unwrap_err(),
    ));
    let publish = tokio_stream::iter(vec![PublishRequest::default()]);
    out.push((
        "PublishStream",
        c.publish_stream(with_credentials(publish, token, tenant))
            .await
            .unwrap_err(),
    ));
    let managed = tokio_stream::iter(vec![ManagedFetchRequest {
        developer_name: "x".into(),
        ..Default::default()
    }]);
    out.push((
        "ManagedSubscribe",
        c.managed_subscribe(with_credentials(managed, token, tenant))
            .await
            .unwrap_err(),
    ));
    out
}

#[tokio::test]
async fn every_auth_failure_on_every_rpc() {
    let w = world(PubSubConfig::default()).await;
    let org18 = w.org.id().to18();
    let org15 = w.org.id().as15().to_owned();
    let other_org = "00D58000000arpqEAA";
    let cases: Vec<(&str, Option<&str>, Option<&str>)> = vec![
        ("no token", None, Some(&org18)),
        ("no tenant", Some(&w.token), None),
        ("unknown token", Some("00D000000000001!nope"), Some(&org18)),
        ("empty token", Some(""), Some(&org18)),
        ("another org's tenant", Some(&w.token), Some(other_org)),
        ("malformed tenant", Some(&w.token), Some("00Dxyz")),
        (
            "a user id as tenant",
            Some(&w.token),
            Some("005000000000001"),
        ),
    ];
    for (case, token, tenant) in cases {
        for (rpc, status) in every_rpc(&w, token, tenant).await {
            assert_auth_error(&status, &format!("{case} / {rpc}"));
        }
    }
    // Both id forms, and the 18-character form in any case, are accepted.
    for tenant in [org18.clone(), org15, org18.to_lowercase()] {
        let r = w
            .client
            .clone()
            .get_topic(with_credentials(
                TopicRequest {
                    topic_name: "/data/AccountChangeEvent".into(),
                },
                Some(&w.token),
                Some(&tenant),
            ))
            .await;
        assert!(r.is_ok(), "{tenant}: {r:?}");
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let w = world(PubSubConfig::default()).await;
    assert!(w.auth.revoke(&w.token).unwrap());
    let org = w.org.id().to18();
    for (rpc, status) in every_rpc(&w, Some(&w.token), Some(&org)).await {
        assert_auth_error(&status, rpc);
    }
}

//! Bayeux message encoding: the text one subscriber's `/meta/connect` reply carries for an
//! event. "first" is the first subscriber (the event's `data` rendered from the log's
//! stored form); "shared" is every later subscriber on a standard channel (the shared
//! rendering copied into a message). Also: parsing a client's `/meta/connect` request,
//! and whole requests processed into their reply text: a connect answered at once, a
//! connect from an unknown client, a handshake followed by a disconnect, and a connect
//! answered with a hundred events.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_main};
use forcebus_auth::{AppConfig, Auth, AuthConfig, UserCredentials};
use forcebus_bayeux::{Bayeux, BayeuxConfig, protocol};
use forcebus_eventlog::{Event, Start};
use forcebus_meta::standard;
use forcebus_org::{Api, Caller, Op, Org, Outcome, Schema, SystemClock, UserSeed};
use forcebus_store::SqliteStore;
use serde_json::json;

struct World {
    bx: Arc<Bayeux>,
    token: String,
    change: Arc<Event>,
    platform: Arc<Event>,
}

fn world() -> World {
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let seed = UserSeed {
        username: "a@b.c".into(),
        first_name: "A".into(),
        last_name: "B".into(),
        email: "a@b.c".into(),
        profile: None,
        permission_sets: Vec::new(),
    };
    let org = Arc::new(
        Org::open(
            store.clone(),
            Schema::new(standard::catalogue()),
            Arc::new(SystemClock),
            "B",
            &[seed],
        )
        .unwrap(),
    );
    let auth = Arc::new(
        Auth::open(
            org.clone(),
            store,
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
    let caller = Caller {
        user_id: org.user_by_username("a@b.c").unwrap().id,
        api: Api::Rest,
        version: "62.0".into(),
        client: None,
    };
    // A change event: an Account update of three fields.
    let created = org
        .execute(
            &caller,
            vec![Op::Create {
                object: "Account".into(),
                fields: json!({"Name": "Acme", "Industry": "Energy", "NumberOfEmployees": 10})
                    .as_object()
                    .unwrap()
                    .clone(),
            }],
            forcebus_org::Mode::ALL_OR_NONE,
        )
        .unwrap()
        .wait()
        .unwrap();
    let Ok(Outcome::Created(id)) = &created.results[0] else {
        panic!("the account was not created")
    };
    org.execute(
        &caller,
        vec![Op::Update {
            object: Some("Account".into()),
            id: id.to18(),
            fields: json!({"Name": "Acme Corporation", "Industry": "Technology", "NumberOfEmployees": 500})
                .as_object()
                .unwrap()
                .clone(),
        }],
        forcebus_org::Mode::ALL_OR_NONE).unwrap()
    .wait()
    .unwrap();
    // A platform event with a 100-byte body, the chat benchmark's message.
    let config = serde_json::from_value(json!({"fields": [
        {"name": "Sent__c", "type": "string", "length": 24},
        {"name": "Body__c", "type": "textarea", "length": 131072},
    ]}))
    .unwrap();
    let (def, _) = org.define_platform_event("Chat__e", config).unwrap();
    // A hundred of them: what a busy subscriber's connect takes in one reply.
    let fields = json!({"Sent__c": "1732262400000000", "Body__c": "x".repeat(100)});
    let events = vec![(def, fields.as_object().unwrap().clone().into(), None); 100];
    for published in org.publish(&caller, &events, true).unwrap().wait().unwrap() {
        published.unwrap();
    }

    let last = |channel| {
        let mut cursor = org.log().subscribe(channel, Start::Earliest).unwrap();
        cursor.poll(100).unwrap().pop().unwrap()
    };
    let change = last(org.change_channel("/data/AccountChangeEvent").unwrap());
    let platform = last(org.event_channel("/event/Chat__e").unwrap());
    let token = auth.issue(caller.user_id, false).unwrap().access_token;
    // Sessions without the per-user allowance: criterion makes a batch's sessions (see
    // connect_100_events) before timing any of them, thousands at once on a fast machine.
    let config = BayeuxConfig {
        max_clients: usize::MAX,
        ..BayeuxConfig::default()
    };
    let bx = Bayeux::new(org, auth, config);
    World {
        bx,
        token,
        change,
        platform,
    }
}

fn benches(c: &mut Criterion) {
    let w = world();
    let cases = [
        ("change_event", &w.change, "/data/AccountChangeEvent"),
        ("platform_event", &w.platform, "/event/Chat__e"),
    ];
    for (name, event, channel) in cases {
        let text = w.bx.encode_event(event, channel, 62).expect("shown");
        assert!(text.starts_with(&format!("{{\"channel\":\"{channel}\"")));
        c.bench_function(&format!("bayeux/encode/{name}/first"), |b| {
            b.iter_batched(
                || Event::clone(event),
                |e| w.bx.encode_event(&e, channel, 62),
                criterion::BatchSize::SmallInput,
            )
        });
        c.bench_function(&format!("bayeux/encode/{name}/shared"), |b| {
            b.iter(|| w.bx.encode_event(event, channel, 62))
        });
    }
    let connect = json!([{
        "channel": "/meta/connect",
        "clientId": "4h8dtqk1r4ghhbp3ex3qw5cz1g8jz",
        "connectionType": "long-polling",
        "id": "42",
        "advice": {"timeout": 0},
        "ext": {"replay": {"/event/Chat__e": -1, "/data/AccountChangeEvent": 1234}},
    }])
    .to_string();
    c.bench_function("bayeux/parse/connect", |b| {
        b.iter(|| protocol::parse(connect.as_bytes()).unwrap())
    });
    replies(c, &w);
}

/// Requests processed into their reply text: what a meta message costs from its parsed
/// form to the bytes of the answer, with no events to deliver and then with a hundred.
fn replies(c: &mut Criterion, w: &World) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // A request's messages, parsed, processed into the answer's text.
    let run = |messages| {
        rt.block_on(protocol::process(
            &w.bx,
            messages,
            (Some(&w.token), None),
            "62.0",
        ))
    };
    let parsed = |body: serde_json::Value| protocol::parse(body.to_string().as_bytes()).unwrap();
    let process = |body: serde_json::Value| run(parsed(body));
    let handshake = json!([{"channel": "/meta/handshake", "version": "1.0", "id": "1",
        "supportedConnectionTypes": ["long-polling"]}]);
    let reply: serde_json::Value = serde_json::from_str(&process(handshake.clone())).unwrap();
    let client = reply[0]["clientId"].as_str().unwrap().to_owned();
    let subscribe = json!([{"channel": "/meta/subscribe", "clientId": client, "id": "2",
        "subscription": "/event/Chat__e"}]);
    assert!(process(subscribe).contains("\"successful\":true"));
    let connect = json!([{"channel": "/meta/connect", "clientId": client, "id": "3",
        "connectionType": "long-polling", "advice": {"timeout": 0}}]);
    assert!(process(connect.clone()).contains("\"successful\":true"));
    let messages = parsed(connect);
    c.bench_function("bayeux/process/connect", |b| {
        b.iter_batched(|| messages.clone(), run, criterion::BatchSize::SmallInput)
    });
    let unknown = json!([{"channel": "/meta/connect", "clientId": "nope", "id": "4",
        "connectionType": "long-polling"}]);
    let messages = parsed(unknown);
    c.bench_function("bayeux/process/unknown_client", |b| {
        b.iter_batched(|| messages.clone(), run, criterion::BatchSize::SmallInput)
    });
    let messages = parsed(handshake.clone());
    c.bench_function("bayeux/process/handshake_disconnect", |b| {
        b.iter_batched(
            || messages.clone(),
            |m| {
                let reply = run(m);
                let start = reply.find("\"clientId\":\"").unwrap() + 12;
                let client = &reply[start..start + reply[start..].find('"').unwrap()];
                process(json!([{"channel": "/meta/disconnect", "clientId": client, "id": "5"}]))
            },
            criterion::BatchSize::SmallInput,
        )
    });
    // A connect answered with the hundred platform events above, each encoded already
    // (every subscriber after the first): the copies and text of a full reply. Each
    // iteration's session is made and subscribed from the start of the log beforehand;
    // the time is its connect and then its disconnect.
    let connect_with = |client: &str| {
        json!([{"channel": "/meta/connect", "clientId": client, "id": "6",
            "connectionType": "long-polling", "advice": {"timeout": 0}}])
    };
    let fresh_session = || {
        let reply: serde_json::Value = serde_json::from_str(&process(handshake.clone())).unwrap();
        let client = reply[0]["clientId"].as_str().unwrap().to_owned();
        let subscribe = json!([{"channel": "/meta/subscribe", "clientId": client, "id": "2",
            "subscription": "/event/Chat__e", "ext": {"replay": {"/event/Chat__e": -2}}}]);
        assert!(process(subscribe).contains("\"successful\":true"));
        let connect = parsed(connect_with(&client));
        (client, connect)
    };
    let (client, connect) = fresh_session();
    let reply: serde_json::Value = serde_json::from_str(&run(connect)).unwrap();
    let reply = reply.as_array().unwrap();
    assert_eq!(reply.len(), 101, "a hundred events and the reply");
    assert!(
        reply[..100]
            .iter()
            .all(|m| m["channel"] == "/event/Chat__e"),
        "the hundred events first"
    );
    process(json!([{"channel": "/meta/disconnect", "clientId": client}]));
    c.bench_function("bayeux/process/connect_100_events", |b| {
        b.iter_batched(
            fresh_session,
            |(client, m)| {
                let reply = run(m);
                let bye = process(json!([{"channel": "/meta/disconnect", "clientId": client}]));
                (reply, bye)
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

fn group() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
}

criterion_main!(group);

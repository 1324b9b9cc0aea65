//! Parsing request bodies, versions, and the replay-map text of errors.

use serde_json::{Map, Value, json};

use super::subscribe::map_text;
use super::*;
use proptest::prelude::*;

#[test]
fn bodies_are_arrays_or_one_object() {
    assert_eq!(
        parse(br#"[{"channel":"/meta/connect"},{"channel":"/meta/subscribe"}]"#)
            .unwrap()
            .len(),
        2
    );
    assert_eq!(parse(br#"{"channel":"/meta/handshake"}"#).unwrap().len(), 1);
    assert!(parse(b"[1]").is_err());
    assert!(parse(b"\"x\"").is_err());
    assert!(parse(b"").is_err());
}

#[test]
fn versions() {
    for ok in ["37.0", "43.0", "59.0", "62.0"] {
        assert!(version_ok(ok), "{ok}");
    }
    for bad in ["36.0", "replay", "", "59", "x.0", "100.0"] {
        assert!(!version_ok(bad), "{bad}");
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn replay_map_text_never_panics(keys in proptest::collection::vec("[/a-zA-Z_?=']{0,20}", 0..4), v in any::<i64>()) {
        let map: Map<String, Value> = keys.into_iter().map(|k| (k, json!(v))).collect();
        let text = map_text(&map);
        let braced = text.starts_with('{') && text.ends_with('}');
        prop_assert!(braced, "not braced: {}", text);
    }
}

#[test]
fn messages_keep_what_replies_echo_and_read_the_rest_leniently() {
    let m = &parse(
        br#"{"channel":"/meta/subscribe","id":7,"clientId":"abc","subscription":"/data/X",
            "ext":{"replay":{"/data/X":-2}},"advice":{"timeout":0},
            "supportedConnectionTypes":["long-polling"],"unknown":true}"#,
    )
    .unwrap()[0];
    assert_eq!(m.channel, "/meta/subscribe");
    assert_eq!(m.id, Some(json!(7)));
    assert_eq!((m.client_id(), m.subscription_name()), ("abc", "/data/X"));
    assert_eq!(m.replay.as_deref(), Some(&json!({"/data/X": -2})));
    assert_eq!(m.advice_timeout, Some(0));
    assert_eq!(m.connection_types, Some(vec![json!("long-polling")]));
    // Wrong types count as absent; echoed fields keep what was sent.
    let odd = &parse(br#"{"channel":5,"clientId":9,"advice":"x","ext":[1]}"#).unwrap()[0];
    assert_eq!(odd.channel, "");
    assert_eq!(odd.client_id(), "");
    assert_eq!(odd.client_id, Some(json!(9)));
    assert_eq!((odd.advice_timeout, odd.replay.as_deref()), (None, None));
    assert_eq!(
        parse(b"[1]").unwrap_err().to_string(),
        "Every Bayeux message must be an object"
    );
}

#[test]
fn replies_are_written_with_their_keys_in_order() {
    use super::reply::{Advice, Denied, Handshake, Reply, UnknownClient};
    let m = &parse(br#"{"channel":"/meta/connect","id":"7","clientId":"c1","subscription":"/x"}"#)
        .unwrap()[0];
    assert_eq!(
        Reply::success(m, "/meta/connect", "c1")
            .advice(Advice::Retry { timeout: 110000 })
            .text(),
        r#"{"channel":"/meta/connect","id":"7","clientId":"c1","advice":{"interval":0,"timeout":110000,"reconnect":"retry"},"successful":true}"#
    );
    assert_eq!(
        Reply::failure(m, "/meta/connect", &BayeuxError::AuthenticationInvalid)
            .advice(Advice::StopNow)
            .text(),
        r#"{"channel":"/meta/connect","id":"7","clientId":"c1","subscription":"/x","error":"401::Authentication invalid","advice":{"reconnect":"none","interval":0},"successful":false}"#
    );
    // An unknown client's clientId is not echoed; `successful` keeps the place it had.
    assert_eq!(
        UnknownClient::to(m, "/meta/connect").text(),
        r#"{"channel":"/meta/connect","id":"7","successful":false,"subscription":"/x","error":"403::Unknown client","advice":{"interval":0,"reconnect":"handshake"}}"#
    );
    let bare = &parse(br#"{"channel":"/meta/connect"}"#).unwrap()[0];
    assert_eq!(
        UnknownClient::to(bare, "/meta/connect").text(),
        r#"{"channel":"/meta/connect","error":"403::Unknown client","advice":{"interval":0,"reconnect":"handshake"},"successful":false}"#
    );
    assert_eq!(
        Handshake::new(bare, "c2").text(),
        r#"{"channel":"/meta/handshake","ext":{"replay":true,"payload.format":true},"minimumVersion":"1.0","clientId":"c2","supportedConnectionTypes":["long-polling"],"version":"1.0","successful":true}"#
    );
    assert_eq!(
        Denied::new(bare, &BayeuxError::RequiresAuthentication).text(),
        r#"{"channel":"/meta/handshake","ext":{"sfdc":{"failureReason":"401::Request requires authentication"},"replay":true},"advice":{"reconnect":"none"},"error":"403::Handshake denied","successful":false}"#
    );
}

/// A JSON value of a few levels, its object keys drawn from the names a message's fields
/// and their insides use, so generated bodies hit every field.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z/\\\\\"é]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((field_name(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("channel"),
        Just("id"),
        Just("clientId"),
        Just("subscription"),
        Just("ext"),
        Just("replay"),
        Just("advice"),
        Just("timeout"),
        Just("supportedConnectionTypes"),
        Just("connectionType"),
        Just("chann\\u0065l"),
        Just("other"),
    ]
    .prop_map(str::to_owned)
}

/// A message object as text, written field by field so a field may come twice.
fn message_text() -> impl Strategy<Value = String> {
    proptest::collection::vec((field_name(), json_value()), 0..6).prop_map(|fields| {
        let fields: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", fields.join(","))
    })
}

/// A body: an array of messages (now and then with a value that is not one), one bare
/// message, or a value that is not a message at all.
fn body_text() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(
            prop_oneof![4 => message_text(), 1 => json_value().prop_map(|v| v.to_string())],
            0..4
        )
        .prop_map(|ms| format!("[{}]", ms.join(","))),
        message_text(),
        json_value().prop_map(|v| v.to_string()),
    ]
}

proptest! {
    /// The body read straight from its text gives what it gives through a JSON value:
    /// the same messages, or the same error.
    #[test]
    fn reading_the_text_agrees_with_reading_a_value(body in body_text(), cut in 0usize..2) {
        // Now and then the body cut short (perhaps inside a character), so it is not JSON.
        let bytes = if cut == 1 { &body.as_bytes()[..body.len() / 2] } else { body.as_bytes() };
        prop_assert_eq!(parse(bytes), Message::parse_body(bytes), "{}", body);
        // The text is read whenever the body holds messages at all.
        let read = super::read::messages(bytes);
        prop_assert_eq!(read.is_some(), Message::parse_body(bytes).is_ok(), "{}", body);
        if let Some(read) = read {
            prop_assert_eq!(Ok(read), Message::parse_body(bytes), "{}", body);
        }
    }
}

#[test]
fn a_field_given_twice_counts_once_the_last_time() {
    let body = br#"[{"channel":"/meta/subscribe","channel":"/meta/connect","ext":{"replay":{"/a":1}},"ext":5,"id":"1","advice":{"timeout":0}}]"#;
    let read = super::read::messages(body).expect("read from the text");
    assert_eq!(read, Message::parse_body(body).unwrap());
    assert_eq!(read[0].channel, "/meta/connect");
    assert_eq!(read[0].replay, None);
    assert_eq!(read[0].advice_timeout, Some(0));
}

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

/// Text a JSON value's reader refuses, or treats apart, where a parser that merely skips
/// an unread field would not notice: invalid UTF-8, a lone surrogate, a number out of
/// range, nesting past the parser's limit, objects led by the raw-value key.
fn awkward_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\"\xff\"".to_vec()),
        Just(br#""\ud800""#.to_vec()),
        Just(br#""\ud83d\ude00""#.to_vec()),
        Just(b"1e400".to_vec()),
        Just(b"-1e400".to_vec()),
        Just(b"18446744073709551616".to_vec()),
        (120usize..140).prop_map(|n| [vec![b'['; n], vec![b']'; n]].concat()),
        Just(br#"{"$serde_json::private::RawValue":"{}"}"#.to_vec()),
        Just(br#"{"$serde_json::private::RawValue":5}"#.to_vec()),
        Just(br#"{"a":1,"$serde_json::private::RawValue":"5"}"#.to_vec()),
        Just(b" [ 1 , {\"x\" : null} ] ".to_vec()),
    ]
}

fn field_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => awkward_value(),
    ]
}

fn key_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => field_name(),
        1 => Just("$serde_json::private::RawValue".to_owned()),
    ]
}

/// A message object as text, written field by field so a field may come twice.
fn message_text() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec((key_text(), field_value()), 0..6).prop_map(|fields| {
        let fields: Vec<Vec<u8>> = fields
            .into_iter()
            .map(|(k, v)| [format!("\"{k}\":").into_bytes(), v].concat())
            .collect();
        [b"{".to_vec(), fields.join(&b","[..]), b"}".to_vec()].concat()
    })
}

/// A body: an array of messages (now and then with a value that is not one), one bare
/// message, or a value that is not a message at all.
fn body_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(prop_oneof![4 => message_text(), 1 => field_value()], 0..4)
            .prop_map(|ms| [b"[".to_vec(), ms.join(&b","[..]), b"]".to_vec()].concat()),
        message_text(),
        field_value(),
    ]
}

proptest! {
    /// The body read straight from its text gives what it gives through a JSON value:
    /// the same messages, or the same error; and it is read so whenever it holds messages
    /// (and no raw-value key).
    #[test]
    fn reading_the_text_agrees_with_reading_a_value(body in body_text(), cut in 0usize..2) {
        // Now and then the body cut short (perhaps inside a character), so it is not JSON.
        let bytes = if cut == 1 { &body[..body.len() / 2] } else { &body[..] };
        let shown = String::from_utf8_lossy(bytes);
        let through_a_value = Message::parse_body(bytes);
        prop_assert_eq!(parse(bytes), through_a_value.clone(), "{}", shown);
        // An object led by the raw-value key is left to the value's reader, wherever it is.
        let raw_key = shown.contains("$serde_json::private::RawValue");
        let read = super::read::messages(bytes);
        prop_assert!(raw_key || read.is_some() == through_a_value.is_ok(), "{}", shown);
    }
}

#[test]
fn what_a_value_refuses_in_an_unread_field_is_refused() {
    for body in [
        &b"{\"x\":\"\xff\"}"[..],
        br#"{"x":"\ud800"}"#,
        br#"[{"x":1e400}]"#,
        br#"{"x":{"$serde_json::private::RawValue":5}}"#,
    ] {
        assert!(
            super::read::messages(body).is_none(),
            "{}",
            String::from_utf8_lossy(body)
        );
        assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
    }
    let deep = [&b"{\"x\":"[..], &[b'['; 130], &[b']'; 130], b"}"].concat();
    assert!(super::read::messages(&deep).is_none());
    assert!(parse(&deep).is_err());
    // What a value's reader makes of a leading raw-value key, both paths give.
    let raw = br#"[{"$serde_json::private::RawValue":"{\"channel\":\"/meta/handshake\"}"}]"#;
    assert!(super::read::messages(raw).is_none());
    assert_eq!(parse(raw), Message::parse_body(raw));
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

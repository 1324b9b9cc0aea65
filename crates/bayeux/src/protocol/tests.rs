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

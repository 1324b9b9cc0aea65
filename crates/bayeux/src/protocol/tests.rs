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

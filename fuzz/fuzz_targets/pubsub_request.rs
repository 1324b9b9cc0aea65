//! Pub/Sub API request bytes from the network: a FetchRequest and a ManagedFetchRequest
//! decoded from arbitrary bytes, their replay ids read the way the server reads them
//! (never a panic; an accepted id re-encodes to the same 8 bytes), and arbitrary text
//! given to the schema JSON reader.
#![no_main]

use forcebus_pubsub::proto::{FetchRequest, ManagedFetchRequest};
use forcebus_pubsub::replay;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = FetchRequest::decode(data) {
        if let Ok(id) = replay::decode(&r.replay_id) {
            assert_eq!(&replay::encode(id)[..], &r.replay_id[..]);
        }
    }
    if let Ok(r) = ManagedFetchRequest::decode(data) {
        if let Some(c) = r.commit_replay_id_request {
            let _ = replay::decode(&c.replay_id);
        }
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = forcebus_avro::Schema::from_json(&json);
    }
});

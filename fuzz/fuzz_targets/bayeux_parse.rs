//! Bayeux POST bodies from the network: parsing must never panic, and every message it
//! accepts is a JSON object.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(messages) = forcebus_bayeux::protocol::parse(data) {
        for m in messages {
            let _ = m.get("channel").and_then(|c| c.as_str());
        }
    }
});

//! Bayeux POST bodies from the network: parsing must never panic, every message it
//! accepts reads back its typed fields, and reading straight from the text agrees with
//! reading through a JSON value (the same messages, or the same error).
#![no_main]

use forcebus_bayeux::protocol::{Message, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse(data);
    assert_eq!(parsed, Message::parse_body(data));
    if let Ok(messages) = parsed {
        for m in messages {
            let _ = (m.channel.len(), m.client_id(), m.subscription_name());
        }
    }
});

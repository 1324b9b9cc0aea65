//! Bayeux POST bodies from the network: parsing must never panic, and every message it
//! accepts reads back its typed fields.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(messages) = forcebus_bayeux::protocol::parse(data) {
        for m in messages {
            let _ = (m.channel.len(), m.client_id(), m.subscription_name());
        }
    }
});

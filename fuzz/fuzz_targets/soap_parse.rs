//! SOAP envelopes from the network (`/services/Soap/u/{v}`, `/services/Soap/m/{v}`), read
//! by `forcebus-xml`: parsing must never panic, and whatever it accepts is at most 32
//! elements deep (the parser's bound: deep XML is refused, never recursed into).
#![no_main]

use libfuzzer_sys::fuzz_target;

fn depth(e: &forcebus_xml::Element) -> usize {
    1 + e.children.iter().map(depth).max().unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(root) = forcebus_xml::parse(data) {
        assert!(depth(&root) <= 33, "a tree deeper than the bound was accepted");
    }
});

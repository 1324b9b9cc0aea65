//! SOQL text from the network: parsing must never panic, and whatever parses must print
//! to text that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(q) = forcebus_soql::parse(text) {
        let printed = q.to_string();
        let back = forcebus_soql::parse(&printed).expect("printed SOQL parses");
        assert_eq!(back, q, "{printed}");
    }
});

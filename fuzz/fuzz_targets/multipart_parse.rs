//! `multipart/form-data` bodies from the network (the Metadata API's REST deploy): parsing
//! must never panic, and every part it returns is a slice of the body that does not hold
//! the delimiter (a part ends at the first one).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the boundary's length, the bytes after it the boundary.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 8).min(rest.len());
    let (boundary, body) = rest.split_at(n);
    let Ok(boundary) = std::str::from_utf8(boundary) else {
        return;
    };
    if let Ok(parts) = forcebus_http::multipart::parse(body, boundary) {
        let delimiter = format!("\r\n--{boundary}");
        for p in parts {
            let range = body.as_ptr_range();
            assert!(range.start <= p.body.as_ptr() && p.body.as_ptr_range().end <= range.end);
            assert!(!p.body.windows(delimiter.len()).any(|w| w == delimiter.as_bytes()));
        }
    }
});

//! Bulk API bodies from the network: CSV uploads in every dialect, and Bulk 1.0 batches in
//! XML and JSON. Reading must never panic nor depend on how the input is buffered; what the
//! writer writes must read back the same.
#![no_main]

use forcebus_csv::{Delimiter, Dialect, LineEnding, Reader, Record, Writer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let delimiter = [
        Delimiter::Backquote,
        Delimiter::Caret,
        Delimiter::Comma,
        Delimiter::Pipe,
        Delimiter::Semicolon,
        Delimiter::Tab,
    ][usize::from(pick % 6)];
    let line_ending = if pick & 0x80 == 0 { LineEnding::Lf } else { LineEnding::Crlf };
    let dialect = Dialect { delimiter, line_ending };
    let mut records = Vec::new();
    for record in Reader::new(body, dialect) {
        match record {
            Ok(r) => records.push(r.values),
            Err(_) => break,
        }
    }
    // The reader takes runs of bytes from its buffer: a buffer of 1 to 8 bytes (bits apart
    // from the delimiter's) reads the same records and errors as the whole body, and a
    // reader only checking finds the same, without values.
    let small = std::io::BufReader::with_capacity(usize::from((pick >> 4) & 7) + 1, body);
    let pieces: Vec<_> = Reader::new(small, dialect).collect();
    let whole: Vec<_> = Reader::new(body, dialect).collect();
    assert_eq!(pieces, whole);
    let checked: Vec<_> = Reader::checking(body, dialect).collect();
    let stripped: Vec<_> = whole
        .into_iter()
        .map(|r| r.map(|r| Record { values: Vec::new(), ..r }))
        .collect();
    assert_eq!(checked, stripped);
    // Whatever was read writes out and reads back the same.
    let mut w = Writer::new(Vec::new(), dialect);
    for r in &records {
        w.record(r).expect("writing to memory");
    }
    let out = w.into_inner().expect("writing to memory");
    let back: Vec<Vec<String>> = Reader::new(&out[..], dialect)
        .map(|r| r.expect("written CSV reads back").values)
        .collect();
    // A record of one empty value writes as `""`, which reads back the same.
    assert_eq!(back, records);
    let _ = forcebus_bulk::convert::xml_to_csv(body);
    let _ = forcebus_bulk::convert::json_to_csv(body);
});

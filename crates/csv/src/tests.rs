//! The reader against Salesforce's rules, and writing then reading back.

use proptest::prelude::*;

use super::*;

fn read(text: &str, dialect: Dialect) -> Result<Vec<Vec<String>>, CsvError> {
    Reader::new(text.as_bytes(), dialect)
        .map(|r| r.map(|r| r.values))
        .collect()
}

/// What a [`Reader::checking`] gives for what a [`Reader::new`] read: the same records and
/// errors, without values.
fn without_values(read: Vec<Result<Record, CsvError>>) -> Vec<Result<Record, CsvError>> {
    read.into_iter()
        .map(|r| {
            r.map(|r| Record {
                values: Vec::new(),
                ..r
            })
        })
        .collect()
}

fn lf(delimiter: Delimiter) -> Dialect {
    Dialect {
        delimiter,
        line_ending: LineEnding::Lf,
    }
}

#[test]
fn quoting_delimiters_and_line_endings() {
    let d = Dialect::default();
    assert_eq!(
        read("Name,Phone\n\"Acme, Inc.\",\"555 \"\"x\"\"\"\nB,\n", d).unwrap(),
        [
            vec!["Name", "Phone"],
            vec!["Acme, Inc.", "555 \"x\""],
            vec!["B", ""]
        ]
    );
    assert_eq!(
        read("a|b\nc|\"d\nwith a break\"", lf(Delimiter::Pipe)).unwrap()[1],
        ["c", "d\nwith a break"]
    );
    let crlf = Dialect {
        delimiter: Delimiter::Tab,
        line_ending: LineEnding::Crlf,
    };
    assert_eq!(
        read("a\tb\r\nc\td\r\n", crlf).unwrap(),
        [vec!["a", "b"], vec!["c", "d"]]
    );
    assert_eq!(
        read(" a , b \n", d).unwrap(),
        [vec![" a ", " b "]],
        "values are not trimmed"
    );
    assert!(read("", d).unwrap().is_empty());
}

#[test]
fn salesforces_rules_are_errors_with_their_line() {
    let d = Dialect::default();
    let crlf = Dialect {
        delimiter: Delimiter::Comma,
        line_ending: LineEnding::Crlf,
    };
    for (text, dialect, line, words) in [
        ("a,b\r\nc,d\r\n", d, 1, "LineEnding is invalid"),
        ("a,b\nc,d\n", crlf, 1, "LineEnding is invalid"),
        ("a,b\nc,\"d\n", d, 2, "not closed"),
        ("a,b\nc,d\"x\n", d, 2, "quote appears inside"),
        ("a,b\n\"c\" ,d\n", d, 2, "closing quote"),
        ("a\n\nb\n", d, 2, "empty"),
        ("a\n\u{0}\u{ff}\n", d, 2, ""),
    ] {
        let r = read(text, dialect);
        if words.is_empty() {
            assert!(r.is_ok(), "{text:?}");
            continue;
        }
        let e = r.expect_err(text);
        assert_eq!(e.line, line, "{text:?}: {e}");
        assert!(e.message.contains(words), "{text:?}: {e}");
    }
    let bad_utf8: &[u8] = b"a\n\xff\xfe\n";
    let e = Reader::new(bad_utf8, d)
        .map(|r| r.map(|r| r.values))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert!(e.message.contains("UTF-8"), "{e}");
    let long = format!("a\n\"{}\"\n", "x".repeat(MAX_FIELD + 1));
    assert!(read(&long, d).unwrap_err().message.contains("longer than"));
    // Thirteen values of 31,000 characters: each short enough, the record not.
    let wide = vec!["y".repeat(31_000); 13].join(",");
    let e = read(&format!("a\n{wide}\n"), d).unwrap_err();
    assert!(e.message.contains("record is longer than"), "{e}");
    assert_eq!(e.line, 2);
    // A record of commas: 5,000 values read, one more refused (with the reader only
    // checking too), before a value is made of each byte.
    let fields = |n: usize| format!("a\n{}\n", ",".repeat(n - 1));
    assert_eq!(read(&fields(MAX_VALUES), d).unwrap()[1].len(), MAX_VALUES);
    let e = read(&fields(MAX_VALUES + 1), d).unwrap_err();
    assert!(e.message.contains("more than 5000 fields"), "{e}");
    assert_eq!(e.line, 2);
    let checked = Reader::checking(fields(MAX_VALUES + 1).as_bytes(), d).last();
    assert_eq!(checked, Some(Err(e)));
    let quoted = format!("a\n\"{}\"\n", "z\n".repeat(MAX_RECORD / 2 + 1));
    let e = read(&quoted, d).unwrap_err();
    assert!(e.message.contains("record is longer than"), "{e}");
}

#[test]
fn records_start_on_their_lines_after_quoted_line_breaks() {
    let text = "h1,h2\n\"a\nb\nc\",x\ny,\"\"\"q\"\"\n\"\nz,w\n";
    let records: Vec<Record> = Reader::new(text.as_bytes(), Dialect::default())
        .map(Result::unwrap)
        .collect();
    let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 5, 7]);
    assert_eq!(records[1].values, ["a\nb\nc", "x"]);
    assert_eq!(records[2].values, ["y", "\"q\"\n"]);
}

#[test]
fn checking_finds_the_same_errors() {
    let d = Dialect::default();
    let long_value = format!("a\n\"{}\"\n", "x".repeat(MAX_FIELD + 1));
    let wide = format!("a\n{}\n", vec!["y".repeat(31_000); 13].join(","));
    let inputs: [&[u8]; 4] = [
        long_value.as_bytes(),
        wide.as_bytes(),
        b"a\nb\n\xff\xfe\n",
        b"a\nb\"c\n",
    ];
    for text in inputs {
        // Through a 7-byte buffer too: a run cut short by its buffer or by the record's
        // limit stops where reading byte by byte does.
        let mut whole = Reader::new(text, d);
        let mut small = Reader::new(std::io::BufReader::with_capacity(7, text), d);
        assert_eq!(
            whole.by_ref().collect::<Vec<_>>(),
            small.by_ref().collect::<Vec<_>>()
        );
        assert_eq!(whole.position(), small.position());
        let read: Vec<_> = Reader::new(text, d).collect();
        assert!(read.last().is_some_and(Result::is_err), "{read:?}");
        assert!(read.iter().flatten().all(|r| !r.values.is_empty()));
        let checked: Vec<_> = Reader::checking(text, d).collect();
        assert_eq!(checked, without_values(read));
    }
}

#[test]
fn record_offsets_point_at_their_first_byte() {
    let text = "h1,h2\n\"x\",y\nz,w\n";
    let offsets: Vec<u64> = Reader::new(text.as_bytes(), Dialect::default())
        .map(|r| r.unwrap().offset)
        .collect();
    assert_eq!(offsets, [0, 6, 12]);
}

fn dialects() -> impl Strategy<Value = Dialect> {
    (0..6usize, any::<bool>()).prop_map(|(d, crlf)| Dialect {
        delimiter: [
            Delimiter::Backquote,
            Delimiter::Caret,
            Delimiter::Comma,
            Delimiter::Pipe,
            Delimiter::Semicolon,
            Delimiter::Tab,
        ][d],
        line_ending: if crlf {
            LineEnding::Crlf
        } else {
            LineEnding::Lf
        },
    })
}

proptest! {
    /// What the writer writes, the reader reads back the same, in every dialect.
    #[test]
    fn written_records_read_back(
        dialect in dialects(),
        rows in prop::collection::vec(prop::collection::vec("[ -~\u{e9}\n\t\"]{0,12}", 1..5), 1..6),
    ) {
        let width = rows[0].len();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|mut r| { r.resize(width, String::new()); r }).collect();
        let mut w = Writer::new(Vec::new(), dialect);
        for r in &rows {
            w.record(r).unwrap();
        }
        let bytes = w.into_inner().unwrap();
        let back: Vec<Vec<String>> = Reader::new(&bytes[..], dialect).map(|r| r.unwrap().values).collect();
        prop_assert_eq!(back, rows);
    }

    /// The reader takes runs of plain bytes from its buffer at once: whatever the buffer's
    /// size, every record (values, line, offset) and every error (message, line) is the
    /// same, down to runs of one byte; and a reader only checking finds the same.
    #[test]
    fn the_buffers_size_changes_nothing(
        text in "[a,;`^|\t\"\r\n\u{e9}]{0,80}",
        bytes in prop::collection::vec(any::<u8>(), 0..80),
        capacity in 1..9usize,
        dialect in dialects(),
    ) {
        for input in [text.as_bytes(), &bytes[..]] {
            let whole: Vec<_> = Reader::new(input, dialect).collect();
            let small = std::io::BufReader::with_capacity(capacity, input);
            let pieces: Vec<_> = Reader::new(small, dialect).collect();
            prop_assert_eq!(&pieces, &whole);
            // Only checking reads the same records and errors, without their values.
            let checked: Vec<_> = Reader::checking(input, dialect).collect();
            prop_assert_eq!(checked, without_values(whole));
        }
    }

    /// Any bytes are read as records or refused with an error; never a panic, and reading
    /// stops at the first error.
    #[test]
    fn any_bytes_read_or_fail(bytes in prop::collection::vec(any::<u8>(), 0..300), dialect in dialects()) {
        let mut r = Reader::new(&bytes[..], dialect);
        let mut errors = 0;
        while let Some(rec) = r.next_record() {
            if rec.is_err() {
                errors += 1;
            }
        }
        prop_assert!(errors <= 1);
    }
}

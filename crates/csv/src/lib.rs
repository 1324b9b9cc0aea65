//! CSV as Salesforce's Bulk APIs read and write it (`data-apis.md` §1.5, §1.6): one of
//! six column delimiters, `LF` or `CRLF` line endings, RFC 4180 quoting with `""` for a
//! quote inside a quoted value, UTF-8. Pure: no I/O beyond the `BufRead` and `Write` it is
//! handed, and streamed, so a file of any size is read a record at a time.
//!
//! Salesforce's rules that go beyond RFC 4180, and that [`Reader`] enforces:
//! - values are not trimmed; a quote may only open a value or close it (a space between a
//!   closing quote and the delimiter is an error, as is a quote in an unquoted value);
//! - the file's line endings must be the job's: with `LF`, a `\r` before a line break is
//!   an error (`LineEnding is invalid on user data`); with `CRLF`, a bare `\n` is;
//! - a record is at most [`MAX_RECORD`] bytes and [`MAX_VALUES`] values, a field at most
//!   [`MAX_FIELD`] characters.
//!
//! Layout: this file (the dialect, reading); [`write`] (writing).

pub mod write;

use std::fmt;
use std::io::BufRead;

pub use write::Writer;

/// Longest field, in characters (Salesforce's 32,000 per field).
pub const MAX_FIELD: usize = 32_000;
/// Longest record, in bytes (Salesforce's 400,000 characters per record, as bytes).
pub const MAX_RECORD: usize = 400_000;
/// Most values in a record (Salesforce's 5,000 fields per record): a record of commas
/// alone would otherwise make one empty value per byte.
pub const MAX_VALUES: usize = 5_000;

/// The column delimiter of a job (`columnDelimiter`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Delimiter {
    /// `` ` ``
    Backquote,
    /// `^`
    Caret,
    /// `,` (the default)
    #[default]
    Comma,
    /// `|`
    Pipe,
    /// `;`
    Semicolon,
    /// a tab
    Tab,
}

impl Delimiter {
    /// The name a job gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Backquote => "BACKQUOTE",
            Self::Caret => "CARET",
            Self::Comma => "COMMA",
            Self::Pipe => "PIPE",
            Self::Semicolon => "SEMICOLON",
            Self::Tab => "TAB",
        }
    }

    /// The delimiter a job names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Backquote,
            Self::Caret,
            Self::Comma,
            Self::Pipe,
            Self::Semicolon,
            Self::Tab,
        ]
        .into_iter()
        .find(|d| d.name().eq_ignore_ascii_case(name))
    }

    /// The byte it is.
    pub fn byte(self) -> u8 {
        match self {
            Self::Backquote => b'`',
            Self::Caret => b'^',
            Self::Comma => b',',
            Self::Pipe => b'|',
            Self::Semicolon => b';',
            Self::Tab => b'\t',
        }
    }
}

/// The line ending of a job (`lineEnding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n` (the default).
    #[default]
    Lf,
    /// `\r\n`.
    Crlf,
}

impl LineEnding {
    /// The name a job gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lf => "LF",
            Self::Crlf => "CRLF",
        }
    }

    /// The line ending a job names, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "LF" => Some(Self::Lf),
            "CRLF" => Some(Self::Crlf),
            _ => None,
        }
    }

    /// Its bytes.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Self::Lf => b"\n",
            Self::Crlf => b"\r\n",
        }
    }
}

/// A file's dialect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dialect {
    /// Between values.
    pub delimiter: Delimiter,
    /// Between records.
    pub line_ending: LineEnding,
}

/// Why a file cannot be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    /// What is wrong, in Salesforce's words where it has them.
    pub message: String,
    /// The 1-based line the record starts on.
    pub line: u64,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (line {})", self.message, self.line)
    }
}

impl std::error::Error for CsvError {}

/// Reads records one at a time.
#[derive(Debug)]
pub struct Reader<R> {
    input: R,
    dialect: Dialect,
    /// The line the next record starts on.
    line: u64,
    /// Bytes read so far.
    offset: u64,
    done: bool,
    /// Whether records carry their values ([`Reader::checking`]: only checked).
    keep: bool,
}

/// One record: its values, the line it starts on, and where its bytes start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The values, unquoted (none from a [`Reader::checking`]).
    pub values: Vec<String>,
    /// The 1-based line it starts on.
    pub line: u64,
    /// Byte offset of its first byte in the input.
    pub offset: u64,
}

/// The values of the record being read: kept, and how many have ended.
#[derive(Default)]
struct Values {
    kept: Vec<String>,
    count: usize,
}

enum State {
    /// At the start of a value.
    Start,
    /// In an unquoted value.
    Plain,
    /// In a quoted value.
    Quoted,
    /// Just after a quote inside a quoted value: the end of it, or the first of `""`.
    QuoteInQuoted,
}

impl<R: BufRead> Reader<R> {
    /// A reader of `input` in `dialect`.
    pub fn new(input: R, dialect: Dialect) -> Self {
        Self {
            input,
            dialect,
            line: 1,
            offset: 0,
            done: false,
            keep: true,
        }
    }

    /// A reader that only checks `input`: every record is read and checked as by
    /// [`Reader::new`] (the same records, lines, offsets and errors), but carries no
    /// values, so none is allocated.
    pub fn checking(input: R, dialect: Dialect) -> Self {
        Self {
            keep: false,
            ..Self::new(input, dialect)
        }
    }

    fn error(&self, line: u64, message: impl Into<String>) -> CsvError {
        CsvError {
            message: message.into(),
            line,
        }
    }

    fn line_ending_error(&self, line: u64) -> CsvError {
        self.error(
            line,
            format!(
                "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {}",
                self.dialect.line_ending.name()
            ),
        )
    }

    /// Bytes read so far: after a record, where the next one starts.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// The next record, `None` at the end of the input. A blank last line is no record.
    pub fn next_record(&mut self) -> Option<Result<Record, CsvError>> {
        if self.done {
            return None;
        }
        let result = self.read_record();
        match result {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// The input's buffered bytes, read in if none are (empty at its end).
    fn filled(&mut self) -> Result<&[u8], CsvError> {
        let line = self.line;
        self.input.fill_buf().map_err(|e| CsvError {
            message: format!("the file could not be read: {e}"),
            line,
        })
    }

    fn byte(&mut self) -> Result<Option<u8>, CsvError> {
        let Some(&b) = self.filled()?.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        self.offset += 1;
        Ok(Some(b))
    }

    fn peek(&mut self) -> Result<Option<u8>, CsvError> {
        Ok(self.filled()?.first().copied())
    }

    /// Consumes a line ending that starts with `first` (`\r` or `\n`); checks it is the
    /// dialect's.
    fn line_end(&mut self, first: u8, start: u64) -> Result<(), CsvError> {
        match (first, self.dialect.line_ending) {
            (b'\n', LineEnding::Lf) => Ok(()),
            (b'\r', LineEnding::Crlf) if self.peek()? == Some(b'\n') => {
                self.byte()?;
                Ok(())
            }
            _ => Err(self.line_ending_error(start)),
        }
    }

    fn too_long(&self, line: u64) -> CsvError {
        self.error(
            line,
            format!("ClientInputError : A record is longer than {MAX_RECORD} bytes"),
        )
    }

    /// Moves the run of bytes at the front of the input that change no state onto
    /// `value`, `room` bytes at most: in a quoted value every byte but `"` (its line
    /// breaks counted), otherwise every byte but the delimiter, `"` and line breaks. Its
    /// length, 0 when the next byte is one of those (or the input has ended); the
    /// state machine's one-byte steps are left for those alone.
    fn take_run(
        &mut self,
        (delimiter, quoted): (u8, bool),
        room: usize,
        value: &mut Vec<u8>,
    ) -> Result<usize, CsvError> {
        let stops =
            |b: &u8| *b == b'"' || (!quoted && (*b == delimiter || *b == b'\n' || *b == b'\r'));
        let buf = self.filled()?;
        let buf = &buf[..buf.len().min(room)];
        let run = buf.iter().position(stops).unwrap_or(buf.len());
        let taken = &buf[..run];
        let breaks = if quoted {
            taken.iter().filter(|b| **b == b'\n').count() as u64
        } else {
            0
        };
        value.extend_from_slice(taken);
        self.input.consume(run);
        self.offset += run as u64;
        self.line += breaks;
        Ok(run)
    }

    /// Ends a value: checked (UTF-8, at most [`MAX_FIELD`] characters), then kept as text
    /// in `values` or, when only checking, counted and its buffer reused.
    fn end_value(
        &self,
        values: &mut Values,
        value: &mut Vec<u8>,
        start: u64,
    ) -> Result<(), CsvError> {
        let not_utf8 = || self.error(start, "ClientInputError : The file is not valid UTF-8");
        if self.keep {
            let text = String::from_utf8(std::mem::take(value)).map_err(|_| not_utf8())?;
            self.check_length(&text, start)?;
            values.kept.push(text);
        } else {
            self.check_length(std::str::from_utf8(value).map_err(|_| not_utf8())?, start)?;
            value.clear();
        }
        values.count += 1;
        if values.count > MAX_VALUES {
            return Err(self.error(
                start,
                format!("ClientInputError : A record has more than {MAX_VALUES} fields"),
            ));
        }
        Ok(())
    }

    fn check_length(&self, text: &str, start: u64) -> Result<(), CsvError> {
        // Counting characters only when there are more bytes than the limit allows chars.
        if text.len() > MAX_FIELD && text.chars().count() > MAX_FIELD {
            return Err(self.error(
                start,
                format!("ClientInputError : A value is longer than {MAX_FIELD} characters"),
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_lines)] // one state machine; splitting it hides the states
    fn read_record(&mut self) -> Result<Option<Record>, CsvError> {
        let start_line = self.line;
        let start_offset = self.offset;
        let delimiter = self.dialect.delimiter.byte();
        let mut values = Values::default();
        let mut value: Vec<u8> = Vec::new();
        let mut state = State::Start;
        let mut size = 0usize;
        loop {
            if let State::Start | State::Plain | State::Quoted = state {
                let quoted = matches!(state, State::Quoted);
                // No more than would take the record past its limit: however much input
                // is buffered, a value holds at most MAX_RECORD + 1 bytes.
                let room = MAX_RECORD + 1 - size;
                let run = self.take_run((delimiter, quoted), room, &mut value)?;
                if run > 0 {
                    size += run;
                    if size > MAX_RECORD {
                        return Err(self.too_long(start_line));
                    }
                    if !quoted {
                        state = State::Plain;
                    }
                }
            }
            let Some(b) = self.byte()? else {
                // End of input.
                return match state {
                    State::Quoted => Err(self.error(
                        start_line,
                        "ClientInputError : A quoted value is not closed before the end of the file",
                    )),
                    State::Start if values.count == 0 => Ok(None),
                    _ => {
                        self.end_value(&mut values, &mut value, start_line)?;
                        Ok(Some(Record {
                            values: values.kept,
                            line: start_line,
                            offset: start_offset,
                        }))
                    }
                };
            };
            size += 1;
            if size > MAX_RECORD {
                return Err(self.too_long(start_line));
            }
            match state {
                State::Start | State::Plain if b == delimiter => {
                    self.end_value(&mut values, &mut value, start_line)?;
                    state = State::Start;
                }
                State::Start | State::Plain if b == b'\n' || b == b'\r' => {
                    self.line_end(b, start_line)?;
                    self.line += 1;
                    if matches!(state, State::Start) && values.count == 0 {
                        // A blank line: no record (only the last line may be blank).
                        if self.peek()?.is_none() {
                            return Ok(None);
                        }
                        return Err(self.error(start_line, "ClientInputError : A line is empty"));
                    }
                    self.end_value(&mut values, &mut value, start_line)?;
                    return Ok(Some(Record {
                        values: values.kept,
                        line: start_line,
                        offset: start_offset,
                    }));
                }
                State::Start if b == b'"' => state = State::Quoted,
                State::Start | State::Plain if b == b'"' => {
                    return Err(self.error(
                        start_line,
                        "ClientInputError : A quote appears inside an unquoted value; quote the value and double the quote",
                    ));
                }
                State::Start | State::Plain => {
                    value.push(b);
                    state = State::Plain;
                }
                State::Quoted if b == b'"' => state = State::QuoteInQuoted,
                State::Quoted => {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    value.push(b);
                }
                State::QuoteInQuoted if b == b'"' => {
                    value.push(b'"');
                    state = State::Quoted;
                }
                State::QuoteInQuoted if b == delimiter => {
                    self.end_value(&mut values, &mut value, start_line)?;
                    state = State::Start;
                }
                State::QuoteInQuoted if b == b'\n' || b == b'\r' => {
                    self.line_end(b, start_line)?;
                    self.line += 1;
                    self.end_value(&mut values, &mut value, start_line)?;
                    return Ok(Some(Record {
                        values: values.kept,
                        line: start_line,
                        offset: start_offset,
                    }));
                }
                State::QuoteInQuoted => {
                    return Err(self.error(
                        start_line,
                        "ClientInputError : Only a delimiter or a line ending may follow a closing quote",
                    ));
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Record, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

#[cfg(test)]
mod tests;

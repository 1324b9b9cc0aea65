//! Writing CSV as the Bulk APIs answer it: every value quoted (a quote doubled), the job's
//! delimiter and line ending.

use std::io::{self, Write};

use crate::Dialect;

/// Writes records.
#[derive(Debug)]
pub struct Writer<W> {
    out: W,
    dialect: Dialect,
}

impl<W: Write> Writer<W> {
    /// A writer into `out` in `dialect`.
    pub fn new(out: W, dialect: Dialect) -> Self {
        Self { out, dialect }
    }

    /// Writes one record, every value quoted.
    pub fn record<S: AsRef<str>>(&mut self, values: &[S]) -> io::Result<()> {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.out.write_all(&[self.dialect.delimiter.byte()])?;
            }
            self.out.write_all(b"\"")?;
            let v = v.as_ref();
            if v.contains('"') {
                self.out.write_all(v.replace('"', "\"\"").as_bytes())?;
            } else {
                self.out.write_all(v.as_bytes())?;
            }
            self.out.write_all(b"\"")?;
        }
        self.out.write_all(self.dialect.line_ending.bytes())
    }

    /// Writes a record made of `quoted` values (each quoted) then the `raw` bytes of a line
    /// as they were read: result files put their own columns before the uploaded ones.
    pub fn prefixed<S: AsRef<str>>(&mut self, quoted: &[S], raw: &[u8]) -> io::Result<()> {
        for v in quoted {
            self.out.write_all(b"\"")?;
            self.out
                .write_all(v.as_ref().replace('"', "\"\"").as_bytes())?;
            self.out.write_all(b"\"")?;
            self.out.write_all(&[self.dialect.delimiter.byte()])?;
        }
        self.out.write_all(raw)?;
        self.out.write_all(self.dialect.line_ending.bytes())
    }

    /// Flushes and hands back the output.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

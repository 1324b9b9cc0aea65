//! The SOQL lexer: identifiers (keywords are identifiers matched case-insensitively),
//! quoted strings with Salesforce's escapes, numbers, unquoted date and datetime literals,
//! and punctuation. Every token carries its byte span.

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::error::SoqlError;

/// A `\%` or `\_` inside a string: a literal wildcard character in `LIKE`. Kept apart from
/// `%` and `_` (private-use code points) until a comparison decides what they mean.
pub const ESCAPED_PERCENT: char = '\u{E000}';
/// See [`ESCAPED_PERCENT`].
pub const ESCAPED_UNDERSCORE: char = '\u{E001}';

/// Longest string literal accepted (Salesforce's limit in `WHERE`).
pub const MAX_STRING: usize = 4000;

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name or keyword.
    Ident(String),
    /// A decoded string literal.
    Str(String),
    /// A number, as written (sign included).
    Num(String),
    /// `2024-05-01`.
    Date(NaiveDate),
    /// `2024-05-01T12:00:00Z`.
    DateTime(DateTime<FixedOffset>),
    /// `,`
    Comma,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `.`
    Dot,
    /// `:`
    Colon,
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// End of input.
    Eof,
}

/// A token and where it starts and ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset after its last character.
    pub end: usize,
}

impl Tok {
    /// How an error message names this token.
    pub fn describe(&self, src: &str, start: usize, end: usize) -> String {
        match self {
            Tok::Eof => "<EOF>".to_owned(),
            _ => format!("'{}'", &src[start..end]),
        }
    }
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub fn lex(src: &str) -> Result<Vec<Token>, SoqlError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let single = match c {
            b',' => Some(Tok::Comma),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'.' if !b.get(i + 1).is_some_and(u8::is_ascii_digit) => Some(Tok::Dot),
            b':' => Some(Tok::Colon),
            b'=' => Some(Tok::Eq),
            _ => None,
        };
        if let Some(tok) = single {
            i += 1;
            out.push(Token { tok, start, end: i });
            continue;
        }
        let (tok, end) = match c {
            b'!' if b.get(i + 1) == Some(&b'=') => (Tok::Ne, i + 2),
            b'<' if b.get(i + 1) == Some(&b'>') => (Tok::Ne, i + 2),
            b'<' if b.get(i + 1) == Some(&b'=') => (Tok::Le, i + 2),
            b'<' => (Tok::Lt, i + 1),
            b'>' if b.get(i + 1) == Some(&b'=') => (Tok::Ge, i + 2),
            b'>' => (Tok::Gt, i + 1),
            b'\'' => string(src, i)?,
            b'0'..=b'9' => date_or_number(src, i)?,
            b'-' | b'+' | b'.'
                if b.get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == b'.') =>
            {
                number(src, i)?
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                (Tok::Ident(src[i..j].to_owned()), j)
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(SoqlError::malformed(format!("unexpected token: '{ch}'"), i));
            }
        };
        out.push(Token { tok, start, end });
        i = end;
    }
    out.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    Ok(out)
}

fn string(src: &str, start: usize) -> Result<(Tok, usize), SoqlError> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        let at = start + 1 + k;
        match c {
            '\'' => {
                if out.chars().count() > MAX_STRING {
                    return Err(SoqlError::malformed(
                        format!("string literal longer than {MAX_STRING} characters"),
                        start,
                    ));
                }
                return Ok((Tok::Str(out), at + 1));
            }
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                out.push(match e {
                    'n' | 'N' => '\n',
                    'r' | 'R' => '\r',
                    't' | 'T' => '\t',
                    'b' | 'B' => '\u{8}',
                    'f' | 'F' => '\u{c}',
                    '"' => '"',
                    '\'' => '\'',
                    '\\' => '\\',
                    '%' => ESCAPED_PERCENT,
                    '_' => ESCAPED_UNDERSCORE,
                    'u' => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        u32::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == 4)
                            .and_then(char::from_u32)
                            .ok_or_else(|| {
                                SoqlError::malformed("Invalid unicode escape sequence", at)
                            })?
                    }
                    _ => {
                        return Err(SoqlError::malformed(
                            "Invalid string literal. Illegal character sequence",
                            at,
                        ));
                    }
                });
            }
            c => out.push(c),
        }
    }
    Err(SoqlError::malformed("unterminated string literal", start))
}

fn digits(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

fn number(src: &str, start: usize) -> Result<(Tok, usize), SoqlError> {
    let b = src.as_bytes();
    let mut i = start;
    if b[i] == b'-' || b[i] == b'+' {
        i += 1;
    }
    i = digits(b, i);
    if i < b.len() && b[i] == b'.' {
        i = digits(b, i + 1);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        let k = digits(b, j);
        if k > j {
            i = k;
        }
    }
    let text = &src[start..i];
    if text.parse::<f64>().is_err() {
        return Err(SoqlError::malformed(
            format!("unexpected token: '{text}'"),
            start,
        ));
    }
    Ok((Tok::Num(text.to_owned()), i))
}

/// `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm|±hhmm)`, or a number.
fn date_or_number(src: &str, start: usize) -> Result<(Tok, usize), SoqlError> {
    let b = src.as_bytes();
    let is_date = b.len() >= start + 10
        && b[start..start + 4].iter().all(u8::is_ascii_digit)
        && b[start + 4] == b'-'
        && b[start + 5..start + 7].iter().all(u8::is_ascii_digit)
        && b[start + 7] == b'-'
        && b[start + 8..start + 10].iter().all(u8::is_ascii_digit);
    if !is_date {
        return number(src, start);
    }
    let date_end = start + 10;
    if b.get(date_end) != Some(&b'T') {
        let d = NaiveDate::parse_from_str(&src[start..date_end], "%Y-%m-%d").map_err(|_| {
            SoqlError::malformed(
                format!(
                    "line 1:{start} no viable alternative at character '{}'",
                    &src[start..date_end]
                ),
                start,
            )
        })?;
        return Ok((Tok::Date(d), date_end));
    }
    let mut i = date_end + 1;
    while i < b.len()
        && (b[i].is_ascii_digit() || matches!(b[i], b':' | b'.' | b'+' | b'-' | b'Z' | b'z'))
    {
        i += 1;
    }
    let text = &src[start..i];
    let normal = text.replace('z', "Z");
    let parsed = DateTime::parse_from_rfc3339(&normal)
        .or_else(|_| DateTime::parse_from_str(&normal, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .map_err(|_| SoqlError::malformed(format!("invalid datetime literal: '{text}'"), start))?;
    Ok((Tok::DateTime(parsed), i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_every_token_kind() {
        assert_eq!(
            toks(
                "SELECT a, b.c FROM X WHERE n >= -1.5 AND d = 2024-05-01 AND t < 2024-05-01T10:00:00.000+02:00 AND s != 'it\\'s' AND x <> LAST_N_DAYS:3"
            ),
            vec![
                Tok::Ident("SELECT".into()),
                Tok::Ident("a".into()),
                Tok::Comma,
                Tok::Ident("b".into()),
                Tok::Dot,
                Tok::Ident("c".into()),
                Tok::Ident("FROM".into()),
                Tok::Ident("X".into()),
                Tok::Ident("WHERE".into()),
                Tok::Ident("n".into()),
                Tok::Ge,
                Tok::Num("-1.5".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("d".into()),
                Tok::Eq,
                Tok::Date(NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()),
                Tok::Ident("AND".into()),
                Tok::Ident("t".into()),
                Tok::Lt,
                Tok::DateTime(DateTime::parse_from_rfc3339("2024-05-01T10:00:00+02:00").unwrap()),
                Tok::Ident("AND".into()),
                Tok::Ident("s".into()),
                Tok::Ne,
                Tok::Str("it's".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("x".into()),
                Tok::Ne,
                Tok::Ident("LAST_N_DAYS".into()),
                Tok::Colon,
                Tok::Num("3".into()),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(toks(r"'a\nb\u00e9\\'")[0], Tok::Str("a\nb\u{e9}\\".into()));
        assert_eq!(toks(r"'50\%'")[0], Tok::Str(format!("50{ESCAPED_PERCENT}")));
        assert!(lex(r"'bad \q'").is_err());
        assert!(lex("'open").is_err());
        assert!(lex("a # b").is_err());
    }
}

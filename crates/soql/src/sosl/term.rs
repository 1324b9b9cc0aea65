//! The search expression inside `FIND {...}` and how a record's text matches it
//! (`data-apis.md` §5.3).
//!
//! Terms are words and `"quoted phrases"`, joined by `AND`, `OR` and `AND NOT` (evaluated
//! left to right) or by nothing (every term must match); parentheses group. `*` stands
//! for any run of characters and `?` for one, inside or at the end of a word. A backslash
//! takes the next character literally. Matching is case-insensitive, against the words of
//! a field's text: runs of letters and digits, a run of letters and a run of digits being
//! two words (`Acme2024` has the words `acme` and `2024`, and `acme2024` as a whole).

use crate::error::{ErrorKind, SoqlError};

/// Longest search expression, in characters (Salesforce returns nothing past it).
pub const MAX_SEARCH: usize = 10_000;
/// Most parentheses nested in one expression.
pub const MAX_DEPTH: usize = 32;

/// A parsed search expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// One word pattern, lower-case, with `*` and `?` wildcards.
    Word(String),
    /// Words that must follow each other.
    Phrase(Vec<String>),
    /// Both.
    And(Box<Term>, Box<Term>),
    /// Either.
    Or(Box<Term>, Box<Term>),
    /// The first and not the second.
    AndNot(Box<Term>, Box<Term>),
}

fn invalid(message: impl Into<String>) -> SoqlError {
    SoqlError::new(ErrorKind::InvalidSearch, message, None)
}

fn malformed(message: impl Into<String>) -> SoqlError {
    SoqlError::new(ErrorKind::MalformedSearch, message, None)
}

#[derive(Debug, Clone, PartialEq)]
enum Lexeme {
    Word(String),
    Phrase(String),
    And,
    Or,
    Not,
    Open,
    Close,
}

/// Splits the expression into words, phrases, operators and parentheses.
fn lex(text: &str) -> Result<Vec<Lexeme>, SoqlError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Lexeme::Open);
            }
            ')' => {
                chars.next();
                out.push(Lexeme::Close);
            }
            '"' => {
                chars.next();
                let mut phrase = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(malformed("Unterminated quoted phrase in the search term"));
                        }
                        Some('"') => break,
                        Some('\\') => phrase.extend(chars.next()),
                        Some(c) => phrase.push(c),
                    }
                }
                out.push(Lexeme::Phrase(phrase));
            }
            _ => {
                let mut word = String::new();
                let mut escaped = false;
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"') {
                        break;
                    }
                    chars.next();
                    if c == '\\' {
                        if let Some(n) = chars.next() {
                            word.push(n);
                            escaped = true;
                        }
                        continue;
                    }
                    word.push(c);
                }
                let op = (!escaped).then(|| word.to_ascii_uppercase());
                out.push(match op.as_deref() {
                    Some("AND") => Lexeme::And,
                    Some("OR") => Lexeme::Or,
                    Some("NOT") => Lexeme::Not,
                    _ => Lexeme::Word(word),
                });
            }
        }
    }
    Ok(out)
}

/// The words of `text` (letter and digit runs, lower-case), each with the parts it
/// splits into at letter/digit boundaries.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for run in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let run = run.to_lowercase();
        let mut part = String::new();
        let mut digits: Option<bool> = None;
        for c in run.chars() {
            let d = c.is_numeric();
            if digits.is_some_and(|was| was != d) {
                out.push(std::mem::take(&mut part));
            }
            digits = Some(d);
            part.push(c);
        }
        if part.len() < run.len() {
            out.push(part);
            out.push(run);
        } else {
            out.push(run);
        }
    }
    out
}

/// Whether `word` matches `pattern` (`*`: any run, `?`: one character).
fn glob(pattern: &[char], word: &[char]) -> bool {
    let (mut p, mut w) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while w < word.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == word[w]) {
            p += 1;
            w += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = w;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            w = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Lower-cases a word pattern and checks where its wildcards are.
fn pattern(word: &str) -> Result<String, SoqlError> {
    if word.starts_with(['*', '?']) {
        return Err(invalid(format!(
            "Wildcards cannot start a search term: {word}"
        )));
    }
    Ok(word.to_lowercase())
}

struct Parser {
    lexemes: Vec<Lexeme>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Lexeme> {
        self.lexemes.get(self.i)
    }

    /// expr := unit ((AND [NOT] | OR | nothing) unit)*
    fn expr(&mut self) -> Result<Term, SoqlError> {
        let mut left = self.unit()?;
        loop {
            match self.peek() {
                None | Some(Lexeme::Close) => return Ok(left),
                Some(Lexeme::Or) => {
                    self.i += 1;
                    left = Term::Or(Box::new(left), Box::new(self.unit()?));
                }
                Some(Lexeme::And) => {
                    self.i += 1;
                    if self.peek() == Some(&Lexeme::Not) {
                        self.i += 1;
                        left = Term::AndNot(Box::new(left), Box::new(self.unit()?));
                    } else {
                        left = Term::And(Box::new(left), Box::new(self.unit()?));
                    }
                }
                Some(Lexeme::Not) => {
                    self.i += 1;
                    left = Term::AndNot(Box::new(left), Box::new(self.unit()?));
                }
                Some(_) => left = Term::And(Box::new(left), Box::new(self.unit()?)),
            }
        }
    }

    fn unit(&mut self) -> Result<Term, SoqlError> {
        let next = self.lexemes.get(self.i).cloned();
        self.i += 1;
        match next {
            Some(Lexeme::Word(w)) => {
                // A word the search splits in several is a phrase of its parts.
                if !w.contains(['*', '?']) && words(&w).len() > 1 {
                    return Ok(Term::Phrase(
                        w.split(|c: char| !c.is_alphanumeric())
                            .filter(|p| !p.is_empty())
                            .map(str::to_lowercase)
                            .collect(),
                    ));
                }
                Ok(Term::Word(pattern(&w)?))
            }
            Some(Lexeme::Phrase(p)) => {
                let parts: Vec<String> = p
                    .split(|c: char| !c.is_alphanumeric() && c != '*' && c != '?')
                    .filter(|w| !w.is_empty())
                    .map(pattern)
                    .collect::<Result<_, _>>()?;
                if parts.is_empty() {
                    return Err(invalid("search term must be longer than one character"));
                }
                Ok(Term::Phrase(parts))
            }
            Some(Lexeme::Open) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(malformed("The search term is nested too deeply"));
                }
                let inner = self.expr()?;
                if self.lexemes.get(self.i) != Some(&Lexeme::Close) {
                    return Err(malformed("Missing ')' in the search term"));
                }
                self.i += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Some(Lexeme::Close) => Err(malformed("Unexpected ')' in the search term")),
            Some(Lexeme::And | Lexeme::Or | Lexeme::Not) => Err(malformed(
                "A search term cannot start or end with an operator; quote \"and\" and \"or\" to search for them",
            )),
            None => Err(malformed(
                "A search term cannot end with an operator; quote \"and\" and \"or\" to search for them",
            )),
        }
    }
}

/// Parses the text between the braces of `FIND {...}`.
pub fn parse_term(text: &str) -> Result<Term, SoqlError> {
    if text.chars().count() > MAX_SEARCH {
        return Err(invalid(format!(
            "The search term is longer than {MAX_SEARCH} characters"
        )));
    }
    let significant = text.chars().filter(|c| c.is_alphanumeric()).count();
    if significant < 2 {
        return Err(invalid("search term must be longer than one character"));
    }
    let lexemes = lex(text)?;
    let mut p = Parser {
        lexemes,
        i: 0,
        depth: 0,
    };
    let term = p.expr()?;
    if p.i < p.lexemes.len() {
        return Err(malformed("Unexpected ')' in the search term"));
    }
    Ok(term)
}

impl Term {
    /// How many of its words and phrases `text_words` (from [`words`]) contains, or `None`
    /// when the expression does not match.
    pub fn score(&self, text_words: &[Vec<char>]) -> Option<usize> {
        match self {
            Term::Word(p) => {
                let p: Vec<char> = p.chars().collect();
                let n = text_words.iter().filter(|w| glob(&p, w)).count();
                (n > 0).then_some(n)
            }
            Term::Phrase(parts) => {
                let parts: Vec<Vec<char>> = parts.iter().map(|p| p.chars().collect()).collect();
                let n = text_words
                    .windows(parts.len())
                    .filter(|win| win.iter().zip(&parts).all(|(w, p)| glob(p, w)))
                    .count();
                (n > 0).then_some(n)
            }
            Term::And(a, b) => Some(a.score(text_words)? + b.score(text_words)?),
            Term::Or(a, b) => match (a.score(text_words), b.score(text_words)) {
                (None, None) => None,
                (x, y) => Some(x.unwrap_or(0) + y.unwrap_or(0)),
            },
            Term::AndNot(a, b) => match b.score(text_words) {
                Some(_) => None,
                None => a.score(text_words),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn matches(term: &str, text: &str) -> bool {
        let t = parse_term(term).unwrap();
        let w: Vec<Vec<char>> = words(text).iter().map(|w| w.chars().collect()).collect();
        t.score(&w).is_some()
    }

    #[test]
    fn words_phrases_and_operators() {
        assert!(matches("acme", "ACME Corporation"));
        assert!(matches("Acme Corp*", "Acme Corporation"));
        assert!(!matches("Acme Globex", "Acme Corporation"));
        assert!(matches("Acme OR Globex", "Globex"));
        assert!(matches("Acme AND NOT Globex", "Acme Inc"));
        assert!(!matches("Acme AND NOT Globex", "Acme Globex"));
        assert!(matches("\"united oil\"", "United Oil & Gas"));
        assert!(!matches("\"oil united\"", "United Oil & Gas"));
        assert!(matches("Un?ted", "United"));
        assert!(matches("(acme OR globex) AND corp", "Globex Corp"));
        assert!(
            matches("2024", "Acme2024"),
            "letter/digit boundaries split words"
        );
        assert!(matches("acme2024", "Acme2024"));
        assert!(matches("jon@example.com", "jon@example.com"));
        assert!(matches("555-0100", "(555) 555-0100"));
        assert!(matches("\"and\"", "this and that"));
    }

    #[test]
    fn salesforce_rejects_these() {
        for (bad, code) in [
            ("a", "INVALID_SEARCH"),
            ("*abc", "INVALID_SEARCH"),
            ("acme AND", "MALFORMED_SEARCH"),
            ("OR acme", "MALFORMED_SEARCH"),
            ("(acme", "MALFORMED_SEARCH"),
            ("acme)", "MALFORMED_SEARCH"),
            ("\"acme", "MALFORMED_SEARCH"),
        ] {
            let e = parse_term(bad).expect_err(bad);
            assert_eq!(e.kind.code(), code, "{bad}: {e}");
        }
        let deep = format!("{}acme{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(
            parse_term(&deep).unwrap_err().kind.code(),
            "MALFORMED_SEARCH"
        );
    }

    proptest! {
        /// Any text parses or fails with a search error, and matching never panics.
        #[test]
        fn any_text_parses_or_fails_cleanly(term in ".{0,60}", text in ".{0,60}") {
            if let Ok(t) = parse_term(&term) {
                let w: Vec<Vec<char>> = words(&text).iter().map(|w| w.chars().collect()).collect();
                let _ = t.score(&w);
            }
        }

        #[test]
        fn a_star_matches_every_suffix(word in "[a-z]{2,8}", rest in "[a-z0-9]{0,8}") {
            let pat: Vec<char> = format!("{word}*").chars().collect();
            let w: Vec<char> = format!("{word}{rest}").chars().collect();
            prop_assert!(glob(&pat, &w));
        }
    }
}

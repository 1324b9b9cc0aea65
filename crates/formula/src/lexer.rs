//! Source text to tokens, each with its 1-based line and column.

use crate::CompileError;

/// A token's place in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: u32,
    pub(crate) column: u32,
}

impl Pos {
    /// A compile error at this place.
    pub(crate) fn error(self, message: impl Into<String>) -> CompileError {
        CompileError {
            message: message.into(),
            line: self.line,
            column: self.column,
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Number(String),
    Text(String),
    Ident(String),
    True,
    False,
    Null,
    Not,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Amp,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    End,
}

impl Tok {
    /// The token as Salesforce's syntax errors quote it.
    pub(crate) fn describe(&self) -> String {
        let text = match self {
            Tok::Number(text) | Tok::Ident(text) => return text.clone(),
            Tok::Text(text) => return format!("\"{text}\""),
            Tok::True => "TRUE",
            Tok::False => "FALSE",
            Tok::Null => "NULL",
            Tok::Not => "NOT",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Caret => "^",
            Tok::Amp => "&",
            Tok::Eq => "=",
            Tok::Ne => "<>",
            Tok::Lt => "<",
            Tok::Gt => ">",
            Tok::Le => "<=",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            Tok::End => "end of formula",
        };
        text.to_string()
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    line: u32,
    column: u32,
}

/// Splits `source` into tokens, ending with [`Tok::End`].
pub(crate) fn tokenize(source: &str) -> Result<Vec<Token>, CompileError> {
    let mut lexer = Lexer {
        chars: source.chars().collect(),
        at: 0,
        line: 1,
        column: 1,
    };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_blank()?;
        let pos = lexer.pos();
        let Some(c) = lexer.peek(0) else {
            tokens.push(Token { tok: Tok::End, pos });
            return Ok(tokens);
        };
        let tok = lexer.token(c, pos)?;
        tokens.push(Token { tok, pos });
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '$' || c == '\u{130}' || c == '\u{212A}'
}

fn is_ident_char(c: char) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || matches!(c, '_' | ':' | '.' | '#')
}

impl Lexer {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_blank(&mut self) -> Result<(), CompileError> {
        loop {
            match self.peek(0) {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek(1) == Some('*') => {
                    let pos = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(pos.error("Syntax error. Missing '*/'")),
                            Some('*') if self.peek(0) == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn token(&mut self, c: char, pos: Pos) -> Result<Tok, CompileError> {
        if c.is_ascii_digit() {
            return Ok(self.number());
        }
        if is_ident_start(c) {
            return Ok(self.ident());
        }
        if c == '"' || c == '\'' {
            return self.text(c, pos);
        }
        self.bump();
        let next = self.peek(0);
        let (tok, two) = match (c, next) {
            ('=', Some('=')) => (Tok::Eq, true),
            ('!', Some('=')) => (Tok::Ne, true),
            ('<', Some('>')) => (Tok::Ne, true),
            ('<', Some('=')) => (Tok::Le, true),
            ('>', Some('=')) => (Tok::Ge, true),
            ('&', Some('&')) => (Tok::AndAnd, true),
            ('|', Some('|')) => (Tok::OrOr, true),
            ('=', _) => (Tok::Eq, false),
            ('!', _) => (Tok::Bang, false),
            ('<', _) => (Tok::Lt, false),
            ('>', _) => (Tok::Gt, false),
            ('&', _) => (Tok::Amp, false),
            ('(', _) => (Tok::LParen, false),
            (')', _) => (Tok::RParen, false),
            (',', _) => (Tok::Comma, false),
            ('+', _) => (Tok::Plus, false),
            ('-', _) => (Tok::Minus, false),
            ('*', _) => (Tok::Star, false),
            ('/', _) => (Tok::Slash, false),
            ('^', _) => (Tok::Caret, false),
            _ => return Err(pos.error(format!("Syntax error. Found '{c}'"))),
        };
        if two {
            self.bump();
        }
        Ok(tok)
    }

    fn number(&mut self) -> Tok {
        let mut text = String::new();
        while let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
            text.push(c);
            self.bump();
        }
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            text.push('.');
            self.bump();
            while let Some(c) = self.peek(0).filter(char::is_ascii_digit) {
                text.push(c);
                self.bump();
            }
        }
        Tok::Number(text)
    }

    fn ident(&mut self) -> Tok {
        let mut text = String::new();
        while let Some(c) = self.peek(0).filter(|c| is_ident_char(*c)) {
            text.push(c);
            self.bump();
        }
        match text.to_ascii_uppercase().as_str() {
            "TRUE" => Tok::True,
            "FALSE" => Tok::False,
            "NULL" => Tok::Null,
            "NOT" => Tok::Not,
            _ => Tok::Ident(text),
        }
    }

    fn text(&mut self, quote: char, pos: Pos) -> Result<Tok, CompileError> {
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return Err(pos.error("Syntax error. Missing quote")),
                Some(c) if c == quote => return Ok(Tok::Text(text)),
                Some('\\') => {
                    let escaped = match self.bump() {
                        Some('n' | 'N') => '\n',
                        Some('r' | 'R') => '\r',
                        Some('t' | 'T') => '\t',
                        Some(c @ ('"' | '\'' | '\\')) => c,
                        _ => return Err(self.pos().error("Syntax error. Invalid escape sequence")),
                    };
                    text.push(escaped);
                }
                Some(c) => text.push(c),
            }
        }
    }
}

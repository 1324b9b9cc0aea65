//! Tokens to an expression tree, by recursive descent with Salesforce's precedence levels
//! (loosest first): `||`, `&&`, `= == != <>`, `< > <= >=`, `+ - &`, `^`, `* /`, unary
//! `+ - ! NOT`. The depth is bounded so that nested input is an error, not a stack overflow.

use crate::CompileError;
use crate::lexer::{Pos, Tok, Token};
use rust_decimal::Decimal;

/// The deepest nesting the parser accepts: parentheses, calls, unary operators, and each
/// operator of a chain (`a + b + c` nests to the left), so that compiling and evaluating the
/// tree stays within a small thread stack.
pub(crate) const MAX_DEPTH: usize = 250;

/// A binary or unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Add,
    Sub,
    Concat,
    Pow,
    Mul,
    Div,
    Neg,
    Plus,
    Not,
}

impl Op {
    /// The operator as Salesforce's messages name it.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Op::Or => "||",
            Op::And => "&&",
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Add | Op::Plus => "+",
            Op::Sub | Op::Neg => "-",
            Op::Concat => "&",
            Op::Pow => "^",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Not => "NOT",
        }
    }
}

/// An expression and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Expr {
    pub(crate) kind: ExprKind,
    pub(crate) pos: Pos,
}

/// What an expression is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ExprKind {
    Number(Decimal),
    Text(String),
    Bool(bool),
    Null,
    Ident(String),
    Call(String, Vec<Expr>),
    Unary(Op, Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

/// Parses a whole formula.
pub(crate) fn parse(tokens: Vec<Token>) -> Result<Expr, CompileError> {
    let mut parser = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    if parser.peek() == &Tok::End {
        return Err(parser.pos().error("Syntax error. Formula is empty"));
    }
    let expr = parser.binary(0)?;
    match parser.peek() {
        Tok::End => Ok(expr),
        Tok::RParen => Err(parser.pos().error("Syntax error. Extra ')'")),
        Tok::Comma => Err(parser.pos().error("Syntax error. Extra ','")),
        other => {
            let found = other.describe();
            Err(parser.pos().error(format!("Syntax error. Found '{found}'")))
        }
    }
}

/// The binary operators of precedence `level` (0 is the loosest).
fn level_ops(level: usize, tok: &Tok) -> Option<Op> {
    let op = match (level, tok) {
        (0, Tok::OrOr) => Op::Or,
        (1, Tok::AndAnd) => Op::And,
        (2, Tok::Eq) => Op::Eq,
        (2, Tok::Ne) => Op::Ne,
        (3, Tok::Lt) => Op::Lt,
        (3, Tok::Gt) => Op::Gt,
        (3, Tok::Le) => Op::Le,
        (3, Tok::Ge) => Op::Ge,
        (4, Tok::Plus) => Op::Add,
        (4, Tok::Minus) => Op::Sub,
        (4, Tok::Amp) => Op::Concat,
        (5, Tok::Caret) => Op::Pow,
        (6, Tok::Star) => Op::Mul,
        (6, Tok::Slash) => Op::Div,
        _ => return None,
    };
    Some(op)
}

const LEVELS: usize = 7;

/// The binary operator a token is, with its precedence level.
fn operator(tok: &Tok) -> Option<(usize, Op)> {
    (0..LEVELS).find_map(|level| level_ops(level, tok).map(|op| (level, op)))
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.at].tok
    }

    fn pos(&self) -> Pos {
        self.tokens[self.at].pos
    }

    fn advance(&mut self) -> Token {
        let token = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        token
    }

    fn enter(&mut self) -> Result<(), CompileError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self
                .pos()
                .error("Syntax error. Formula is nested too deeply"));
        }
        Ok(())
    }

    /// Precedence climbing: parses operators of precedence `min_level` and tighter, so that
    /// each nesting costs a few stack frames rather than one per precedence level.
    fn binary(&mut self, min_level: usize) -> Result<Expr, CompileError> {
        // A chain `a + b + c` nests to the left: each operator deepens the tree by one.
        let depth = self.depth;
        let mut left = self.unary()?;
        while let Some((level, op)) = operator(self.peek()).filter(|(level, _)| *level >= min_level)
        {
            self.enter()?;
            let pos = self.advance().pos;
            let right = self.binary(level + 1)?;
            left = Expr {
                kind: ExprKind::Binary(op, Box::new(left), Box::new(right)),
                pos,
            };
        }
        self.depth = depth;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        let op = match self.peek() {
            Tok::Minus => Op::Neg,
            Tok::Plus => Op::Plus,
            Tok::Bang | Tok::Not => Op::Not,
            _ => return self.primary(),
        };
        self.enter()?;
        let pos = self.advance().pos;
        let operand = self.unary()?;
        self.depth -= 1;
        Ok(Expr {
            kind: ExprKind::Unary(op, Box::new(operand)),
            pos,
        })
    }

    fn primary(&mut self) -> Result<Expr, CompileError> {
        let token = self.advance();
        let pos = token.pos;
        let kind = match token.tok {
            Tok::Number(text) => {
                let number = text
                    .parse::<Decimal>()
                    .map_err(|_| pos.error(format!("Syntax error. Number {text} is too large")))?;
                ExprKind::Number(number)
            }
            Tok::Text(text) => ExprKind::Text(text),
            Tok::True => ExprKind::Bool(true),
            Tok::False => ExprKind::Bool(false),
            Tok::Null => ExprKind::Null,
            Tok::Ident(name) if self.peek() == &Tok::LParen => {
                self.advance();
                ExprKind::Call(name, self.arguments()?)
            }
            Tok::Ident(name) => ExprKind::Ident(name),
            Tok::LParen => {
                self.enter()?;
                let inner = self.binary(0)?;
                self.depth -= 1;
                self.expect_close()?;
                return Ok(inner);
            }
            Tok::End => return Err(pos.error("Syntax error. Missing expression")),
            other => return Err(pos.error(format!("Syntax error. Found '{}'", other.describe()))),
        };
        Ok(Expr { kind, pos })
    }

    fn arguments(&mut self) -> Result<Vec<Expr>, CompileError> {
        let mut args = Vec::new();
        if self.peek() == &Tok::RParen {
            self.advance();
            return Ok(args);
        }
        self.enter()?;
        loop {
            if self.peek() == &Tok::Comma {
                return Err(self.pos().error("Syntax error. Extra ','"));
            }
            args.push(self.binary(0)?);
            if self.peek() == &Tok::Comma {
                self.advance();
                continue;
            }
            self.depth -= 1;
            self.expect_close()?;
            return Ok(args);
        }
    }

    fn expect_close(&mut self) -> Result<(), CompileError> {
        match self.peek() {
            Tok::RParen => {
                self.advance();
                Ok(())
            }
            Tok::End => Err(self.pos().error("Syntax error. Missing ')'")),
            other => {
                let found = other.describe();
                Err(self.pos().error(format!("Syntax error. Found '{found}'")))
            }
        }
    }
}

//! A Pratt parser for expr-lang syntax, following its operator table and grammar.

use crate::ast::{Binary, Kind, Node, Unary};
use crate::error::{Error, ErrorKind, Span};
use crate::functions;
use crate::lexer::{Tok, Token, tokenize};
use crate::value::Value;

/// Deepest nesting of sub-expressions the parser accepts (it recurses once per level).
pub(crate) const MAX_NESTING: usize = 100;

/// Parses an expression; spans are offset by `offset`.
pub(crate) fn parse(src: &str, offset: usize) -> Result<Node, Error> {
    let tokens = tokenize(src, offset)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        closures: 0,
    };
    if parser.peek() == &Tok::Eof {
        return Err(Error::new(
            ErrorKind::Syntax,
            "empty expression",
            Span::new(offset, offset + src.len()),
        )
        .with_help("write an expression between the delimiters, such as `${{ vars.name }}`"));
    }
    let node = parser.sequence()?;
    if parser.peek() != &Tok::Eof {
        let token = parser.current().clone();
        return Err(unexpected(
            &token,
            "the end of the expression or an operator",
        ));
    }
    Ok(node)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    /// How many predicate closures we are inside (for `#` and `.field`).
    closures: usize,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Int(n) => format!("number {n}"),
        Tok::Float(f) => format!("number {f}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Pointer(s) => format!("`#{s}`"),
        Tok::Op(s) => format!("`{s}`"),
        Tok::Eof => "end of the expression".to_owned(),
    }
}

fn unexpected(token: &Token, expected: &str) -> Error {
    Error::new(
        ErrorKind::Syntax,
        format!("unexpected {}: expected {expected}", describe(&token.tok)),
        token.span,
    )
}

fn is_word_operator(word: &str) -> bool {
    matches!(
        word,
        "not" | "in" | "and" | "or" | "matches" | "contains" | "startsWith" | "endsWith"
    )
}

impl Parser {
    fn current(&self) -> &Token {
        // the token list always ends with Eof, and `advance` never moves past it
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek(&self) -> &Tok {
        &self.current().tok
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        let index = (self.pos + ahead).min(self.tokens.len() - 1);
        &self.tokens[index].tok
    }

    fn advance(&mut self) -> Token {
        let token = self.current().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w == word)
    }

    fn expect_op(&mut self, op: &str, expected: &str) -> Result<Span, Error> {
        if self.is_op(op) {
            Ok(self.advance().span)
        } else {
            Err(unexpected(self.current(), expected))
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("expression nests too deeply (more than {MAX_NESTING} levels)"),
                self.current().span,
            )
            .with_help("split the expression, or use `let` to name intermediate values"));
        }
        Ok(())
    }

    /// `a; b; c` (a trailing `;` is allowed).
    fn sequence(&mut self) -> Result<Node, Error> {
        let first = self.expression(0)?;
        if !self.is_op(";") {
            return Ok(first);
        }
        let mut nodes = vec![first];
        while self.is_op(";") {
            self.advance();
            if matches!(self.peek(), Tok::Eof | Tok::Op(")" | "}")) {
                break;
            }
            nodes.push(self.expression(0)?);
        }
        let span = nodes[0].span.to(nodes[nodes.len() - 1].span);
        Ok(Node {
            span,
            kind: Kind::Sequence(nodes),
        })
    }

    fn expression(&mut self, precedence: u16) -> Result<Node, Error> {
        self.enter()?;
        let node = self.expression_inner(precedence);
        self.depth -= 1;
        node
    }

    fn expression_inner(&mut self, precedence: u16) -> Result<Node, Error> {
        if precedence == 0 && self.is_word("let") {
            return self.let_binding();
        }
        if precedence == 0 && self.is_word("if") {
            return self.if_else();
        }
        let mut left = self.primary()?;
        let mut previous: Option<Binary> = None;
        // each operator applied in this loop makes the tree one level deeper
        let base = self.depth;
        loop {
            let token = self.current().clone();
            let (text, negate) = match &token.tok {
                Tok::Op("|") if precedence == 0 => {
                    self.enter()?;
                    self.advance();
                    left = self.pipe(left)?;
                    previous = None;
                    continue;
                }
                Tok::Op(op) => ((*op).to_owned(), false),
                Tok::Ident(word) if word == "not" => match self.peek_at(1) {
                    Tok::Ident(next)
                        if matches!(
                            next.as_str(),
                            "in" | "matches" | "contains" | "startsWith" | "endsWith"
                        ) =>
                    {
                        (next.clone(), true)
                    }
                    _ => {
                        let after = self.tokens[(self.pos + 1).min(self.tokens.len() - 1)].clone();
                        return Err(unexpected(
                            &after,
                            "`in`, `matches`, `contains`, `startsWith` or `endsWith` after `not`",
                        ));
                    }
                },
                Tok::Ident(word) if is_word_operator(word) => (word.clone(), false),
                _ => break,
            };
            let Some((op, op_precedence, right_assoc)) = Binary::from_token(&text) else {
                break;
            };
            if op_precedence < precedence {
                break;
            }
            if previous == Some(Binary::Coalesce) && op != Binary::Coalesce {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    format!("operator `{text}` and the coalesce operator `??` cannot be mixed"),
                    token.span,
                )
                .with_help("wrap either side in parentheses"));
            }
            self.enter()?;
            if negate {
                self.advance();
            }
            self.advance();
            if matches!(op, Binary::Lt | Binary::Gt | Binary::Le | Binary::Ge) {
                left = self.comparison(left, op, op_precedence)?;
            } else {
                let right = self.expression(if right_assoc {
                    op_precedence
                } else {
                    op_precedence + 1
                })?;
                let span = left.span.to(right.span);
                left = if let (Binary::Matches, Kind::Literal(Value::String(pattern))) =
                    (op, &right.kind)
                {
                    let regex = regex::Regex::new(pattern).map_err(|e| {
                        Error::new(
                            ErrorKind::Syntax,
                            format!(
                                "invalid regular expression: {}",
                                crate::eval::one_line(&e.to_string())
                            ),
                            right.span,
                        )
                    })?;
                    Node {
                        span,
                        kind: Kind::Matches(Box::new(left), std::sync::Arc::new(regex)),
                    }
                } else {
                    Node {
                        span,
                        kind: Kind::Binary(op, Box::new(left), Box::new(right)),
                    }
                };
                if negate {
                    left = Node {
                        span,
                        kind: Kind::Unary(Unary::Not, Box::new(left)),
                    };
                }
            }
            previous = Some(op);
        }
        self.depth = base;
        if precedence == 0 {
            left = self.conditional(left)?;
        }
        Ok(left)
    }

    /// `a < b < c` means `a < b && b < c`.
    fn comparison(
        &mut self,
        mut left: Node,
        mut op: Binary,
        precedence: u16,
    ) -> Result<Node, Error> {
        let mut root: Option<Node> = None;
        loop {
            let right = self.expression(precedence + 1)?;
            let compare = Node {
                span: left.span.to(right.span),
                kind: Kind::Binary(op, Box::new(left), Box::new(right.clone())),
            };
            root = Some(match root {
                None => compare,
                Some(previous) => Node {
                    span: previous.span.to(compare.span),
                    kind: Kind::Binary(Binary::And, Box::new(previous), Box::new(compare)),
                },
            });
            left = right;
            self.enter()?;
            let next = match self.peek() {
                Tok::Op("<") => Binary::Lt,
                Tok::Op(">") => Binary::Gt,
                Tok::Op("<=") => Binary::Le,
                Tok::Op(">=") => Binary::Ge,
                _ => break,
            };
            self.advance();
            op = next;
        }
        // root is always set: the loop body runs at least once
        Ok(root.unwrap_or(left))
    }

    fn conditional(&mut self, mut node: Node) -> Result<Node, Error> {
        let base = self.depth;
        while self.is_op("?") {
            self.enter()?;
            self.advance();
            let (then, otherwise) = if self.is_op(":") {
                self.advance();
                // `a ?: b`: the condition is a bool, so the value when it holds is `true`
                (literal(node.span, Value::Bool(true)), self.expression(0)?)
            } else {
                let then = self.expression(0)?;
                self.expect_op(":", "`:` of the conditional `cond ? a : b`")?;
                (then, self.expression(0)?)
            };
            node = Node {
                span: node.span.to(otherwise.span),
                kind: Kind::Conditional(Box::new(node), Box::new(then), Box::new(otherwise)),
            };
        }
        self.depth = base;
        Ok(node)
    }

    fn let_binding(&mut self) -> Result<Node, Error> {
        let start = self.advance().span;
        let name_token = self.advance();
        let Tok::Ident(name) = name_token.tok.clone() else {
            return Err(unexpected(&name_token, "a variable name after `let`"));
        };
        self.expect_op("=", "`=` after the variable name of `let`")?;
        let value = self.expression(0)?;
        self.expect_op(";", "`;` after the value of `let`")?;
        let body = self.sequence()?;
        Ok(Node {
            span: start.to(body.span),
            kind: Kind::Let {
                name,
                value: Box::new(value),
                body: Box::new(body),
            },
        })
    }

    fn if_else(&mut self) -> Result<Node, Error> {
        let start = self.advance().span;
        let condition = self.expression(0)?;
        self.expect_op("{", "`{` after the condition of `if`")?;
        let then = self.sequence()?;
        self.expect_op("}", "`}` closing the `if` branch")?;
        if !self.is_word("else") {
            return Err(unexpected(
                self.current(),
                "`else`: an `if` expression needs both branches",
            ));
        }
        self.advance();
        let otherwise = if self.is_word("if") {
            self.if_else()?
        } else {
            self.expect_op("{", "`{` after `else`")?;
            let otherwise = self.sequence()?;
            self.expect_op("}", "`}` closing the `else` branch")?;
            otherwise
        };
        Ok(Node {
            span: start.to(otherwise.span),
            kind: Kind::Conditional(Box::new(condition), Box::new(then), Box::new(otherwise)),
        })
    }

    fn pipe(&mut self, left: Node) -> Result<Node, Error> {
        let token = self.advance();
        let Tok::Ident(name) = &token.tok else {
            return Err(unexpected(&token, "a function name after the pipe `|`"));
        };
        if !self.is_op("(") {
            return Err(unexpected(
                self.current(),
                "`(` with the call's other arguments after the pipe",
            ));
        }
        self.call(name.clone(), token.span, vec![left])
    }

    fn primary(&mut self) -> Result<Node, Error> {
        self.enter()?;
        let node = self.primary_inner();
        self.depth -= 1;
        node
    }

    fn primary_inner(&mut self) -> Result<Node, Error> {
        let token = self.current().clone();
        let unary = match &token.tok {
            Tok::Ident(w) if w == "not" => Some((Unary::Not, 50)),
            Tok::Op("!") => Some((Unary::Not, 50)),
            Tok::Op("-") => Some((Unary::Neg, 90)),
            Tok::Op("+") => Some((Unary::Plus, 90)),
            _ => None,
        };
        if let Some((op, precedence)) = unary {
            self.advance();
            let operand = self.expression(precedence)?;
            let node = Node {
                span: token.span.to(operand.span),
                kind: Kind::Unary(op, Box::new(operand)),
            };
            return self.postfix(node);
        }
        if token.tok == Tok::Op("(") {
            self.advance();
            let inner = self.sequence()?;
            if !self.is_op(")") {
                return Err(
                    unexpected(self.current(), "`)`: an opened parenthesis is not closed")
                        .with_help("add the missing `)`"),
                );
            }
            let close = self.advance().span;
            let node = Node {
                span: token.span.to(close),
                kind: inner.kind,
            };
            return self.postfix(node);
        }
        if let Tok::Pointer(name) = &token.tok {
            if self.closures == 0 {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    format!(
                        "`#{name}` can only be used inside a predicate, such as `map(list, #)`"
                    ),
                    token.span,
                ));
            }
            self.advance();
            let node = Node {
                span: token.span,
                kind: Kind::Pointer(name.clone()),
            };
            return self.postfix(node);
        }
        if token.tok == Tok::Op(".") {
            if self.closures == 0 {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    "`.field` shorthand can only be used inside a predicate, such as `map(list, .name)`",
                    token.span,
                ));
            }
            let node = Node {
                span: Span::new(token.span.start, token.span.start),
                kind: Kind::Pointer(String::new()),
            };
            return self.postfix(node);
        }
        self.secondary()
    }

    fn secondary(&mut self) -> Result<Node, Error> {
        let token = self.advance();
        let node = match token.tok.clone() {
            Tok::Ident(name) => match name.as_str() {
                "true" => literal(token.span, Value::Bool(true)),
                "false" => literal(token.span, Value::Bool(false)),
                "nil" => literal(token.span, Value::Nil),
                "$env" => Node {
                    span: token.span,
                    kind: Kind::Env,
                },
                _ if is_word_operator(&name) || name == "let" || name == "if" || name == "else" => {
                    return Err(unexpected(&token, "a value"));
                }
                _ => {
                    if self.is_op("(") {
                        self.call(name, token.span, Vec::new())?
                    } else {
                        Node {
                            span: token.span,
                            kind: Kind::Ident(name),
                        }
                    }
                }
            },
            Tok::Int(n) => literal(token.span, Value::Int(n)),
            Tok::Float(f) => literal(token.span, Value::Float(f)),
            Tok::Str(s) => literal(token.span, Value::from(s)),
            Tok::Op("[") => self.array(token.span)?,
            Tok::Op("{") => self.map(token.span)?,
            _ => return Err(unexpected(&token, "a value")),
        };
        self.postfix(node)
    }

    fn array(&mut self, start: Span) -> Result<Node, Error> {
        let mut items = Vec::new();
        loop {
            if self.is_op("]") {
                break;
            }
            items.push(self.expression(0)?);
            if self.is_op(",") {
                self.advance();
            } else if !self.is_op("]") {
                return Err(unexpected(self.current(), "`,` or `]` in the array"));
            }
        }
        let end = self.advance().span;
        Ok(Node {
            span: start.to(end),
            kind: Kind::Array(items),
        })
    }

    fn map(&mut self, start: Span) -> Result<Node, Error> {
        let mut entries = Vec::new();
        loop {
            if self.is_op("}") {
                break;
            }
            let token = self.current().clone();
            let key = match &token.tok {
                Tok::Ident(name) => {
                    self.advance();
                    literal(token.span, Value::from(name.as_str()))
                }
                Tok::Str(s) => {
                    self.advance();
                    literal(token.span, Value::from(s.as_str()))
                }
                Tok::Int(n) => {
                    self.advance();
                    literal(token.span, Value::from(n.to_string()))
                }
                Tok::Float(f) => {
                    self.advance();
                    literal(token.span, Value::from(crate::value::format_float_g(*f)))
                }
                Tok::Op("(") => self.expression(0)?,
                _ => {
                    return Err(unexpected(
                        &token,
                        "a map key (a name, a string, or `(expression)`)",
                    ));
                }
            };
            self.expect_op(":", "`:` after the map key")?;
            let value = self.expression(0)?;
            entries.push((key, value));
            if self.is_op(",") {
                self.advance();
            } else if !self.is_op("}") {
                return Err(unexpected(self.current(), "`,` or `}` in the map"));
            }
        }
        let end = self.advance().span;
        Ok(Node {
            span: start.to(end),
            kind: Kind::Map(entries),
        })
    }

    fn arguments(
        &mut self,
        mut args: Vec<Node>,
        closures: &[usize],
    ) -> Result<(Vec<Node>, Span), Error> {
        self.expect_op("(", "`(`")?;
        loop {
            if self.is_op(")") {
                break;
            }
            let index = args.len();
            let arg = if closures.contains(&index) {
                self.closure()?
            } else {
                self.expression(0)?
            };
            args.push(arg);
            if self.is_op(",") {
                self.advance();
            } else if !self.is_op(")") {
                return Err(unexpected(
                    self.current(),
                    "`,` or `)` in the argument list",
                ));
            }
        }
        let end = self.advance().span;
        Ok((args, end))
    }

    fn call(&mut self, name: String, name_span: Span, args: Vec<Node>) -> Result<Node, Error> {
        let Some(func) = functions::lookup(&name) else {
            let mut error = Error::new(
                ErrorKind::Syntax,
                format!("unknown function `{name}`"),
                name_span,
            );
            if let Some(similar) = functions::similar(&name) {
                error = error.with_help(format!("did you mean `{similar}`?"));
            }
            return Err(error);
        };
        let closures = func.closure_args();
        let (args, end) = self.arguments(args, closures)?;
        Ok(Node {
            span: name_span.to(end),
            kind: Kind::Call { func, name, args },
        })
    }

    fn closure(&mut self) -> Result<Node, Error> {
        let start = self.current().span;
        let braces = self.is_op("{");
        if braces {
            self.advance();
        }
        self.closures += 1;
        let body = if braces {
            self.sequence()
        } else {
            self.expression(0)
        };
        self.closures -= 1;
        let body = body?;
        let mut span = start.to(body.span);
        if braces {
            span = span.to(self.expect_op("}", "`}` closing the predicate")?);
        }
        Ok(Node {
            span,
            kind: Kind::Closure(Box::new(body)),
        })
    }

    fn postfix(&mut self, mut node: Node) -> Result<Node, Error> {
        let mut optional_chain = false;
        let base = self.depth;
        loop {
            let token = self.current().clone();
            if matches!(token.tok, Tok::Op("." | "?." | "[")) {
                self.enter()?;
            }
            match token.tok {
                Tok::Op(op @ ("." | "?.")) => {
                    let optional = op == "?.";
                    self.advance();
                    if optional && self.is_op("[") {
                        optional_chain = true;
                        node = self.index(node, true)?;
                        continue;
                    }
                    let property = self.advance();
                    let Tok::Ident(name) = property.tok else {
                        return Err(unexpected(&property, "a field name after `.`"));
                    };
                    optional_chain |= optional;
                    if self.is_op("(") {
                        let (args, end) = self.arguments(Vec::new(), &[])?;
                        node = Node {
                            span: node.span.to(end),
                            kind: Kind::Method {
                                object: Box::new(node),
                                name,
                                optional,
                                args,
                            },
                        };
                    } else {
                        node = Node {
                            span: node.span.to(property.span),
                            kind: Kind::Member {
                                object: Box::new(node),
                                property: Box::new(literal(property.span, Value::from(name))),
                                optional,
                            },
                        };
                    }
                }
                Tok::Op("[") => node = self.index(node, false)?,
                _ => break,
            }
        }
        self.depth = base;
        if optional_chain {
            node = Node {
                span: node.span,
                kind: Kind::Chain(Box::new(node)),
            };
        }
        Ok(node)
    }

    fn index(&mut self, object: Node, optional: bool) -> Result<Node, Error> {
        self.advance(); // [
        let from = if self.is_op(":") {
            None
        } else {
            Some(self.expression(0)?)
        };
        if self.is_op(":") {
            self.advance();
            let to = if self.is_op("]") {
                None
            } else {
                Some(Box::new(self.expression(0)?))
            };
            let end = self.expect_op("]", "`]` closing the slice")?;
            return Ok(Node {
                span: object.span.to(end),
                kind: Kind::Slice {
                    object: Box::new(object),
                    from: from.map(Box::new),
                    to,
                },
            });
        }
        // `from` is set: without `:` the bracket held an expression
        let Some(key) = from else {
            return Err(unexpected(self.current(), "an index"));
        };
        if !self.is_op("]") {
            return Err(unexpected(self.current(), "`]` closing the index"));
        }
        let end = self.advance().span;
        Ok(Node {
            span: object.span.to(end),
            kind: Kind::Member {
                object: Box::new(object),
                property: Box::new(key),
                optional,
            },
        })
    }
}

fn literal(span: Span, value: Value) -> Node {
    Node {
        span,
        kind: Kind::Literal(value),
    }
}

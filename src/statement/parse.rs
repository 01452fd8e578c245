//! cip's SQL parser: sqlparser's PostgreSQL dialect, the PostgreSQL statements sqlparser lacks
//! (MOVE, FETCH without FROM, ABORT, ALTER VIEW … RENAME TO), a bound on the statement's depth, then the reviewed list
//! of AST rewrite rules in `rules/`.
//!
//! The depth bound is what keeps a statement from overflowing a stack: every later step
//! (sqlparser's visitors, the rules, DataFusion's planner) recurses over the tree, and the
//! statement threads (runtime.rs) have room for this depth with a wide margin. PostgreSQL
//! refuses such statements the same way ("stack depth limit exceeded", 54001).

use super::cursor::{parse_fetch, Fetch};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::sql::sqlparser::ast::{Expr, Query, Statement, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;
use std::ops::ControlFlow;

/// Nesting of parentheses, subqueries and function calls the parser accepts.
pub const MAX_NESTING: usize = 500;

/// Depth of the expression and query tree a statement may have: `a OR b OR …` and `1+1+…`
/// nest one level per term, so this is also the longest such chain. Besides the stack, it
/// bounds planning time: DataFusion's type coercion is quadratic in an arithmetic chain's
/// length (a 19,000-term sum planned for minutes), and planning cannot be interrupted.
pub const MAX_DEPTH: usize = 12_000;

/// One statement as cip understands it.
#[derive(Debug, Clone)]
pub enum Parsed {
    Sql(Box<Statement>),
    /// FETCH or MOVE on a cursor (PostgreSQL's grammar, which sqlparser covers only in part).
    Fetch(Fetch),
    /// DataFusion's own statements (CREATE EXTERNAL TABLE), parsed by DataFusion's parser;
    /// whether one may run is decided in prepare.rs.
    DataFusion(Box<datafusion::sql::parser::Statement>),
}

impl std::fmt::Display for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Parsed::Sql(s) => write!(f, "{s}"),
            Parsed::Fetch(fetch) => write!(f, "{fetch}"),
            Parsed::DataFusion(s) => write!(f, "{s}"),
        }
    }
}

/// The statements of `sql`, checked and rewritten; an empty list for an empty query.
pub fn parse(sql: &str) -> Result<Vec<Parsed>> {
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(MAX_NESTING)
        .try_with_sql(sql)
        .map_err(syntax)?;
    let mut out = Vec::new();
    let mut expecting_delimiter = false;
    loop {
        while parser.consume_token(&Token::SemiColon) {
            expecting_delimiter = false;
        }
        if parser.peek_token_ref().token == Token::EOF {
            break;
        }
        if expecting_delimiter {
            let found = parser.peek_token_ref().to_string();
            return Err(CipError::invalid(
                sqlstate::SYNTAX_ERROR,
                format!("syntax error at or near \"{found}\": expected the end of the statement"),
            ));
        }
        let parsed = one(&mut parser, sql).map_err(syntax)?;
        let parsed = match parsed {
            Parsed::Sql(statement) => {
                check_depth(&statement)?;
                let names = super::written_names::of(&statement);
                let mut statement = super::rules::rewrite(*statement);
                super::written_names::keep(&names, &mut statement);
                super::ambiguous_columns::check(&statement)?;
                Parsed::Sql(Box::new(statement))
            }
            fetch => fetch,
        };
        out.push(parsed);
        expecting_delimiter = true;
    }
    Ok(out)
}

/// The one statement of `sql` (a prepared statement may hold only one).
pub fn parse_one(sql: &str) -> Result<Option<Parsed>> {
    let mut all = parse(sql)?;
    if all.len() > 1 {
        return Err(CipError::invalid(
            sqlstate::SYNTAX_ERROR,
            "cannot insert multiple commands into a prepared statement",
        ));
    }
    Ok(all.pop())
}

fn one(parser: &mut Parser, sql: &str) -> std::result::Result<Parsed, ParserError> {
    let word = match &parser.peek_token_ref().token {
        Token::Word(w) if w.quote_style.is_none() => Some((w.keyword, w.value.to_lowercase())),
        _ => None,
    };
    let second = match &parser.peek_nth_token_ref(1).token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    };
    if word.as_ref().is_some_and(|(k, _)| *k == Keyword::CREATE)
        && second == Some(Keyword::EXTERNAL)
    {
        return datafusion_statement(parser, sql);
    }
    if word.as_ref().is_some_and(|(k, _)| *k == Keyword::ALTER) && second == Some(Keyword::VIEW) {
        return alter_view(parser, sql);
    }
    if word.as_ref().is_some_and(|(k, _)| *k == Keyword::COMMENT) {
        return comment(parser, sql);
    }
    match word {
        Some((Keyword::FETCH, _)) => {
            parser.next_token();
            Ok(Parsed::Fetch(parse_fetch(parser, false)?))
        }
        Some((_, w)) if w == "move" => {
            parser.next_token();
            Ok(Parsed::Fetch(parse_fetch(parser, true)?))
        }
        Some((_, w)) if w == "abort" => {
            // PostgreSQL's synonym of ROLLBACK.
            parser.next_token();
            let _ = parser.parse_one_of_keywords(&[Keyword::WORK, Keyword::TRANSACTION]);
            Ok(Parsed::Sql(Box::new(Statement::Rollback {
                chain: false,
                savepoint: None,
            })))
        }
        _ => Ok(Parsed::Sql(Box::new(parser.parse_statement()?))),
    }
}

/// `ALTER VIEW name RENAME TO new`, which sqlparser does not parse, is PostgreSQL's ALTER
/// TABLE of the same words (PostgreSQL lets either rename a view); any other ALTER VIEW is
/// parsed as sqlparser parses it.
fn alter_view(parser: &mut Parser, sql: &str) -> std::result::Result<Parsed, ParserError> {
    let text = statement_text(parser, sql);
    let rest = text.trim_start().get("ALTER".len()..).unwrap_or_default();
    let rest = rest.trim_start().get("VIEW".len()..).unwrap_or_default();
    let dialect = PostgreSqlDialect {};
    if let Ok(mut as_table) = Parser::parse_sql(&dialect, &format!("ALTER TABLE{rest}")) {
        if let (1, Some(Statement::AlterTable(a))) = (as_table.len(), as_table.first()) {
            if super::rename::is_rename(a) {
                return Ok(Parsed::Sql(Box::new(as_table.remove(0))));
            }
        }
    }
    let mut statements = Parser::parse_sql(&dialect, text)?;
    match (statements.pop(), statements.is_empty()) {
        (Some(s), true) => Ok(Parsed::Sql(Box::new(s))),
        _ => Err(ParserError::ParserError("expected one statement".into())),
    }
}

/// COMMENT ON … IS as sqlparser parses it, also when the text is dollar-quoted, as dbt's
/// `persist_docs` writes it (`$dbt_comment_literal_block$…$dbt_comment_literal_block$`),
/// which sqlparser refuses: that literal is given to it single-quoted.
fn comment(parser: &mut Parser, sql: &str) -> std::result::Result<Parsed, ParserError> {
    let start = offset(sql, parser.peek_token_ref().span.start);
    let mut dollar = None;
    let mut n = 0;
    loop {
        let token = parser.peek_nth_token_ref(n);
        match &token.token {
            Token::SemiColon | Token::EOF => break,
            Token::DollarQuotedString(s) if dollar.is_none() => {
                let at = (offset(sql, token.span.start), offset(sql, token.span.end));
                dollar = Some((at, s.value.replace('\'', "''")));
            }
            _ => {}
        }
        n += 1;
    }
    let Some(((from, to), text)) = dollar else {
        return Ok(Parsed::Sql(Box::new(parser.parse_statement()?)));
    };
    let whole = statement_text(parser, sql);
    let end = start + whole.len();
    let (Some(before), Some(after)) = (sql.get(start..from), sql.get(to..end)) else {
        return Err(ParserError::ParserError(
            "a COMMENT's text could not be read".into(),
        ));
    };
    let quoted = format!("{before}'{text}'{after}");
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, &quoted)?;
    match (statements.pop(), statements.is_empty()) {
        (Some(s @ Statement::Comment { .. }), true) => Ok(Parsed::Sql(Box::new(s))),
        _ => Err(ParserError::ParserError(
            "expected one COMMENT statement".into(),
        )),
    }
}

/// The statement at the parser's position, up to its semicolon, parsed by DataFusion's parser.
fn datafusion_statement(
    parser: &mut Parser,
    sql: &str,
) -> std::result::Result<Parsed, ParserError> {
    let text = statement_text(parser, sql);
    let mut statements = datafusion::sql::parser::DFParser::parse_sql(text)
        .map_err(|e| ParserError::ParserError(e.strip_backtrace()))?;
    match (statements.pop_front(), statements.is_empty()) {
        (Some(s), true) => Ok(Parsed::DataFusion(Box::new(s))),
        _ => Err(ParserError::ParserError("expected one statement".into())),
    }
}

/// The text of the statement at the parser's position, up to its semicolon; the parser moves
/// past it.
fn statement_text<'a>(parser: &mut Parser, sql: &'a str) -> &'a str {
    let start = offset(sql, parser.peek_token_ref().span.start);
    loop {
        let token = &parser.peek_token_ref().token;
        if matches!(token, Token::SemiColon | Token::EOF) {
            break;
        }
        parser.next_token();
    }
    let end = match parser.peek_token_ref().token {
        Token::EOF => sql.len(),
        _ => offset(sql, parser.peek_token_ref().span.start),
    };
    sql.get(start..end).unwrap_or_default()
}

/// The byte offset of a token's (1-based) line and column in `sql`.
fn offset(sql: &str, at: datafusion::sql::sqlparser::tokenizer::Location) -> usize {
    let mut line = 1;
    let mut column = 1;
    for (i, c) in sql.char_indices() {
        if line == at.line && column == at.column {
            return i;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    sql.len()
}

/// A parser error as PostgreSQL reports one (42601), or 54001 when nesting ran too deep.
fn syntax(e: ParserError) -> CipError {
    match e {
        ParserError::RecursionLimitExceeded => too_deep(),
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => {
            CipError::invalid(sqlstate::SYNTAX_ERROR, format!("syntax error: {m}"))
        }
    }
}

fn too_deep() -> CipError {
    CipError::invalid(
        sqlstate::STATEMENT_TOO_COMPLEX,
        format!(
            "stack depth limit exceeded: the statement nests deeper than cip allows \
             ({MAX_NESTING} levels of parentheses or subqueries, {MAX_DEPTH} terms in one \
             expression); split it, or use IN (…) or a join for long lists"
        ),
    )
}

/// Refuses a statement whose tree is deeper than `MAX_DEPTH`.
fn check_depth(statement: &Statement) -> Result<()> {
    struct Depth {
        now: usize,
    }
    impl Depth {
        fn enter(&mut self) -> ControlFlow<()> {
            self.now += 1;
            if self.now > MAX_DEPTH {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
    }
    match statement.visit(&mut Depth { now: 0 }) {
        ControlFlow::Break(()) => Err(too_deep()),
        ControlFlow::Continue(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on a thread with a statement thread's stack, as the server does.
    fn deep(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(crate::statement::runtime::STATEMENT_STACK_BYTES)
            .spawn(f)
            .expect("thread")
            .join()
            .expect("no panic");
    }

    #[test]
    fn long_chains_parse_and_deeper_ones_are_refused() {
        deep(long_chains);
    }

    fn long_chains() {
        let terms = |n: usize| vec!["1"; n].join("+");
        let ok = parse(&format!("SELECT {}", terms(2_000))).expect("2,000 terms");
        assert_eq!(ok.len(), 1);
        let e = parse(&format!("SELECT {}", terms(MAX_DEPTH + 10))).expect_err("too deep");
        assert_eq!(e.sqlstate(), "54001");
        let e = parse(&format!("SELECT {}1{}", "(".repeat(600), ")".repeat(600)))
            .expect_err("too nested");
        assert_eq!(e.sqlstate(), "54001");
    }

    #[test]
    fn postgres_statements_sqlparser_lacks() {
        let p =
            parse("MOVE FORWARD 5 IN c; FETCH c; ABORT; abort work; alter view a.v rename to w")
                .expect("parses");
        assert!(matches!(&p[0], Parsed::Fetch(f) if f.move_only));
        assert!(matches!(&p[1], Parsed::Fetch(f) if !f.move_only));
        assert!(matches!(&p[2], Parsed::Sql(s) if matches!(**s, Statement::Rollback { .. })));
        assert!(matches!(&p[3], Parsed::Sql(s) if matches!(**s, Statement::Rollback { .. })));
        assert_eq!(p[4].to_string(), "ALTER TABLE a.v RENAME TO w");
        assert!(parse("SELECT 1 SELECT 2").is_err());
        assert!(parse(";;").expect("empty").is_empty());
    }

    #[test]
    fn comments_may_be_dollar_quoted() {
        let p = parse(
            "comment on table \"cip\".\"a\".\"t\" is $dbt$it's $1 'x'$dbt$; \
             COMMENT ON COLUMN t.c IS 'plain'; COMMENT ON TABLE t IS NULL",
        )
        .expect("parses");
        let texts: Vec<Option<String>> = (p.iter())
            .map(|p| match p {
                Parsed::Sql(s) => match s.as_ref() {
                    Statement::Comment { comment, .. } => comment.clone(),
                    other => panic!("not a comment: {other}"),
                },
                other => panic!("not SQL: {other}"),
            })
            .collect();
        assert_eq!(
            texts,
            [Some("it's $1 'x'".into()), Some("plain".into()), None]
        );
    }
}

//! Cursors: DECLARE … CURSOR, FETCH and MOVE in every direction PostgreSQL has, CLOSE.
//!
//! A cursor reads its query's rows as they are fetched. A SCROLL cursor keeps the rows read
//! so far, so it can move backwards and to absolute positions (psycopg2's `scroll`); any other
//! cursor forgets rows once passed and refuses to move back (55000), as PostgreSQL does for
//! plans that cannot scan backward.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::sql::sqlparser::ast::Ident;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::Token;
use futures::StreamExt;

/// Where a FETCH or MOVE goes (PostgreSQL's forms; counts may be negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `n`, `FORWARD n`, `NEXT` (1), `BACKWARD n` (−n), `PRIOR` (−1); i64::MAX / MIN for ALL.
    Relative(i64),
    /// `ABSOLUTE n`, `FIRST` (1), `LAST` (−1): one row at an absolute position.
    Absolute(i64),
    /// `RELATIVE n`: one row n away from the current one.
    Step(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub direction: Direction,
    pub cursor: String,
    /// MOVE: position only, no rows returned.
    pub move_only: bool,
}

impl std::fmt::Display for Fetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.move_only { "MOVE" } else { "FETCH" };
        let direction = match self.direction {
            Direction::Relative(i64::MAX) => "FORWARD ALL".to_string(),
            Direction::Relative(i64::MIN) => "BACKWARD ALL".to_string(),
            Direction::Relative(n) => format!("FORWARD {n}"),
            Direction::Absolute(n) => format!("ABSOLUTE {n}"),
            Direction::Step(n) => format!("RELATIVE {n}"),
        };
        write!(f, "{verb} {direction} FROM {}", Ident::new(&self.cursor))
    }
}

/// The rest of a FETCH or MOVE after its keyword:
/// `[direction] [FROM | IN] cursor_name`.
pub fn parse_fetch(
    parser: &mut Parser,
    move_only: bool,
) -> std::result::Result<Fetch, ParserError> {
    let count = |p: &mut Parser| -> std::result::Result<i64, ParserError> {
        let negative = p.consume_token(&Token::Minus);
        if !negative {
            let _ = p.consume_token(&Token::Plus);
        }
        let value = p.parse_literal_uint()?;
        let value = i64::try_from(value)
            .map_err(|_| ParserError::ParserError(format!("count {value} is out of range")))?;
        Ok(if negative { -value } else { value })
    };
    let starts_count = |p: &Parser| {
        matches!(
            p.peek_token_ref().token,
            Token::Number(..) | Token::Minus | Token::Plus
        )
    };
    let direction = if parser.parse_keyword(Keyword::NEXT) {
        Direction::Relative(1)
    } else if parser.parse_keyword(Keyword::PRIOR) {
        Direction::Relative(-1)
    } else if parser.parse_keyword(Keyword::FIRST) {
        Direction::Absolute(1)
    } else if parser.parse_keyword(Keyword::LAST) {
        Direction::Absolute(-1)
    } else if parser.parse_keyword(Keyword::ABSOLUTE) {
        Direction::Absolute(count(parser)?)
    } else if parser.parse_keyword(Keyword::RELATIVE) {
        Direction::Step(count(parser)?)
    } else if parser.parse_keyword(Keyword::ALL) {
        Direction::Relative(i64::MAX)
    } else if parser.parse_keyword(Keyword::FORWARD) {
        if parser.parse_keyword(Keyword::ALL) {
            Direction::Relative(i64::MAX)
        } else if starts_count(parser) {
            Direction::Relative(count(parser)?)
        } else {
            Direction::Relative(1)
        }
    } else if parser.parse_keyword(Keyword::BACKWARD) {
        if parser.parse_keyword(Keyword::ALL) {
            Direction::Relative(i64::MIN)
        } else if starts_count(parser) {
            Direction::Relative(count(parser)?.saturating_neg())
        } else {
            Direction::Relative(-1)
        }
    } else if starts_count(parser) {
        Direction::Relative(count(parser)?)
    } else {
        Direction::Relative(1)
    };
    let _ = parser.parse_one_of_keywords(&[Keyword::FROM, Keyword::IN]);
    let cursor = parser.parse_identifier()?.value;
    Ok(Fetch {
        direction,
        cursor,
        move_only,
    })
}

/// An open cursor.
pub struct Cursor {
    pub schema: SchemaRef,
    pub scroll: bool,
    /// WITH HOLD: survives the end of the transaction block that declared it.
    pub hold: bool,
    rows: Option<SendableRecordBatchStream>,
    /// Rows read and kept: row `base + i` (1-based) is `kept[i]`.
    kept: Vec<RecordBatch>,
    kept_rows: u64,
    base: u64,
    /// All rows were read; `total` is their number.
    total: Option<u64>,
    /// 0: before the first row; total + 1: after the last.
    position: u64,
}

impl Cursor {
    pub fn new(stream: SendableRecordBatchStream, scroll: bool, hold: bool) -> Cursor {
        Cursor {
            schema: stream.schema(),
            scroll,
            hold,
            rows: Some(stream),
            kept: Vec::new(),
            kept_rows: 0,
            base: 1,
            total: None,
            position: 0,
        }
    }

    /// Reads until row `n` is kept (or the rows end). Whether row `n` exists.
    async fn read_to(&mut self, n: u64) -> Result<bool> {
        while self.base + self.kept_rows <= n {
            let Some(stream) = self.rows.as_mut() else {
                return Ok(false);
            };
            match stream.next().await {
                Some(batch) => {
                    let batch = batch?;
                    self.kept_rows += batch.num_rows() as u64;
                    self.kept.push(batch);
                }
                None => {
                    self.rows = None;
                    self.total = Some(self.base + self.kept_rows - 1);
                }
            }
        }
        Ok(true)
    }

    /// Rows `from..=to` (1-based, from ≤ to, all kept).
    fn slice(&self, from: u64, to: u64) -> Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        let mut start = self.base;
        for b in &self.kept {
            let end = start + b.num_rows() as u64; // exclusive
            let lo = from.max(start);
            let hi = (to + 1).min(end);
            if lo < hi {
                out.push(b.slice((lo - start) as usize, (hi - lo) as usize));
            }
            start = end;
        }
        Ok(out)
    }

    /// Forgets rows before `position` when backward motion is impossible anyway.
    fn forget_passed(&mut self) {
        if self.scroll {
            return;
        }
        while let Some(first) = self.kept.first() {
            let n = first.num_rows() as u64;
            if self.base + n > self.position {
                break;
            }
            self.base += n;
            self.kept_rows -= n;
            self.kept.remove(0);
        }
    }

    fn backward(&self) -> Result<()> {
        if self.scroll {
            return Ok(());
        }
        Err(CipError::invalid(
            sqlstate::OBJECT_NOT_IN_PREREQUISITE_STATE,
            "cursor can only scan forward: declare it with SCROLL to move backward",
        ))
    }

    /// Moves as `direction` says; the rows passed over on the way (those FETCH returns, in
    /// the order it returns them).
    pub async fn fetch(&mut self, direction: Direction) -> Result<Vec<RecordBatch>> {
        let rows = match direction {
            Direction::Relative(0) | Direction::Step(0) => self.current().await?,
            Direction::Relative(n) if n > 0 => self.forward(n.unsigned_abs()).await?,
            Direction::Relative(n) => self.back(n.unsigned_abs()).await?,
            Direction::Step(n) => {
                let target = (self.position as i128 + n as i128).max(0) as u64;
                self.to(target).await?
            }
            Direction::Absolute(n) if n >= 0 => self.to(n as u64).await?,
            Direction::Absolute(n) => {
                self.read_to(u64::MAX).await?;
                let total = self.total.unwrap_or(0) as i128;
                self.to((total + 1 + n as i128).max(0) as u64).await?
            }
        };
        self.forget_passed();
        Ok(rows)
    }

    async fn current(&mut self) -> Result<Vec<RecordBatch>> {
        let p = self.position;
        if p == 0 || !self.read_to(p).await? || p < self.base {
            return Ok(vec![]);
        }
        self.slice(p, p)
    }

    async fn forward(&mut self, n: u64) -> Result<Vec<RecordBatch>> {
        let from = self.position + 1;
        let want = from.saturating_add(n - 1);
        self.read_to(want).await?;
        let last = match self.total {
            Some(total) => want.min(total),
            None => want,
        };
        let rows = if from <= last {
            self.slice(from, last)?
        } else {
            vec![]
        };
        self.position = match self.total {
            Some(total) if want > total => total + 1,
            _ => last,
        };
        Ok(rows)
    }

    /// Rows p−1, p−2, … (at most n, in that order); ends on the last one returned, or
    /// before the first row when it ran off the start.
    async fn back(&mut self, n: u64) -> Result<Vec<RecordBatch>> {
        self.backward()?;
        let to = self.position.saturating_sub(1);
        if to == 0 {
            self.position = 0;
            return Ok(vec![]);
        }
        let from = if n > to { 1 } else { to - n + 1 };
        let rows = self.slice(from, to)?;
        self.position = if n > to { 0 } else { from };
        rows.iter().rev().map(reverse).collect()
    }

    async fn to(&mut self, target: u64) -> Result<Vec<RecordBatch>> {
        if target < self.position {
            self.backward()?;
        }
        if target == 0 {
            self.position = 0;
            return Ok(vec![]);
        }
        if self.read_to(target).await? && self.total.is_none_or(|t| target <= t) {
            self.position = target;
            return self.slice(target, target);
        }
        self.position = self.total.unwrap_or(0) + 1;
        Ok(vec![])
    }

    /// The rows of `batches` as one batch (empty batches dropped).
    pub fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Option<RecordBatch>> {
        if batches.iter().all(|b| b.num_rows() == 0) {
            return Ok(None);
        }
        Ok(Some(concat_batches(schema, batches)?))
    }
}

fn reverse(batch: &RecordBatch) -> Result<RecordBatch> {
    use datafusion::arrow::array::UInt32Array;
    let n = batch.num_rows() as u32;
    let indices = UInt32Array::from_iter_values((0..n).rev());
    let columns = batch
        .columns()
        .iter()
        .map(|c| datafusion::arrow::compute::take(c, &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

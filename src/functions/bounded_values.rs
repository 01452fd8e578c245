//! DataFusion's functions whose result can be far larger than their arguments — `repeat`,
//! `lpad`, `rpad`, `replace`, `regexp_replace`, `array_repeat`, `array_resize`, and the array
//! forms of `range` and `generate_series` — wrapped so that what they are about to build is weighed first.
//!
//! A statement of a few bytes (`SELECT repeat('x', 1000000000)`) made the server allocate
//! gigabytes outside the memory pool, which only sees operators that ask it; one client could
//! take the machine down. Each wrapper estimates the bytes of its result from the arguments
//! before calling the function: a single value past PostgreSQL's 1 GiB field limit is refused
//! with 54000, and the whole result is reserved in the session's pool (session_memory.rs)
//! while it is built, so past the session's limit or the server's the statement fails with
//! 53200 instead of allocating. The estimate counts bytes of ASCII text and eight bytes per
//! array element; it guards against amplification, not exact sizes.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::{cast, kernels::length::length};
use datafusion::arrow::datatypes::FieldRef;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool};
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
};
use std::sync::Arc;

/// PostgreSQL's largest field value (MaxAllocSize): 1 GiB less one byte.
pub const MAX_VALUE_BYTES: u64 = (1 << 30) - 1;

/// How a function's result grows with its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// repeat(text, n): the text n times.
    Repeat,
    /// lpad / rpad(text, n [, fill]): n characters.
    Pad,
    /// replace(text, from, to): every occurrence of `from` becomes `to`.
    Replace,
    /// regexp_replace(text, pattern, replacement [, flags]): each match (every one with 'g')
    /// becomes the replacement, whose back-references copy parts of the match.
    RegexpReplace,
    /// array_repeat(element, n): n elements.
    ArrayRepeat,
    /// array_resize(array, n [, fill]): n elements.
    ArrayResize,
    /// range / generate_series(start, stop [, step]) over integers.
    Series,
}

const GUARDED: &[(&str, Growth)] = &[
    ("repeat", Growth::Repeat),
    ("lpad", Growth::Pad),
    ("rpad", Growth::Pad),
    ("replace", Growth::Replace),
    ("regexp_replace", Growth::RegexpReplace),
    ("array_repeat", Growth::ArrayRepeat),
    ("array_resize", Growth::ArrayResize),
    ("range", Growth::Series),
    ("generate_series", Growth::Series),
];

/// Replaces the session's amplifying functions with guarded ones charging `pool`.
pub fn register(ctx: &datafusion::prelude::SessionContext) {
    let pool = ctx.runtime_env().memory_pool.clone();
    for (name, growth) in GUARDED {
        // Read under the lock, not from a copy of the whole session state; the guard must be
        // gone before register_udf takes it for writing.
        let inner = ctx
            .state_ref()
            .read()
            .scalar_functions()
            .get(*name)
            .cloned();
        if let Some(inner) = inner {
            ctx.register_udf(ScalarUDF::new_from_impl(Bounded {
                inner,
                growth: *growth,
                pool: pool.clone(),
            }));
        }
    }
}

#[derive(Debug)]
struct Bounded {
    inner: Arc<ScalarUDF>,
    growth: Growth,
    pool: Arc<dyn MemoryPool>,
}

impl PartialEq for Bounded {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner && Arc::ptr_eq(&self.pool, &other.pool)
    }
}

impl Eq for Bounded {}

impl std::hash::Hash for Bounded {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.name().hash(state);
        self.growth.hash(state);
    }
}

impl Bounded {
    /// The largest value and the total bytes the call would build.
    fn estimate(&self, args: &[ColumnarValue], rows: usize) -> Result<(u64, u64)> {
        // Scalar arguments give one value, computed once.
        let n = if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
            1
        } else {
            rows
        };
        let arrays = args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<Vec<_>>>()?;
        let per_row: Vec<u64> = match (self.growth, arrays.as_slice()) {
            (Growth::Repeat, [text, times, ..]) => {
                let lens = byte_lengths(text)?;
                let times = integers(times)?;
                (0..n).map(|i| lens[i].saturating_mul(times[i])).collect()
            }
            (Growth::Pad, [text, chars, ..]) => {
                let lens = byte_lengths(text)?;
                let chars = integers(chars)?;
                (0..n).map(|i| lens[i].max(chars[i])).collect()
            }
            (Growth::Replace, [text, from, to, ..]) => {
                let (lens, from, to) =
                    (byte_lengths(text)?, byte_lengths(from)?, byte_lengths(to)?);
                (0..n)
                    .map(|i| {
                        // An empty pattern matches between every two characters.
                        let found = lens[i].checked_div(from[i]).unwrap_or(lens[i] + 1);
                        lens[i].saturating_add(found.saturating_mul(to[i]))
                    })
                    .collect()
            }
            (Growth::RegexpReplace, [text, _, replacement, rest @ ..]) => {
                let lens = byte_lengths(text)?;
                let replacements = replacement_sizes(replacement)?;
                let global = match rest.first() {
                    Some(flags) => global_flags(flags)?,
                    None => vec![false; n],
                };
                (0..n)
                    .map(|i| {
                        let (literal, references) = replacements[i];
                        // Matches are disjoint, so all references together copy at most the
                        // text once each; a pattern that matches empty can match len + 1 times.
                        let matches = if global[i] { lens[i] + 1 } else { 1 };
                        lens[i]
                            .saturating_add(matches.saturating_mul(literal))
                            .saturating_add(references.saturating_mul(lens[i]))
                    })
                    .collect()
            }
            (Growth::ArrayRepeat, [element, times, ..]) => {
                let size = element_bytes(element);
                let times = integers(times)?;
                (0..n).map(|i| times[i].saturating_mul(size)).collect()
            }
            (Growth::ArrayResize, [_, len, ..]) => {
                integers(len)?.iter().map(|l| l.saturating_mul(8)).collect()
            }
            (Growth::Series, [start, stop, rest @ ..]) if integral(start) && integral(stop) => {
                let (start, stop) = (signed(start)?, signed(stop)?);
                let step = match rest.first() {
                    Some(s) if integral(s) => signed(s)?,
                    Some(_) => return Ok((0, 0)),
                    None => vec![Some(1); n],
                };
                (0..n)
                    .map(|i| series_len(start[i], stop[i], step[i]).saturating_mul(8))
                    .collect()
            }
            _ => return Ok((0, 0)),
        };
        let max = per_row.iter().copied().max().unwrap_or(0);
        let total = per_row.iter().fold(0u64, |a, b| a.saturating_add(*b));
        Ok((max, total))
    }
}

impl ScalarUDFImpl for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn simplify(&self, args: Vec<Expr>, info: &SimplifyContext) -> Result<ExprSimplifyResult> {
        self.inner.simplify(args, info)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (largest, total) = self.estimate(&args.args, args.number_rows)?;
        if largest > MAX_VALUE_BYTES {
            return Err(cip_udfs::error::sql_error(
                crate::error::sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "requested length too large: {} would build a value of about {largest} \
                     bytes; one value holds at most {MAX_VALUE_BYTES}",
                    self.name()
                ),
            ));
        }
        // Held while the result is built; the rows it lands in are charged as they go out.
        let reservation = MemoryConsumer::new(self.name()).register(&self.pool);
        reservation.try_grow(usize::try_from(total).unwrap_or(usize::MAX))?;
        self.inner.invoke_with_args(args)
    }
}

fn byte_lengths(a: &ArrayRef) -> Result<Vec<u64>> {
    if matches!(a.data_type(), DataType::Null) {
        return Ok(vec![0; a.len()]);
    }
    let lens = cast(&length(a)?, &DataType::Int64)?;
    Ok(non_negative(lens.as_primitive::<Int64Type>()))
}

/// Per row: the replacement's literal bytes and its back-references (`\1` or `$1` style; every `\`
/// or `$` is counted as one, an upper bound).
fn replacement_sizes(a: &ArrayRef) -> Result<Vec<(u64, u64)>> {
    if matches!(a.data_type(), DataType::Null) {
        return Ok(vec![(0, 0); a.len()]);
    }
    let text = cast(a, &DataType::Utf8)?;
    Ok(text
        .as_string::<i32>()
        .iter()
        .map(|r| {
            r.map_or((0, 0), |r| {
                let refs = r.bytes().filter(|b| matches!(b, b'\\' | b'$')).count() as u64;
                // A reference's marker is not copied; its digits are counted as literal.
                ((r.len() as u64).saturating_sub(refs), refs)
            })
        })
        .collect())
}

/// Per row: whether the flags ask for every match ('g').
fn global_flags(a: &ArrayRef) -> Result<Vec<bool>> {
    if matches!(a.data_type(), DataType::Null) {
        return Ok(vec![false; a.len()]);
    }
    let flags = cast(a, &DataType::Utf8)?;
    Ok(flags
        .as_string::<i32>()
        .iter()
        .map(|f| f.is_some_and(|f| f.contains('g')))
        .collect())
}

fn integers(a: &ArrayRef) -> Result<Vec<u64>> {
    let a = cast(a, &DataType::Int64)?;
    Ok(non_negative(a.as_primitive::<Int64Type>()))
}

fn non_negative(a: &datafusion::arrow::array::Int64Array) -> Vec<u64> {
    a.iter()
        .map(|v| v.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
        .collect()
}

fn integral(a: &ArrayRef) -> bool {
    a.data_type().is_integer() || matches!(a.data_type(), DataType::Null)
}

fn signed(a: &ArrayRef) -> Result<Vec<Option<i64>>> {
    let a = cast(a, &DataType::Int64)?;
    Ok(a.as_primitive::<Int64Type>().iter().collect())
}

/// Elements of start..=stop by step (an upper bound; NULLs and a zero step give none).
fn series_len(start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> u64 {
    let (Some(start), Some(stop), Some(step)) = (start, stop, step) else {
        return 0;
    };
    if step == 0 {
        return 0;
    }
    let span = i128::from(stop) - i128::from(start);
    let n = span / i128::from(step) + 1;
    u64::try_from(n.max(0)).unwrap_or(u64::MAX)
}

/// Bytes per element of an array of one element a row: a fixed width's, else the average
/// value's (text) or memory's, at least eight.
fn element_bytes(a: &ArrayRef) -> u64 {
    if let Some(width) = a.data_type().primitive_width() {
        return width as u64;
    }
    let rows = a.len().max(1) as u64;
    let bytes = match byte_lengths(a) {
        Ok(lens) => lens.iter().sum::<u64>() / rows + 16,
        Err(_) => a.get_array_memory_size() as u64 / rows,
    };
    bytes.max(8)
}

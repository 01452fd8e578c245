//! Packs a sort's key columns into one unsigned integer per row whose integer order is the
//! sort's order, so the rows sort as integers instead of through per-column comparators (for
//! an ORDER BY (visits, member_id) most comparisons tie on visits and fall through to a string
//! compare).
//!
//! Each column becomes a bit field, the first sort column the most significant. Numbers
//! (integers, dates, times, timestamps, floats in IEEE total order) take their
//! order-preserving code minus the column's minimum, so a visit count needs a few bits, not
//! 64. Text beyond the prefix every value shares takes a few bits per byte position: a
//! position spans only the bytes seen there, plus an "ended" code below them where a value
//! can end there (shorter sorts first, as in byte order). NULLs take one more code at the end
//! the sort asks for, DESC flips the field. When the fields do not fit in 128 bits, or a
//! column's type has no code here, `pack` returns None and the caller sorts the usual way.

use super::parallel::parallel;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::*;

/// Every row's key, batch after batch, and how many low bits of each are used.
pub struct Packed {
    pub keys: Vec<u128>,
    pub bits: u32,
}

/// Above this many byte positions past the shared prefix, text is left to the usual sort.
const MAX_TEXT_POSITIONS: usize = 64;

/// `columns[c][b]` is sort column `c` evaluated on batch `b`; the keys are written by
/// `threads` threads, each a share of the rows.
pub fn pack(columns: &[Vec<ArrayRef>], options: &[SortOptions], threads: usize) -> Option<Packed> {
    let rows: usize = columns.first()?.iter().map(|a| a.len()).sum();
    let fields: Vec<Field> = columns
        .iter()
        .zip(options)
        .map(|(arrays, o)| Field::plan(arrays, *o))
        .collect::<Option<_>>()?;
    let bits: u32 = fields.iter().map(|f| f.width).sum();
    if bits > 128 {
        return None;
    }
    let mut keys = vec![0u128; rows];
    let share = rows.div_ceil(threads.max(1)).max(1);
    let parts: Vec<(usize, &mut [u128])> = keys
        .chunks_mut(share)
        .enumerate()
        .map(|(i, out)| (i * share, out))
        .collect();
    parallel(parts, |(start, out)| {
        let end = start + out.len();
        let mut shift = bits;
        for (field, arrays) in fields.iter().zip(columns) {
            shift -= field.width;
            // The pieces of this column's batches that fall in rows start..end.
            let mut base = 0;
            for array in arrays {
                let (lo, hi) = (base.max(start), (base + array.len()).min(end));
                if lo < hi {
                    let piece = array.slice(lo - base, hi - lo);
                    field.encode(&piece, shift, &mut out[lo - start..hi - start]);
                }
                base += array.len();
            }
        }
    });
    Some(Packed { keys, bits })
}

/// Bits needed to hold values 0..=x.
fn bits_for(x: u128) -> u32 {
    128 - x.leading_zeros()
}

/// One column's bit field.
struct Field {
    kind: Kind,
    options: SortOptions,
    /// Largest field value of a non-NULL row (before DESC and NULL placement).
    span: u128,
    has_nulls: bool,
    width: u32,
}

enum Kind {
    Number {
        min: u64,
    },
    Text {
        prefix: usize,
        positions: Vec<Position>,
    },
}

/// One byte position of text past the shared prefix.
#[derive(Clone, Copy)]
struct Position {
    lo: u8,
    hi: u8,
    /// Some value ends before this position, so it needs the "ended" code 0.
    can_end: bool,
}

impl Position {
    fn width(&self) -> u32 {
        bits_for((self.hi - self.lo) as u128 + self.can_end as u128)
    }
}

impl Field {
    fn plan(arrays: &[ArrayRef], options: SortOptions) -> Option<Field> {
        let data_type = arrays.first()?.data_type();
        let has_nulls = arrays.iter().any(|a| a.null_count() > 0);
        let (kind, span) = if data_type.is_string() {
            plan_text(arrays)?
        } else {
            let (mut min, mut max) = (u64::MAX, 0u64);
            for a in arrays {
                for_each_code(a, |_, c| {
                    min = min.min(c);
                    max = max.max(c);
                })?;
            }
            if min > max {
                (min, max) = (0, 0); // all NULL
            }
            (Kind::Number { min }, (max - min) as u128)
        };
        // A field of 128 bits has no room left for a NULL: the usual sort takes such keys.
        let width = bits_for(span.checked_add(has_nulls as u128)?);
        Some(Field {
            kind,
            options,
            span,
            has_nulls,
            width,
        })
    }

    /// ORs this column's field, shifted left by `shift`, into each row's key.
    fn encode(&self, array: &ArrayRef, shift: u32, out: &mut [u128]) {
        // Fields of 0 bits (one value, no NULLs) add nothing; a shift of 128 would overflow.
        if self.width == 0 {
            return;
        }
        let place = |f: u128| -> u128 {
            let f = if self.options.descending {
                self.span - f
            } else {
                f
            };
            match (self.has_nulls, self.options.nulls_first) {
                (true, true) => f + 1,
                _ => f,
            }
        };
        if self.has_nulls {
            // span + 1 fits: plan() made room for it.
            let null = (if self.options.nulls_first {
                0
            } else {
                self.span + 1
            }) << shift;
            for (i, k) in out.iter_mut().enumerate() {
                if array.is_null(i) {
                    *k |= null;
                }
            }
        }
        match &self.kind {
            Kind::Number { min } => {
                for_each_code(array, |i, c| out[i] |= place((c - min) as u128) << shift);
            }
            Kind::Text { prefix, positions } => {
                for_each_text(array, |i, v| {
                    let mut f = 0u128;
                    for (p, pos) in positions.iter().enumerate() {
                        let code = match v.get(prefix + p) {
                            Some(&b) => (b - pos.lo) as u128 + pos.can_end as u128,
                            None => 0,
                        };
                        f = (f << pos.width()) | code;
                    }
                    out[i] |= place(f) << shift;
                });
            }
        }
    }
}

/// The shared prefix, then each later position's byte range; None past MAX_TEXT_POSITIONS.
fn plan_text(arrays: &[ArrayRef]) -> Option<(Kind, u128)> {
    let mut first: Option<Vec<u8>> = None;
    let (mut prefix, mut min_len, mut max_len) = (usize::MAX, usize::MAX, 0);
    for a in arrays {
        for_each_text(a, |_, v| {
            let f = first.get_or_insert_with(|| v.to_vec());
            let shared = f.iter().zip(v).take_while(|(x, y)| x == y).count();
            prefix = prefix.min(shared);
            min_len = min_len.min(v.len());
            max_len = max_len.max(v.len());
        })?;
    }
    if first.is_none() {
        (prefix, min_len) = (0, 0); // all NULL
    }
    let n = max_len - prefix;
    if n > MAX_TEXT_POSITIONS {
        return None;
    }
    let mut positions: Vec<Position> = (0..n)
        .map(|p| Position {
            lo: u8::MAX,
            hi: 0,
            can_end: prefix + p >= min_len,
        })
        .collect();
    for a in arrays {
        for_each_text(a, |_, v| {
            for (pos, &b) in positions.iter_mut().zip(&v[prefix.min(v.len())..]) {
                pos.lo = pos.lo.min(b);
                pos.hi = pos.hi.max(b);
            }
        })?;
    }
    let width: u32 = positions.iter().map(Position::width).sum();
    if width > 128 {
        return None;
    }
    let span = if width == 0 {
        0
    } else {
        u128::MAX >> (128 - width)
    };
    Some((Kind::Text { prefix, positions }, span))
}

/// Calls `f(row, bytes)` for every non-NULL value of a text array; None for other types.
fn for_each_text(array: &ArrayRef, mut f: impl FnMut(usize, &[u8])) -> Option<()> {
    macro_rules! each {
        ($a:expr) => {{
            let a = $a;
            for i in 0..a.len() {
                if a.is_valid(i) {
                    f(i, a.value(i).as_bytes());
                }
            }
        }};
    }
    match array.data_type() {
        DataType::Utf8 => each!(array.as_string::<i32>()),
        DataType::LargeUtf8 => each!(array.as_string::<i64>()),
        DataType::Utf8View => each!(array.as_string_view()),
        _ => return None,
    }
    Some(())
}

/// Calls `f(row, code)` for every non-NULL value, where codes order as the values do (IEEE
/// total order for floats, as arrow sorts them); None for types without such a code here.
fn for_each_code(array: &ArrayRef, mut f: impl FnMut(usize, u64)) -> Option<()> {
    macro_rules! each {
        ($t:ty, $code:expr) => {{
            let a = array.as_primitive::<$t>();
            let code = $code;
            let values = a.values();
            if a.null_count() == 0 {
                for (i, v) in values.iter().enumerate() {
                    f(i, code(*v));
                }
            } else {
                for (i, v) in values.iter().enumerate() {
                    if a.is_valid(i) {
                        f(i, code(*v));
                    }
                }
            }
        }};
    }
    let signed = |v: i64| (v as u64) ^ (1 << 63);
    let float = |bits: u64| {
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | (1 << 63)
        }
    };
    use DataType as D;
    use TimeUnit as U;
    match array.data_type() {
        D::Int8 => each!(Int8Type, |v: i8| signed(v as i64)),
        D::Int16 => each!(Int16Type, |v: i16| signed(v as i64)),
        D::Int32 => each!(Int32Type, |v: i32| signed(v as i64)),
        D::Int64 => each!(Int64Type, signed),
        D::UInt8 => each!(UInt8Type, |v: u8| v as u64),
        D::UInt16 => each!(UInt16Type, |v: u16| v as u64),
        D::UInt32 => each!(UInt32Type, |v: u32| v as u64),
        D::UInt64 => each!(UInt64Type, |v: u64| v),
        D::Float32 => each!(Float32Type, |v: f32| float((v as f64).to_bits())),
        D::Float64 => each!(Float64Type, |v: f64| float(v.to_bits())),
        D::Date32 => each!(Date32Type, |v: i32| signed(v as i64)),
        D::Date64 => each!(Date64Type, signed),
        D::Time32(U::Second) => each!(Time32SecondType, |v: i32| signed(v as i64)),
        D::Time32(U::Millisecond) => each!(Time32MillisecondType, |v: i32| signed(v as i64)),
        D::Time64(U::Microsecond) => each!(Time64MicrosecondType, signed),
        D::Time64(U::Nanosecond) => each!(Time64NanosecondType, signed),
        D::Timestamp(U::Second, _) => each!(TimestampSecondType, signed),
        D::Timestamp(U::Millisecond, _) => each!(TimestampMillisecondType, signed),
        D::Timestamp(U::Microsecond, _) => each!(TimestampMicrosecondType, signed),
        D::Timestamp(U::Nanosecond, _) => each!(TimestampNanosecondType, signed),
        D::Boolean => {
            let a = array.as_boolean();
            for i in 0..a.len() {
                if a.is_valid(i) {
                    f(i, a.value(i) as u64);
                }
            }
        }
        _ => return None,
    }
    Some(())
}

/// Whether `pack` has a code for this type (the planner's check, before any data is seen).
pub fn supported(t: &DataType) -> bool {
    use DataType as D;
    use TimeUnit as U;
    t.is_string()
        || matches!(
            t,
            D::Int8
                | D::Int16
                | D::Int32
                | D::Int64
                | D::UInt8
                | D::UInt16
                | D::UInt32
                | D::UInt64
                | D::Float32
                | D::Float64
                | D::Date32
                | D::Date64
                | D::Time32(U::Second | U::Millisecond)
                | D::Time64(U::Microsecond | U::Nanosecond)
                | D::Timestamp(_, _)
                | D::Boolean
        )
}

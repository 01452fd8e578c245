//! PostgreSQL's binary COPY format, both ways: an 11-byte signature, flags and a header
//! extension, then per row a field count and each field as a length (−1 for NULL) and its
//! value in the type's binary send format, then −1. asyncpg's `copy_records_to_table` and
//! `copy_from_query(format='binary')`, connectorx (polars' default engine) and ADBC use it.
//! Out, values are encoded as binary query results are (arrow-pg); in, by the column's type.

use crate::column_types::{uuid_string, ColumnType};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::ScalarValue;
use datafusion_postgres::arrow_pg::datatypes::arrow_schema_to_pg_fields;
use pgwire::api::portal::Format;
use std::sync::Arc;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
/// Microseconds and days from the Unix epoch to PostgreSQL's, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

fn bad(why: impl Into<String>) -> CipError {
    CipError::invalid(sqlstate::BAD_COPY_FILE_FORMAT, why)
}

/// The signature, no flags, an empty header extension.
pub fn header() -> Vec<u8> {
    let mut h = SIGNATURE.to_vec();
    h.extend_from_slice(&0i32.to_be_bytes());
    h.extend_from_slice(&0i32.to_be_bytes());
    h
}

pub fn trailer() -> Vec<u8> {
    (-1i16).to_be_bytes().to_vec()
}

/// Each row of `batch` as a binary COPY tuple.
pub fn encode(batch: &RecordBatch) -> Result<Vec<Vec<u8>>> {
    let batch = &crate::column_types::uuids_as_bytes(batch.clone(), |_| true)?;
    let schema = super::wire_schema::described(&batch.schema());
    let fields = arrow_schema_to_pg_fields(&schema, &Format::UnifiedBinary, None)
        .map_err(|e| CipError::invalid(sqlstate::FEATURE_NOT_SUPPORTED, e.to_string()))?;
    super::wire_rows::encode(Arc::new(fields), batch.clone())
        .map(|row| {
            let row =
                row.map_err(|e| CipError::invalid(sqlstate::INTERNAL_ERROR, e.to_string()))?;
            let mut out = row.field_count.to_be_bytes().to_vec();
            out.extend_from_slice(&row.data);
            Ok(out)
        })
        .collect()
}

/// A reader over the bytes of a binary COPY.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len());
        let end = end.ok_or_else(|| bad("binary COPY data ends in the middle of a row"))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The rows of a binary COPY into `columns` (their names and types), as one batch.
pub fn decode(data: &[u8], columns: &[Field]) -> Result<RecordBatch> {
    let mut r = Bytes { data, pos: 0 };
    if r.take(SIGNATURE.len()).ok() != Some(SIGNATURE) {
        return Err(bad("COPY file signature not recognized"));
    }
    let flags = r.i32()?;
    if flags & (1 << 16) != 0 {
        return Err(bad("binary COPY with OIDs is not supported"));
    }
    let extension = r.i32()?;
    r.take(usize::try_from(extension).map_err(|_| bad("negative header extension length"))?)?;
    let mut values: Vec<Vec<ScalarValue>> = vec![Vec::new(); columns.len()];
    let mut row = 0usize;
    loop {
        let count = r.i16()?;
        if count == -1 {
            break;
        }
        row += 1;
        if count as usize != columns.len() {
            return Err(bad(format!(
                "row {row} has {count} fields, expected {}",
                columns.len()
            )));
        }
        for (i, field) in columns.iter().enumerate() {
            let len = r.i32()?;
            let v = if len < 0 {
                ScalarValue::try_from(field.data_type())?
            } else {
                let bytes = r.take(len as usize)?;
                let uuid = ColumnType::of(field) == Some(ColumnType::Uuid);
                let value = match <&[u8; 16]>::try_from(bytes) {
                    // A uuid column's values come as their 16 bytes.
                    Ok(b) if uuid => Ok(ScalarValue::Utf8(Some(uuid_string(b)))),
                    _ if uuid => Err("a uuid is 16 bytes".to_string()),
                    _ => value(field.data_type(), bytes),
                };
                value.map_err(|why| {
                    CipError::invalid(
                        sqlstate::INVALID_BINARY_REPRESENTATION,
                        format!("COPY, row {row}, column \"{}\": {why}", field.name()),
                    )
                })?
            };
            values[i].push(v);
        }
    }
    let arrays = values
        .into_iter()
        .zip(columns)
        .map(|(v, f)| {
            if v.is_empty() {
                return Ok(datafusion::arrow::array::new_empty_array(f.data_type()));
            }
            Ok(ScalarValue::iter_to_array(v)?)
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let fields: Vec<Field> = columns
        .iter()
        .map(|f| f.clone().with_nullable(true))
        .collect();
    let options = datafusion::arrow::array::RecordBatchOptions::new().with_row_count(Some(row));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        arrays,
        &options,
    )?)
}

fn fixed<const N: usize>(b: &[u8]) -> std::result::Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", b.len()))
}

/// One value sent for a column of type `t`: integers and floats of any width the client sent
/// (asyncpg sends the column's own type; others may send int4 for a bigint column).
fn value(t: &DataType, b: &[u8]) -> std::result::Result<ScalarValue, String> {
    let int = || -> std::result::Result<i64, String> {
        Ok(match b.len() {
            2 => i64::from(i16::from_be_bytes(fixed(b)?)),
            4 => i64::from(i32::from_be_bytes(fixed(b)?)),
            8 => i64::from_be_bytes(fixed(b)?),
            n => return Err(format!("an integer of {n} bytes")),
        })
    };
    let text = || {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| "not UTF-8".to_string())
    };
    let v = match t {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            ScalarValue::Int64(Some(int()?))
        }
        DataType::Float32 | DataType::Float64 => ScalarValue::Float64(Some(match b.len() {
            4 => f64::from(f32::from_be_bytes(fixed(b)?)),
            8 => f64::from_be_bytes(fixed(b)?),
            n => return Err(format!("a float of {n} bytes")),
        })),
        DataType::Boolean => ScalarValue::Boolean(Some(fixed::<1>(b)?[0] != 0)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            ScalarValue::Utf8(Some(text()?))
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            ScalarValue::Binary(Some(b.to_vec()))
        }
        DataType::Date32 | DataType::Date64 => {
            ScalarValue::Date32(Some(i32::from_be_bytes(fixed(b)?) + PG_EPOCH_DAYS))
        }
        DataType::Timestamp(_, tz) => ScalarValue::TimestampMicrosecond(
            Some(i64::from_be_bytes(fixed(b)?) + PG_EPOCH_MICROS),
            tz.clone(),
        ),
        DataType::Time64(_) | DataType::Time32(_) => {
            ScalarValue::Time64Microsecond(Some(i64::from_be_bytes(fixed(b)?)))
        }
        DataType::Decimal128(..) | DataType::Decimal256(..) => {
            ScalarValue::Utf8(Some(numeric_text(b)?))
        }
        other => {
            return Err(format!(
                "columns of type {other} cannot be copied in binary"
            ))
        }
    };
    // The column's own type (a numeric's text, an int8 into an int4 column).
    v.cast_to(t).map_err(|e| e.to_string())
}

/// PostgreSQL's binary numeric as text: ndigits, weight, sign, dscale, base-10000 digits.
pub fn numeric_text(b: &[u8]) -> std::result::Result<String, String> {
    let word = |i: usize| -> std::result::Result<u16, String> {
        b.get(i..i + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
            .ok_or_else(|| "truncated numeric".to_string())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i32;
    let sign = word(4)?;
    let dscale = word(6)? as usize;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        0x0000 | 0x4000 => {}
        _ => return Err("bad numeric sign".into()),
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<std::result::Result<_, _>>()?;
    let mut int_part = String::new();
    let mut frac_part = String::new();
    for (i, d) in digits.iter().enumerate() {
        let position = weight - i as i32;
        if position >= 0 {
            if int_part.is_empty() {
                int_part.push_str(&d.to_string());
            } else {
                int_part.push_str(&format!("{d:04}"));
            }
        } else {
            frac_part.push_str(&format!("{d:04}"));
        }
    }
    // Groups of zeros between the last digit and the decimal point.
    let last_position = weight - ndigits as i32 + 1;
    if last_position > 0 && !int_part.is_empty() {
        int_part.push_str(&"0000".repeat(last_position as usize));
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    if weight < -1 {
        frac_part = format!("{}{frac_part}", "0000".repeat((-weight - 1) as usize));
    }
    frac_part.truncate(dscale.min(frac_part.len()));
    while frac_part.len() < dscale {
        frac_part.push('0');
    }
    let sign = if sign == 0x4000 { "-" } else { "" };
    Ok(if dscale > 0 {
        format!("{sign}{int_part}.{frac_part}")
    } else {
        format!("{sign}{int_part}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b
    }

    #[test]
    fn binary_numerics_read_as_postgresql_writes_them() {
        assert_eq!(
            numeric_text(&numeric(2, 0, 0, 2, &[123, 4500])).as_deref(),
            Ok("123.45")
        );
        assert_eq!(
            numeric_text(&numeric(1, 1, 0x4000, 0, &[2])).as_deref(),
            Ok("-20000")
        );
        assert_eq!(
            numeric_text(&numeric(1, -2, 0, 8, &[12])).as_deref(),
            Ok("0.00000012")
        );
        assert_eq!(numeric_text(&numeric(0, 0, 0, 0, &[])).as_deref(), Ok("0"));
        assert_eq!(
            numeric_text(&numeric(0, 0, 0xC000, 0, &[])).as_deref(),
            Ok("NaN")
        );
    }

    /// What we write reads back: header, rows with a NULL, trailer.
    #[test]
    fn binary_copy_round_trips() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None])),
                Arc::new(StringArray::from(vec![Some("a"), Some("é")])),
            ],
        )
        .expect("batch");
        let mut bytes = header();
        for row in encode(&batch).expect("encode") {
            bytes.extend(row);
        }
        bytes.extend(trailer());
        let back = decode(
            &bytes,
            schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect::<Vec<_>>()
                .as_slice(),
        )
        .expect("decode");
        assert_eq!(back.num_rows(), 2);
        assert_eq!(back.column(0).as_ref(), batch.column(0).as_ref());
        assert_eq!(back.column(1).as_ref(), batch.column(1).as_ref());
        assert!(decode(b"PGCOPY\n", &[]).is_err());
        let short = &bytes[..bytes.len() - 3];
        assert!(decode(
            short,
            schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect::<Vec<_>>()
                .as_slice()
        )
        .is_err());
    }
}

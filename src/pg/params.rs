//! Bound parameters: each value decoded by the type the client sent it as (text, or binary by
//! the type it declared at Parse), then converted to the type the statement needs, as
//! PostgreSQL converts an int8 bound to a numeric column. A value that does not convert is
//! 22P02; a binary value of the wrong length 22P03.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::statement::copy_binary::numeric_text;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use pgwire::api::portal::Portal;
use pgwire::api::Type;
use std::sync::Arc;

/// The values of a portal's parameters, typed as `needed` says where it says.
pub fn decode<S>(portal: &Portal<S>, needed: &[Option<DataType>]) -> Result<Vec<ScalarValue>> {
    let declared = &portal.statement.parameter_types;
    let mut out = Vec::with_capacity(portal.parameters.len());
    for (i, value) in portal.parameters.iter().enumerate() {
        let target = needed.get(i).cloned().flatten();
        let declared = declared
            .get(i)
            .cloned()
            .flatten()
            .filter(|t| *t != Type::UNKNOWN);
        let scalar = match value {
            None => null_of(target.as_ref()),
            Some(bytes) if portal.parameter_format.is_text(i) => {
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    CipError::invalid(
                        sqlstate::CHARACTER_NOT_IN_REPERTOIRE,
                        format!("parameter ${} is not valid UTF-8", i + 1),
                    )
                })?;
                ScalarValue::Utf8(Some(text.to_string()))
            }
            Some(bytes) => {
                let ty = declared
                    .clone()
                    .or_else(|| target.as_ref().and_then(wire_type))
                    .ok_or_else(|| {
                        CipError::invalid(
                            sqlstate::PROTOCOL_VIOLATION,
                            format!(
                                "parameter ${} is binary but its type is unknown; \
                                 declare it at Parse or send it as text",
                                i + 1
                            ),
                        )
                    })?;
                binary(&ty, bytes).map_err(|why| {
                    CipError::invalid(
                        sqlstate::INVALID_BINARY_REPRESENTATION,
                        format!("parameter ${} ({}): {why}", i + 1, ty.name()),
                    )
                })?
            }
        };
        out.push(convert(scalar, target.as_ref(), i)?);
    }
    Ok(out)
}

fn null_of(target: Option<&DataType>) -> ScalarValue {
    target
        .and_then(|t| ScalarValue::try_from(t).ok())
        .unwrap_or(ScalarValue::Utf8(None))
}

/// `value` as the type the statement needs, when it says.
fn convert(value: ScalarValue, target: Option<&DataType>, i: usize) -> Result<ScalarValue> {
    let Some(target) = target else {
        return Ok(value);
    };
    if value.data_type() == *target || matches!(target, DataType::Null) {
        return Ok(value);
    }
    let text = match &value {
        ScalarValue::Utf8(Some(s)) => Some(s.clone()),
        _ => None,
    };
    // PostgreSQL's text forms arrow does not parse: booleans' t / f / on / off.
    if let (DataType::Boolean, Some(s)) = (target, &text) {
        return match s.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "on" | "yes" | "y" | "1" => Ok(ScalarValue::Boolean(Some(true))),
            "f" | "false" | "off" | "no" | "n" | "0" => Ok(ScalarValue::Boolean(Some(false))),
            _ => Err(bad_value(i, s, target)),
        };
    }
    value.cast_to(target).map_err(|_| match &text {
        Some(s) => bad_value(i, s, target),
        None => CipError::invalid(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!(
                "parameter ${}: {value} cannot be converted to {target}",
                i + 1
            ),
        ),
    })
}

fn bad_value(i: usize, text: &str, target: &DataType) -> CipError {
    CipError::invalid(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!(
            "invalid input for parameter ${} of type {target}: {text:?}",
            i + 1
        ),
    )
}

/// The PostgreSQL type of a parameter cast to `name` where DataFusion's type of it stands for
/// several of PostgreSQL's: the catalogs' identifier types.
pub fn written(name: &str) -> Option<Type> {
    Some(match name {
        "oid" => Type::OID,
        "oid[]" => Type::OID_ARRAY,
        "name" => Type::NAME,
        "name[]" => Type::NAME_ARRAY,
        "regclass" => Type::REGCLASS,
        "regtype" => Type::REGTYPE,
        "regproc" => Type::REGPROC,
        "\"char\"" => Type::CHAR,
        _ => return None,
    })
}

/// The PostgreSQL type a binary parameter of `t` is sent as.
fn wire_type(t: &DataType) -> Option<Type> {
    datafusion_postgres::arrow_pg::datatypes::into_pg_type(t).ok()
}

/// Microseconds from the Unix epoch to PostgreSQL's, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

fn fixed<const N: usize>(b: &[u8]) -> std::result::Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", b.len()))
}

/// A value in PostgreSQL's binary format.
fn binary(ty: &Type, b: &[u8]) -> std::result::Result<ScalarValue, String> {
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(|s| ScalarValue::Utf8(Some(s.to_string())))
            .map_err(|_| "not UTF-8".to_string())
    };
    Ok(match *ty {
        Type::BOOL => ScalarValue::Boolean(Some(fixed::<1>(b)?[0] != 0)),
        Type::INT2 => ScalarValue::Int16(Some(i16::from_be_bytes(fixed(b)?))),
        Type::INT4 => ScalarValue::Int32(Some(i32::from_be_bytes(fixed(b)?))),
        Type::INT8 => ScalarValue::Int64(Some(i64::from_be_bytes(fixed(b)?))),
        Type::OID => ScalarValue::Int64(Some(i64::from(u32::from_be_bytes(fixed(b)?)))),
        Type::FLOAT4 => ScalarValue::Float32(Some(f32::from_be_bytes(fixed(b)?))),
        Type::FLOAT8 => ScalarValue::Float64(Some(f64::from_be_bytes(fixed(b)?))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::XML => text(b)?,
        Type::JSONB => match b.split_first() {
            Some((1, rest)) => text(rest)?,
            _ => return Err("unknown jsonb version".into()),
        },
        Type::BYTEA => ScalarValue::Binary(Some(b.to_vec())),
        Type::NUMERIC => ScalarValue::Utf8(Some(numeric_text(b)?)),
        Type::DATE => ScalarValue::Date32(Some(i32::from_be_bytes(fixed(b)?) + PG_EPOCH_DAYS)),
        Type::TIMESTAMP => ScalarValue::TimestampMicrosecond(
            Some(i64::from_be_bytes(fixed(b)?) + PG_EPOCH_MICROS),
            None,
        ),
        Type::TIMESTAMPTZ => ScalarValue::TimestampMicrosecond(
            Some(i64::from_be_bytes(fixed(b)?) + PG_EPOCH_MICROS),
            Some(Arc::from("UTC")),
        ),
        Type::TIME => ScalarValue::Time64Microsecond(Some(i64::from_be_bytes(fixed(b)?))),
        Type::UUID => {
            let u = fixed::<16>(b)?;
            let hex: String = u.iter().map(|x| format!("{x:02x}")).collect();
            ScalarValue::Utf8(Some(format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )))
        }
        Type::INT2_ARRAY
        | Type::INT4_ARRAY
        | Type::INT8_ARRAY
        | Type::TEXT_ARRAY
        | Type::VARCHAR_ARRAY
        | Type::FLOAT8_ARRAY
        | Type::FLOAT4_ARRAY
        | Type::BOOL_ARRAY
        | Type::OID_ARRAY
        | Type::NAME_ARRAY => array(ty, b)?,
        Type::REGCLASS | Type::REGTYPE | Type::REGPROC => {
            ScalarValue::Int64(Some(i64::from(u32::from_be_bytes(fixed(b)?))))
        }
        Type::CHAR => text(b)?,
        _ => return Err("this type cannot be sent in binary; send it as text".into()),
    })
}

/// A one-dimensional array in PostgreSQL's binary format.
fn array(ty: &Type, b: &[u8]) -> std::result::Result<ScalarValue, String> {
    let int = |i: usize| -> std::result::Result<i32, String> {
        b.get(i..i + 4)
            .map(|w| i32::from_be_bytes([w[0], w[1], w[2], w[3]]))
            .ok_or_else(|| "truncated array".to_string())
    };
    let ndim = int(0)?;
    let element = match *ty {
        Type::INT2_ARRAY => Type::INT2,
        Type::INT4_ARRAY => Type::INT4,
        Type::INT8_ARRAY => Type::INT8,
        Type::FLOAT4_ARRAY => Type::FLOAT4,
        Type::FLOAT8_ARRAY => Type::FLOAT8,
        Type::BOOL_ARRAY => Type::BOOL,
        Type::OID_ARRAY => Type::OID,
        _ => Type::TEXT,
    };
    let (items, mut pos) = match ndim {
        0 => (0usize, 12usize),
        1 => (int(12)?.max(0) as usize, 20usize),
        _ => return Err("only one-dimensional arrays are supported".into()),
    };
    let mut values = Vec::with_capacity(items);
    for _ in 0..items {
        let len = int(pos)?;
        pos += 4;
        if len < 0 {
            values.push(None);
            continue;
        }
        let end = pos + len as usize;
        let bytes = b.get(pos..end).ok_or("truncated array element")?;
        values.push(Some(binary(&element, bytes)?));
        pos = end;
    }
    let element_type = match element {
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 | Type::OID => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::BOOL => DataType::Boolean,
        _ => DataType::Utf8,
    };
    let scalars: Vec<ScalarValue> = values
        .into_iter()
        .map(|v| match v {
            Some(s) => s,
            None => ScalarValue::try_from(&element_type).unwrap_or(ScalarValue::Null),
        })
        .collect();
    Ok(ScalarValue::List(ScalarValue::new_list_nullable(
        &scalars,
        &element_type,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_convert_to_what_the_statement_needs() {
        let dec = DataType::Decimal128(10, 2);
        let v = convert(ScalarValue::Int64(Some(100)), Some(&dec), 0).expect("int to numeric");
        assert_eq!(v, ScalarValue::Decimal128(Some(10000), 10, 2));
        let v = convert(
            ScalarValue::Utf8(Some("t".into())),
            Some(&DataType::Boolean),
            0,
        )
        .expect("t");
        assert_eq!(v, ScalarValue::Boolean(Some(true)));
        let e = convert(
            ScalarValue::Utf8(Some("abc".into())),
            Some(&DataType::Int64),
            0,
        )
        .expect_err("not a number");
        assert_eq!(e.sqlstate(), "22P02");
        assert_eq!(
            binary(&Type::INT4, &[0, 1]).expect_err("short"),
            "expected 4 bytes, got 2"
        );
    }
}

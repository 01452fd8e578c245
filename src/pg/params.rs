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
/// `described(i)`: the type parameter i was described with where its DataFusion type does not
/// tell it (a uuid is Utf8).
pub fn decode<S>(
    portal: &Portal<S>,
    needed: &[Option<DataType>],
    described: &dyn Fn(usize) -> Option<Type>,
) -> Result<Vec<ScalarValue>> {
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
                    .or_else(|| described(i))
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
    // PostgreSQL's text forms arrow does not parse: an array's {a,b,"c d",NULL} and
    // booleans' t / f / on / off.
    if let (DataType::List(item), Some(s)) = (target, &text) {
        let elements = text_array(s).ok_or_else(|| bad_value(i, s, target))?;
        let scalars = elements
            .into_iter()
            .map(|e| convert(ScalarValue::Utf8(e), Some(item.data_type()), i))
            .collect::<Result<Vec<_>>>()?;
        return Ok(ScalarValue::List(ScalarValue::new_list_nullable(
            &scalars,
            item.data_type(),
        )));
    }
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

/// The elements of a one-dimensional array in PostgreSQL's text form: `{a, "b c", NULL}`
/// (quoted elements may hold commas, braces and backslash escapes; an unquoted NULL is
/// none). None if it is not one.
fn text_array(s: &str) -> Option<Vec<Option<String>>> {
    let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.trim().is_empty() {
        return Some(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let element = if chars.next_if_eq(&'"').is_some() {
            let mut e = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => e.push(chars.next()?),
                    c => e.push(c),
                }
            }
            Some(e)
        } else {
            let mut e = String::new();
            while let Some(c) = chars.next_if(|c| *c != ',') {
                if matches!(c, '{' | '}' | '"') {
                    return None;
                }
                e.push(c);
            }
            let e = e.trim().to_string();
            if e.is_empty() {
                return None;
            }
            (!e.eq_ignore_ascii_case("NULL")).then_some(e)
        };
        out.push(element);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => return Some(out),
            Some(',') => continue,
            Some(_) => return None,
        }
    }
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
        "regprocedure" => Type::REGPROCEDURE,
        "regnamespace" => Type::REGNAMESPACE,
        "regrole" => Type::REGROLE,
        "\"char\"" => Type::CHAR,
        "uuid" => Type::UUID,
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

    #[test]
    fn arrays_in_text_form_convert_to_lists() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            text_array(r#"{r, v,"a,b","q\"x",NULL,"NULL"}"#),
            Some(vec![s("r"), s("v"), s("a,b"), s("q\"x"), None, s("NULL")])
        );
        assert_eq!(text_array("{}"), Some(vec![]));
        for bad in ["r,v", "{a,,b}", "{{1,2}}", "{\"open}", "{a} x"] {
            assert_eq!(text_array(bad), None, "{bad}");
        }
        let ints = DataType::new_list(DataType::Int64, true);
        let v = convert(ScalarValue::Utf8(s("{1,2,NULL}")), Some(&ints), 0).expect("int list");
        assert_eq!(
            v,
            ScalarValue::List(ScalarValue::new_list_nullable(
                &[
                    ScalarValue::Int64(Some(1)),
                    ScalarValue::Int64(Some(2)),
                    ScalarValue::Int64(None)
                ],
                &DataType::Int64
            ))
        );
        let e = convert(ScalarValue::Utf8(s("{1,x}")), Some(&ints), 0).expect_err("x");
        assert_eq!(e.sqlstate(), "22P02");
    }
}

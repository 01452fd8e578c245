//! PostgreSQL column types Arrow has no type of its own for, kept as Utf8 with an extension
//! name in the field's metadata: `uuid`, `varchar(n)` / `character varying` and `char(n)`.
//! ORMs declare them on every table they create (Sequelize's UUID and STRING, knex's
//! `uuid()` and `string()`, SQLAlchemy's `Uuid` and `String(n)`) and read them back from the
//! catalog to compare with their models; DataFusion refused `uuid` and kept `varchar(20)` as
//! text, so the length was neither enforced nor reported.
//!
//! A value is made to fit its column when it is written (every write path of storage calls
//! [`conform`]): a uuid is checked and kept in PostgreSQL's output form (lower case, hyphens),
//! so equal uuids compare equal as text; a `varchar(n)` longer than n is 22001 unless only
//! spaces are past n (cut, as PostgreSQL does on assignment); a `char(n)` is padded to n.
//! Casts drop the extension, as `name`'s (catalog/name_type.rs): `id::text` is text.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::array::{ArrayRef, AsArray, BinaryArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use std::sync::Arc;

/// Arrow's metadata keys of an extension type (arrow_schema's, not re-exported by `arrow`).
const EXTENSION_NAME: &str = "ARROW:extension:name";
const EXTENSION_METADATA: &str = "ARROW:extension:metadata";

const UUID: &str = "cip.uuid";
const VARCHAR: &str = "cip.varchar";
const BPCHAR: &str = "cip.bpchar";

/// PostgreSQL's OIDs of the types.
pub const UUID_OID: i32 = 2950;
pub const VARCHAR_OID: i32 = 1043;
pub const BPCHAR_OID: i32 = 1042;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Uuid,
    /// `varchar(n)`, or `varchar` without a length.
    Varchar(Option<u32>),
    /// `char(n)` (`char` alone is `char(1)`).
    Bpchar(u32),
}

impl ColumnType {
    /// The type `field` was declared with; None for a field of Arrow's own type.
    pub fn of(field: &Field) -> Option<ColumnType> {
        if !matches!(
            field.data_type(),
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
        ) {
            return None;
        }
        let length = || field.metadata().get(EXTENSION_METADATA)?.parse().ok();
        match field.metadata().get(EXTENSION_NAME)?.as_str() {
            UUID => Some(ColumnType::Uuid),
            VARCHAR => Some(ColumnType::Varchar(length())),
            BPCHAR => Some(ColumnType::Bpchar(length().unwrap_or(1))),
            _ => None,
        }
    }

    /// `field` (Utf8) declared as this type.
    pub fn tag(self, field: Field) -> Field {
        let mut metadata = field.metadata().clone();
        let (name, length) = match self {
            ColumnType::Uuid => (UUID, None),
            ColumnType::Varchar(n) => (VARCHAR, n),
            ColumnType::Bpchar(n) => (BPCHAR, Some(n)),
        };
        metadata.insert(EXTENSION_NAME.to_string(), name.to_string());
        match length {
            Some(n) => metadata.insert(EXTENSION_METADATA.to_string(), n.to_string()),
            None => metadata.remove(EXTENSION_METADATA),
        };
        field.with_data_type(DataType::Utf8).with_metadata(metadata)
    }

    /// PostgreSQL's typlen: 16 bytes for a uuid, variable (-1) for text.
    pub fn length(self) -> i16 {
        match self {
            ColumnType::Uuid => 16,
            ColumnType::Varchar(_) | ColumnType::Bpchar(_) => -1,
        }
    }

    pub fn oid(self) -> i32 {
        match self {
            ColumnType::Uuid => UUID_OID,
            ColumnType::Varchar(_) => VARCHAR_OID,
            ColumnType::Bpchar(_) => BPCHAR_OID,
        }
    }

    /// pg_attribute.atttypmod: the length plus the four bytes of a varlena header, or -1.
    pub fn typmod(self) -> i32 {
        match self {
            ColumnType::Varchar(Some(n)) | ColumnType::Bpchar(n) => {
                i32::try_from(n).map_or(-1, |n| n.saturating_add(4))
            }
            _ => -1,
        }
    }

    /// The type as PostgreSQL's format_type prints it.
    pub fn sql_name(self) -> String {
        match self {
            ColumnType::Uuid => "uuid".into(),
            ColumnType::Varchar(None) => "character varying".into(),
            ColumnType::Varchar(Some(n)) => format!("character varying({n})"),
            ColumnType::Bpchar(n) => format!("character({n})"),
        }
    }

    /// `value` as this type stores it, or PostgreSQL's error for it.
    pub fn conformed(self, value: &str) -> Result<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            ColumnType::Uuid => match uuid_text(value) {
                Some(u) if u == value => Ok(Cow::Borrowed(value)),
                Some(u) => Ok(Cow::Owned(u)),
                None => Err(bad_uuid(value)),
            },
            ColumnType::Varchar(None) => Ok(Cow::Borrowed(value)),
            ColumnType::Varchar(Some(n)) => fitted(value, n, "character varying"),
            ColumnType::Bpchar(n) => {
                let fitted = fitted(value, n, "character")?;
                let short = (n as usize).saturating_sub(fitted.chars().count());
                Ok(match short {
                    0 => fitted,
                    _ => Cow::Owned(format!("{fitted}{}", " ".repeat(short))),
                })
            }
        }
    }
}

fn bad_uuid(value: &str) -> CipError {
    CipError::invalid(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type uuid: \"{value}\""),
    )
}

/// `value` cut to `n` characters when only spaces are past them; 22001 when others are.
fn fitted<'a>(value: &'a str, n: u32, type_name: &str) -> Result<std::borrow::Cow<'a, str>> {
    let Some((cut, _)) = value.char_indices().nth(n as usize) else {
        return Ok(std::borrow::Cow::Borrowed(value));
    };
    if value[cut..].chars().all(|c| c == ' ') {
        return Ok(std::borrow::Cow::Borrowed(&value[..cut]));
    }
    Err(CipError::invalid(
        sqlstate::STRING_DATA_RIGHT_TRUNCATION,
        format!("value too long for type {type_name}({n})"),
    ))
}

/// The 16 bytes of a uuid in PostgreSQL's input forms: 32 hex digits, upper or lower case, a
/// hyphen allowed after any group of four, the whole optionally in braces.
pub fn uuid_bytes(text: &str) -> Option<[u8; 16]> {
    let inner = match text.strip_prefix('{') {
        Some(rest) => rest.strip_suffix('}')?,
        None => text,
    };
    let mut digits = inner.bytes().peekable();
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        let hi = (digits.next()? as char).to_digit(16)?;
        let lo = (digits.next()? as char).to_digit(16)?;
        *byte = (hi * 16 + lo) as u8;
        // After every second byte but the last, one hyphen may follow.
        if i % 2 == 1 && i < 15 && digits.peek() == Some(&b'-') {
            digits.next();
        }
    }
    digits.next().is_none().then_some(out)
}

/// `bytes` in PostgreSQL's output form.
pub fn uuid_string(bytes: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `text` as a uuid in PostgreSQL's output form; None when it is not one.
pub fn uuid_text(text: &str) -> Option<String> {
    uuid_bytes(text).map(|b| uuid_string(&b))
}

/// `column` (a uuid or text column) with a new random uuid in place of each NULL.
pub fn random_uuids_in(column: &ArrayRef) -> Result<ArrayRef> {
    let text = cast(column, &DataType::Utf8)?;
    let mut rng = rand::rng();
    let filled: StringArray = (text.as_string::<i32>().iter())
        .map(|v| Some(v.map_or_else(|| random_uuid(&mut rng), str::to_string)))
        .collect();
    Ok(Arc::new(filled))
}

/// A random (version 4) uuid, as gen_random_uuid() makes one.
pub fn random_uuid(rng: &mut impl rand::RngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    // RFC 9562: version 4, variant 10.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid_string(&b)
}

/// `batch` (of `schema`) with the values of its declared-type columns made to fit them.
pub fn conform(schema: &SchemaRef, batch: RecordBatch) -> Result<RecordBatch> {
    let declared: Vec<(usize, ColumnType)> = schema
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| Some((i, ColumnType::of(f)?)))
        .collect();
    if declared.is_empty() {
        return Ok(batch);
    }
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (i, ty) in declared {
        if let Some(changed) = conformed_column(&columns[i], ty)? {
            columns[i] = changed;
        }
    }
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// `column`'s values fitted to `ty`; None when every value fits as it is.
fn conformed_column(column: &ArrayRef, ty: ColumnType) -> Result<Option<ArrayRef>> {
    let Some(values) = column.as_string_opt::<i32>() else {
        return Ok(None);
    };
    let mut fitted: Vec<Option<String>> = Vec::new();
    let mut changed = false;
    for (row, v) in values.iter().enumerate() {
        let Some(v) = v else {
            if changed {
                fitted.push(None);
            }
            continue;
        };
        let c = ty.conformed(v)?;
        if !changed {
            if c == v {
                continue;
            }
            changed = true;
            fitted.extend(values.iter().take(row).map(|v| v.map(str::to_string)));
        }
        fitted.push(Some(c.into_owned()));
    }
    Ok(changed.then(|| Arc::new(StringArray::from(fitted)) as ArrayRef))
}

/// `batch` with its uuid columns that `binary(i)` says go in binary as their 16 bytes
/// (PostgreSQL's binary form of a uuid; the text form is the stored text).
pub fn uuids_as_bytes(batch: RecordBatch, binary: impl Fn(usize) -> bool) -> Result<RecordBatch> {
    let schema = batch.schema();
    let uuids: Vec<usize> = (0..schema.fields().len())
        .filter(|&i| binary(i) && ColumnType::of(schema.field(i)) == Some(ColumnType::Uuid))
        .collect();
    if uuids.is_empty() {
        return Ok(batch);
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns = batch.columns().to_vec();
    for i in uuids {
        let text = cast(&columns[i], &DataType::Utf8)?;
        let bytes = (text.as_string::<i32>().iter())
            .map(|v| {
                v.map(|v| uuid_bytes(v).ok_or_else(|| bad_uuid(v)))
                    .transpose()
            })
            .collect::<Result<Vec<Option<[u8; 16]>>>>()?;
        let bytes: BinaryArray = bytes.iter().map(|b| b.as_ref().map(|b| &b[..])).collect();
        columns[i] = Arc::new(bytes);
        fields[i] = Field::new(fields[i].name(), DataType::Binary, fields[i].is_nullable());
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_read_in_postgresql_forms() {
        let canonical = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        for form in [
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
            canonical,
        ] {
            assert_eq!(uuid_text(form).as_deref(), Some(canonical), "{form}");
        }
        for bad in [
            "",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
            "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
            "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ] {
            assert_eq!(uuid_text(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_are_fitted_to_their_columns() {
        let fields = vec![
            ColumnType::Uuid.tag(Field::new("u", DataType::Utf8, true)),
            ColumnType::Varchar(Some(3)).tag(Field::new("v", DataType::Utf8, true)),
            ColumnType::Bpchar(3).tag(Field::new("c", DataType::Utf8, true)),
            Field::new("t", DataType::Utf8, true),
        ];
        let schema = Arc::new(Schema::new(fields));
        let column = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                column(vec![None, Some("{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}")]),
                column(vec![Some("abc  "), None]),
                column(vec![Some("é"), Some("xyz")]),
                column(vec![Some("anything at all"), None]),
            ],
        )
        .expect("batch");
        let out = conform(&schema, batch).expect("fits");
        let text = |i: usize| -> Vec<Option<String>> {
            let c = out.column(i).as_string::<i32>();
            c.iter().map(|v| v.map(str::to_string)).collect()
        };
        assert_eq!(
            text(0),
            [None, Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".into())]
        );
        assert_eq!(text(1), [Some("abc".into()), None]);
        assert_eq!(text(2), [Some("é  ".into()), Some("xyz".into())]);
        assert_eq!(text(3)[0].as_deref(), Some("anything at all"));
        assert_eq!(
            ColumnType::of(out.schema().field(1)),
            Some(ColumnType::Varchar(Some(3)))
        );

        let too_long = RecordBatch::try_new(
            schema.clone(),
            vec![
                column(vec![None]),
                column(vec![Some("abcd")]),
                column(vec![None]),
                column(vec![None]),
            ],
        )
        .expect("batch");
        let e = conform(&schema, too_long).expect_err("too long");
        assert_eq!(e.sqlstate(), "22001");
        let bad = RecordBatch::try_new(
            schema.clone(),
            vec![
                column(vec![Some("nope")]),
                column(vec![None]),
                column(vec![None]),
                column(vec![None]),
            ],
        )
        .expect("batch");
        assert_eq!(conform(&schema, bad).expect_err("bad").sqlstate(), "22P02");
    }

    #[test]
    fn modifiers_are_printed_and_counted_as_postgresql_does() {
        assert_eq!(ColumnType::Varchar(Some(20)).typmod(), 24);
        assert_eq!(ColumnType::Varchar(None).typmod(), -1);
        assert_eq!(ColumnType::Uuid.typmod(), -1);
        assert_eq!(ColumnType::Bpchar(5).sql_name(), "character(5)");
        assert_eq!(ColumnType::Varchar(None).sql_name(), "character varying");
    }
}

//! `pg_char_to_encoding(name)`: an encoding's number, as PostgreSQL numbers them (-1 for a
//! name it does not know), and `pg_encoding_to_char(number)`, its name ('' for none). psql's
//! `\dO` lists the collations usable with `pg_char_to_encoding(getdatabaseencoding())`;
//! datafusion-pg-catalog had only the second, answering 'UTF-8' where PostgreSQL says
//! 'UTF8' (the name `getdatabaseencoding()` gives). Names are matched as PostgreSQL matches
//! them: case and punctuation aside (`utf-8`, `Latin-1`), with its common aliases.

use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::{Array, Int32Array, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::{Arc, LazyLock};

/// PostgreSQL's encodings, by number.
const ENCODINGS: &[&str] = &[
    "SQL_ASCII",
    "EUC_JP",
    "EUC_CN",
    "EUC_KR",
    "EUC_TW",
    "EUC_JIS_2004",
    "UTF8",
    "MULE_INTERNAL",
    "LATIN1",
    "LATIN2",
    "LATIN3",
    "LATIN4",
    "LATIN5",
    "LATIN6",
    "LATIN7",
    "LATIN8",
    "LATIN9",
    "LATIN10",
    "WIN1256",
    "WIN1258",
    "WIN866",
    "WIN874",
    "KOI8R",
    "WIN1251",
    "WIN1252",
    "ISO_8859_5",
    "ISO_8859_6",
    "ISO_8859_7",
    "ISO_8859_8",
    "WIN1250",
    "WIN1253",
    "WIN1254",
    "WIN1255",
    "WIN1257",
    "KOI8U",
    "SJIS",
    "BIG5",
    "GBK",
    "UHC",
    "GB18030",
    "JOHAB",
    "SHIFT_JIS_2004",
];

/// Other names PostgreSQL accepts, cleaned as `clean` cleans them.
const ALIASES: &[(&str, &str)] = &[
    ("unicode", "UTF8"),
    ("win", "WIN1251"),
    ("koi8", "KOI8R"),
    ("shiftjis", "SJIS"),
    ("iso88591", "LATIN1"),
    ("iso88592", "LATIN2"),
    ("iso88599", "LATIN5"),
    ("iso885915", "LATIN9"),
    ("windows1251", "WIN1251"),
    ("windows1252", "WIN1252"),
    ("windows936", "GBK"),
    ("windows949", "UHC"),
    ("windows950", "BIG5"),
];

/// A name as PostgreSQL compares encoding names: lower case, letters and digits only.
fn clean(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The number of the encoding `name`, -1 when there is none.
pub fn encoding_number(name: &str) -> i32 {
    let wanted = clean(name);
    let canonical = ALIASES
        .iter()
        .find(|(alias, _)| *alias == wanted)
        .map(|(_, c)| clean(c))
        .unwrap_or(wanted);
    ENCODINGS
        .iter()
        .position(|e| clean(e) == canonical)
        .and_then(|i| i32::try_from(i).ok())
        .unwrap_or(-1)
}

/// The name of encoding `number`, '' when there is none.
pub fn encoding_name(number: i64) -> &'static str {
    usize::try_from(number)
        .ok()
        .and_then(|i| ENCODINGS.get(i))
        .copied()
        .unwrap_or("")
}

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(CharToEncoding {
        signature: Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
    }));
    ctx.register_udf(ScalarUDF::from(EncodingToChar {
        signature: Signature::uniform(
            1,
            vec![DataType::Int32, DataType::Int64],
            Volatility::Immutable,
        ),
    }));
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct EncodingToChar {
    signature: Signature,
}

impl ScalarUDFImpl for EncodingToChar {
    fn name(&self) -> &str {
        "pg_encoding_to_char"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [number] = args.args.as_slice() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "pg_encoding_to_char takes an encoding's number",
            ));
        };
        let numbers = cast(&number.to_array(rows)?, &DataType::Int64)?;
        let Some(numbers) = numbers.as_any().downcast_ref::<Int64Array>() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "pg_encoding_to_char takes an integer",
            ));
        };
        let out: StringArray = numbers.iter().map(|n| n.map(encoding_name)).collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&NAME_DOC)
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CharToEncoding {
    signature: Signature,
}

impl ScalarUDFImpl for CharToEncoding {
    fn name(&self) -> &str {
        "pg_char_to_encoding"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [name] = args.args.as_slice() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "pg_char_to_encoding takes an encoding's name",
            ));
        };
        let names = super::like_escape::texts(name, rows)?;
        let out: Int32Array = (0..rows)
            .map(|row| (!names.is_null(row)).then(|| encoding_number(names.value(row))))
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The number PostgreSQL gives the encoding `name` (6 for UTF8), -1 for a name it does \
         not know; case and punctuation do not matter, and PostgreSQL's common aliases \
         (unicode, latin-1, windows-1252, …) are known. NULL gives NULL.",
        "pg_char_to_encoding(name)",
    )
    .with_sql_example("SELECT pg_char_to_encoding('utf-8'); -- 6")
    .with_argument("name", "An encoding's name.")
    .build()
});

static NAME_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The name PostgreSQL gives encoding `number` ('UTF8' for 6), '' for a number it does \
         not use. NULL gives NULL.",
        "pg_encoding_to_char(number)",
    )
    .with_sql_example("SELECT pg_encoding_to_char(6); -- UTF8")
    .with_argument("number", "An encoding's number.")
    .build()
});

#[cfg(test)]
mod tests {
    use super::{encoding_name, encoding_number};

    #[test]
    fn numbers_name_as_postgresql_15_names_them() {
        assert_eq!(encoding_name(6), "UTF8");
        assert_eq!(encoding_name(0), "SQL_ASCII");
        assert_eq!(encoding_name(41), "SHIFT_JIS_2004");
        assert_eq!(encoding_name(42), "");
        assert_eq!(encoding_name(-1), "");
    }

    #[test]
    fn names_and_aliases_as_postgresql_15_numbers_them() {
        // What PostgreSQL 15 answered for the same names.
        for (name, n) in [
            ("UTF8", 6),
            ("utf-8", 6),
            ("unicode", 6),
            ("latin-1", 8),
            ("win", 23),
            ("sjis", 35),
            ("Shift_JIS", 35),
            ("SQL_ASCII", 0),
            ("SHIFT_JIS_2004", 41),
            ("nope", -1),
            ("", -1),
        ] {
            assert_eq!(encoding_number(name), n, "{name}");
        }
    }
}

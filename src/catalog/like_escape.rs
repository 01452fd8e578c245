//! PostgreSQL's `like_escape(pattern, escape)`: a LIKE pattern written with another escape
//! character, rewritten to use the backslash. DataFusion's LIKE knows only the backslash
//! ("LIKE does not support escape_char other than the backslash"), and SQLAlchemy writes
//! `nspname NOT LIKE 'pg/_' || '%' ESCAPE '/'` to list schemas; the rule
//! statement/rules/like_escape.rs turns `x LIKE p ESCAPE 'c'` into
//! `x LIKE like_escape(p, 'c')`, which works for a pattern computed per row too.

use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::{Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_string_array;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "like_escape";

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(LikeEscape {
        signature: Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Immutable),
    }));
}

/// `pattern` with `escape` (at most one character; none when empty) as its escape character,
/// rewritten for the backslash: `escape` + c becomes `\c`, and a backslash that is no escape
/// becomes `\\`.
pub fn like_escape(pattern: &str, escape: &str) -> Result<String> {
    let mut chars = escape.chars();
    let escape = chars.next();
    if chars.next().is_some() {
        return Err(sql_error(
            sqlstate::INVALID_ESCAPE_CHARACTER,
            "invalid escape string: escape string must be empty or one character",
        ));
    }
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut rest = pattern.chars();
    while let Some(c) = rest.next() {
        if Some(c) == escape {
            let Some(next) = rest.next() else {
                return Err(sql_error(
                    sqlstate::INVALID_ESCAPE_SEQUENCE,
                    "LIKE pattern must not end with escape character",
                ));
            };
            out.push('\\');
            out.push(next);
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct LikeEscape {
    signature: Signature,
}

/// A text argument's values (for functions whose signature admits text only).
pub(super) fn texts(value: &ColumnarValue, rows: usize) -> Result<StringArray> {
    Ok(as_string_array(&value.to_array(rows)?)?.clone())
}

impl ScalarUDFImpl for LikeEscape {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [pattern, escape] = args.args.as_slice() else {
            return Err(sql_error(
                sqlstate::UNDEFINED_FUNCTION,
                "like_escape takes a pattern and an escape string",
            ));
        };
        let (pattern, escape) = (texts(pattern, rows)?, texts(escape, rows)?);
        let out = (0..rows)
            .map(|row| {
                if pattern.is_null(row) || escape.is_null(row) {
                    return Ok(None);
                }
                like_escape(pattern.value(row), escape.value(row)).map(Some)
            })
            .collect::<Result<StringArray>>()?;
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&DOC)
    }
}

static DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "A LIKE pattern written with `escape` as its escape character, rewritten to use the \
         backslash (what `x LIKE pattern ESCAPE 'c'` means). An empty escape means none: \
         every backslash is then a literal backslash. NULL gives NULL.",
        "like_escape(pattern, escape)",
    )
    .with_sql_example("SELECT like_escape('pg/_%', '/'); -- pg\\_%")
    .with_argument("pattern", "The LIKE pattern.")
    .with_argument(
        "escape",
        "Its escape character: one character, or '' for none.",
    )
    .build()
});

#[cfg(test)]
mod tests {
    use super::like_escape;

    #[test]
    fn rewrites_a_pattern_for_the_backslash() {
        assert_eq!(like_escape("pg/_%", "/").unwrap(), "pg\\_%");
        assert_eq!(like_escape("a//b", "/").unwrap(), "a\\/b");
        assert_eq!(like_escape("a\\b/%", "/").unwrap(), "a\\\\b\\%");
        assert_eq!(like_escape("a\\_b", "").unwrap(), "a\\\\_b");
        assert_eq!(like_escape("100#%", "#").unwrap(), "100\\%");
        assert_eq!(like_escape("", "/").unwrap(), "");
        assert!(like_escape("ends/", "/").is_err());
        assert!(like_escape("x", "ab").is_err());
    }
}

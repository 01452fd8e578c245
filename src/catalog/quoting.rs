//! PostgreSQL's quoting functions: `quote_ident`, `quote_literal`, `quote_nullable` and
//! `format`. Tools build SQL with them from catalog rows (sqlsmith names every type with
//! `format('%I.%I', …)`, Grafana's query builder quotes with `quote_ident`), so they must
//! quote exactly when PostgreSQL does: datafusion-pg-catalog's `quote_ident` left `Ab`
//! unquoted (it folds to `ab`) and took a name already in quotes as quoted.

use cip_udfs::error::sql_error;
use cip_udfs::sqlstate;
use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

/// Registers the four functions, replacing datafusion-pg-catalog's `quote_ident`.
pub fn register(ctx: &SessionContext) {
    for kind in [Kind::Ident, Kind::Literal, Kind::Nullable, Kind::Format] {
        ctx.register_udf(ScalarUDF::from(Quoting::new(kind)));
    }
}

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Kind {
    Ident,
    Literal,
    Nullable,
    Format,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Quoting {
    kind: Kind,
    signature: Signature,
}

impl Quoting {
    fn new(kind: Kind) -> Self {
        let signature = match kind {
            Kind::Ident => Signature::exact(vec![DataType::Utf8], Volatility::Immutable),
            Kind::Literal | Kind::Nullable => Signature::any(1, Volatility::Immutable),
            Kind::Format => Signature::new(TypeSignature::VariadicAny, Volatility::Stable),
        };
        Quoting { kind, signature }
    }
}

/// The keywords PostgreSQL's quote_ident quotes: every category but unreserved, from the
/// catalog's pg_get_keywords() (PostgreSQL's own list).
static KEYWORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    let mut words = HashSet::new();
    let Ok(tables) = super::static_tables() else {
        return words;
    };
    for batch in tables.pg_get_keywords.data() {
        let (Some(word), Some(code)) = (
            batch.column_by_name("word"),
            batch.column_by_name("catcode"),
        ) else {
            continue;
        };
        let (Ok(word), Ok(code)) = (cast(word, &DataType::Utf8), cast(code, &DataType::Utf8))
        else {
            continue;
        };
        let (Some(word), Some(code)) = (
            word.as_any().downcast_ref::<StringArray>(),
            code.as_any().downcast_ref::<StringArray>(),
        ) else {
            continue;
        };
        for (w, c) in word.iter().zip(code.iter()) {
            if let (Some(w), Some(c)) = (w, c) {
                if c != "U" {
                    words.insert(w.to_string());
                }
            }
        }
    }
    words
});

/// `name` as an identifier: unchanged when it is lower case letters, digits and underscores
/// not starting with a digit, and not a keyword; else in double quotes, inner ones doubled.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !KEYWORDS.contains(name) {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `text` as a string literal; with a backslash in it, an E'' literal with backslashes
/// doubled (PostgreSQL's quote_literal).
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// The values as PostgreSQL's text output writes them: Arrow's text, except that booleans
/// are t / f and timestamps have a space before the time.
fn strings(array: &ArrayRef) -> Result<StringArray> {
    let text = cast(array, &DataType::Utf8)?;
    let text = text
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| sql_error(sqlstate::INTERNAL_ERROR, "text cast gave no strings"))?;
    let fix: fn(&str) -> String = match array.data_type() {
        DataType::Boolean => |s| if s == "true" { "t" } else { "f" }.to_string(),
        DataType::Timestamp(_, None) => |s| s.replacen('T', " ", 1),
        _ => return Ok(text.clone()),
    };
    Ok(text.iter().map(|s| s.map(fix)).collect())
}

impl ScalarUDFImpl for Quoting {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Ident => "quote_ident",
            Kind::Literal => "quote_literal",
            Kind::Nullable => "quote_nullable",
            Kind::Format => "format",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let texts = arrays.iter().map(strings).collect::<Result<Vec<_>>>()?;
        let out: StringArray = match self.kind {
            Kind::Format => {
                let mut out = Vec::with_capacity(rows);
                for row in 0..rows {
                    let values: Vec<Option<&str>> = texts
                        .iter()
                        .map(|t| (!t.is_null(row)).then(|| t.value(row)))
                        .collect();
                    out.push(match values.split_first() {
                        Some((Some(pattern), rest)) => {
                            Some(super::format_pattern::format(pattern, rest)?)
                        }
                        _ => None,
                    });
                }
                out.into_iter().collect()
            }
            Kind::Ident => texts[0].iter().map(|s| s.map(quote_ident)).collect(),
            Kind::Literal => texts[0].iter().map(|s| s.map(quote_literal)).collect(),
            Kind::Nullable => texts[0]
                .iter()
                .map(|s| Some(s.map_or_else(|| "NULL".to_string(), quote_literal)))
                .collect(),
        };
        Ok(ColumnarValue::Array(Arc::new(out)))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.kind {
            Kind::Ident => &IDENT_DOC,
            Kind::Literal => &LITERAL_DOC,
            Kind::Nullable => &NULLABLE_DOC,
            Kind::Format => &FORMAT_DOC,
        })
    }
}

static IDENT_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The name as an SQL identifier, in double quotes only where PostgreSQL needs them \
         (upper case, spaces or other characters, a leading digit, a reserved word).",
        "quote_ident(name)",
    )
    .with_sql_example(
        "SELECT quote_ident('Spend'), quote_ident('select'); -- \"Spend\", \"select\"",
    )
    .with_argument("name", "Text.")
    .build()
});

static LITERAL_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "The value's text as an SQL string literal (quotes doubled; E'' with backslashes \
         doubled where it holds one). NULL gives NULL.",
        "quote_literal(value)",
    )
    .with_sql_example("SELECT quote_literal('it''s'); -- 'it''s'")
    .with_argument("value", "Any value; it is written as its text.")
    .build()
});

static NULLABLE_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "As quote_literal, but NULL gives the text NULL.",
        "quote_nullable(value)",
    )
    .with_sql_example("SELECT quote_nullable(NULL); -- NULL")
    .with_argument("value", "Any value.")
    .build()
});

static FORMAT_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        super::SECTION,
        "PostgreSQL's format(): the pattern with each %s replaced by an argument's text, %I \
         by it as an identifier, %L as a literal, %% by %. A specifier may name its argument \
         (%2$s) and a width (%10s, %-10s, %*s). A NULL pattern gives NULL; too few arguments, \
         an unknown specifier or a NULL for %I are errors (22023, 22004).",
        "format(pattern [, value, …])",
    )
    .with_sql_example("SELECT format('%I.%I = %L', 'Public', 'members', 'O''Neil');")
    .with_argument("pattern", "Text with format specifiers.")
    .with_argument("value", "Any values, as the specifiers use them.")
    .build()
});

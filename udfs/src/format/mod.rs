//! `yuan(amount)`: money as the venue writes it in a message ("¥1,240", "¥99.50"). The tier
//! views say what a member still needs in words; SQL has no number format with grouping.

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::{Arc, OnceLock};

const SECTION: DocSection = DocSection {
    include: true,
    label: "cip formatting",
    description: Some("Numbers written for people: messages and explanations."),
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct YuanUdf {
    signature: Signature,
}

impl YuanUdf {
    pub fn new() -> Self {
        YuanUdf {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for YuanUdf {
    fn default() -> Self {
        Self::new()
    }
}

/// `cents` as ¥ with thousands separators; whole yuan without decimals.
pub fn format_yuan(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let (whole, frac) = (abs / 100, abs % 100);
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if frac == 0 {
        format!("{sign}¥{grouped}")
    } else {
        format!("{sign}¥{grouped}.{frac:02}")
    }
}

impl ScalarUDFImpl for YuanUdf {
    fn name(&self) -> &str {
        "yuan"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] if t.is_numeric() || t.is_null() => Ok(vec![DataType::Float64]),
            [t] => plan_err!("type mismatch: yuan takes a number, got {t}"),
            _ => plan_err!("type mismatch: yuan takes 1 argument, got {}", types.len()),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let array = args.args[0].to_array(args.number_rows)?;
        let array = cast(&array, &DataType::Float64)?;
        let values = array.as_primitive::<Float64Type>();
        let mut out = StringBuilder::with_capacity(values.len(), values.len() * 8);
        for i in 0..values.len() {
            if values.is_null(i) {
                out.append_null();
                continue;
            }
            let v = values.value(i);
            // Beyond ±9e15 cents an f64 no longer holds whole cents.
            if !v.is_finite() || v.abs() > 9.0e13 {
                return Err(crate::error::invalid_argument(
                    "yuan",
                    format!("{v} is not an amount of money"),
                ));
            }
            out.append_value(format_yuan((v * 100.0).round() as i64));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| {
            Documentation::builder(
                SECTION,
                "An amount in yuan written for a message: ¥, thousands separated by commas, \
                 cents only when there are any (rounded to the cent). NULL gives NULL; NaN or \
                 infinity is an error.",
                "yuan(amount)",
            )
            .with_argument("amount", "A number of yuan (numeric, integer or double).")
            .with_sql_example("SELECT yuan(1240), yuan(99.5); -- ¥1,240  ¥99.50")
            .build()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::format_yuan;

    #[test]
    fn groups_thousands_and_keeps_cents() {
        assert_eq!(format_yuan(124_000), "¥1,240");
        assert_eq!(format_yuan(9_950), "¥99.50");
        assert_eq!(format_yuan(0), "¥0");
        assert_eq!(format_yuan(12_345_678_901), "¥123,456,789.01");
        assert_eq!(format_yuan(-100_000), "-¥1,000");
    }
}

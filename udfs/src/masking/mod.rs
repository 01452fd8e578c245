//! `mask_phone(text)` and `mask_name(text)`: what the analyst role sees of members' contact
//! details. The engine applies them at scan time for analysts; they are also plain functions
//! for exports.

use datafusion::arrow::array::{Array, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature,
    Volatility,
};
use std::sync::{Arc, OnceLock};

const SECTION: DocSection = DocSection {
    include: true,
    label: "cip privacy",
    description: Some("Masking of personal data for read-only roles."),
};

/// 13812345678 → 138****5678: the first three and last four digits; shorter values keep only
/// their last two characters.
pub fn mask_phone(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n >= 8 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(n - 7))
    } else {
        let keep = n.min(2);
        format!(
            "{}{}",
            "*".repeat(n - keep),
            chars[n - keep..].iter().collect::<String>()
        )
    }
}

/// 王小明 → 王**: the first character, then one star per other character.
pub fn mask_name(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MaskUdf {
    name: &'static str,
    signature: Signature,
}

impl MaskUdf {
    pub fn phone() -> Self {
        MaskUdf {
            name: "mask_phone",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
    pub fn name() -> Self {
        MaskUdf {
            name: "mask_name",
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for MaskUdf {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] if t.is_string() || t.is_null() => Ok(vec![DataType::Utf8]),
            [t] => plan_err!("type mismatch: {} takes text, got {t}", self.name),
            _ => plan_err!(
                "type mismatch: {} takes 1 argument, got {}",
                self.name,
                types.len()
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let values = cast(&args.args[0].to_array(args.number_rows)?, &DataType::Utf8)?;
        let values = values.as_string::<i32>();
        let f = if self.name == "mask_phone" {
            mask_phone
        } else {
            mask_name
        };
        let mut out = StringBuilder::with_capacity(values.len(), values.len() * 12);
        for i in 0..values.len() {
            if values.is_null(i) {
                out.append_null();
            } else {
                out.append_value(f(values.value(i)));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
    fn documentation(&self) -> Option<&Documentation> {
        static PHONE: OnceLock<Documentation> = OnceLock::new();
        static NAME: OnceLock<Documentation> = OnceLock::new();
        if self.name == "mask_phone" {
            Some(PHONE.get_or_init(|| {
                Documentation::builder(
                    SECTION,
                    "A phone number as the analyst role sees it: the first three and last four \
                     characters, stars between (values shorter than 8 keep only their last two). \
                     NULL gives NULL.",
                    "mask_phone(phone)",
                )
                .with_argument("phone", "Text.")
                .with_sql_example("SELECT mask_phone('13812345678'); -- 138****5678")
                .build()
            }))
        } else {
            Some(NAME.get_or_init(|| {
                Documentation::builder(
                    SECTION,
                    "A name as the analyst role sees it: the first character, then a star for \
                     each other character (at least one). NULL gives NULL.",
                    "mask_name(name)",
                )
                .with_argument("name", "Text.")
                .with_sql_example("SELECT mask_name('王小明'); -- 王**")
                .build()
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("12345"), "***45");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_name("王小明"), "王**");
        assert_eq!(mask_name("王"), "王*");
        assert_eq!(mask_name(""), "");
    }
}

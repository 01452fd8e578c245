//! Argument handling shared by the model functions: numeric coercion with a clear message,
//! reading numbers as f64, and reading a fitted-parameters struct.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::logical_expr::ColumnarValue;
use std::sync::Arc;

/// What one argument position takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arg {
    Number,
    /// A struct holding at least these Float64-castable fields (a fit's result).
    Params(&'static [&'static str]),
    Text,
}

/// Coerces call arguments: numbers to Float64, parameter structs checked for their fields.
/// `required` is how many leading arguments must be given; the rest are optional.
pub fn coerce(
    name: &str,
    spec: &[Arg],
    required: usize,
    types: &[DataType],
) -> Result<Vec<DataType>> {
    if types.len() < required || types.len() > spec.len() {
        let n = if required == spec.len() {
            format!("{required}")
        } else {
            format!("{required} to {}", spec.len())
        };
        return plan_err!(
            "type mismatch: {name} takes {n} arguments, got {}",
            types.len()
        );
    }
    types
        .iter()
        .zip(spec)
        .enumerate()
        .map(|(i, (t, s))| match s {
            Arg::Number if t.is_numeric() || t.is_null() => Ok(DataType::Float64),
            Arg::Number => plan_err!(
                "type mismatch: argument {} of {name} must be a number, got {t}",
                i + 1
            ),
            Arg::Text if matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null) => {
                Ok(DataType::Utf8)
            }
            Arg::Text => plan_err!(
                "type mismatch: argument {} of {name} must be text, got {t}",
                i + 1
            ),
            Arg::Params(fields) => match t {
                DataType::Null => Ok(params_type(fields)),
                DataType::Struct(have)
                    if fields.iter().all(|f| {
                        have.iter()
                            .any(|h| h.name() == f && (h.data_type().is_numeric() || h.data_type().is_null()))
                    }) =>
                {
                    Ok(t.clone())
                }
                _ => plan_err!(
                    "type mismatch: argument {} of {name} must be a fit's parameters (a struct with {}), got {t}",
                    i + 1,
                    fields.join(", ")
                ),
            },
        })
        .collect()
}

/// The struct type of a fit's parameters, every field Float64.
pub fn params_type(fields: &[&str]) -> DataType {
    DataType::Struct(Fields::from(
        fields
            .iter()
            .map(|f| Field::new(*f, DataType::Float64, true))
            .collect::<Vec<_>>(),
    ))
}

/// The argument as a Float64 array of `rows` values.
pub fn numbers(arg: &ColumnarValue, rows: usize) -> Result<Float64Array> {
    let array = arg.to_array(rows)?;
    let array = cast(&array, &DataType::Float64)?;
    Ok(array.as_primitive().clone())
}

/// The argument as text values.
pub fn texts(arg: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let array = arg.to_array(rows)?;
    Ok(cast(&array, &DataType::Utf8)?)
}

/// The named fields of a parameters struct, per row; None where the struct is NULL.
pub struct ParamRows {
    columns: Vec<Float64Array>,
    nulls: Option<datafusion::arrow::buffer::NullBuffer>,
}

impl ParamRows {
    pub fn read(arg: &ColumnarValue, rows: usize, fields: &[&str]) -> Result<Self> {
        let array = arg.to_array(rows)?;
        let s: &StructArray = array.as_struct_opt().ok_or_else(|| {
            DataFusionError::Execution("model parameters must be a struct".into())
        })?;
        let columns = fields
            .iter()
            .map(|f| {
                let c = s.column_by_name(f).ok_or_else(|| {
                    DataFusionError::Execution(format!("model parameters lack the field {f}"))
                })?;
                Ok(cast(c, &DataType::Float64)?.as_primitive().clone())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ParamRows {
            columns,
            nulls: s.nulls().cloned(),
        })
    }

    /// Row `i`'s values in field order; None when the struct or any field is NULL.
    pub fn row(&self, i: usize) -> Option<Vec<f64>> {
        if self.nulls.as_ref().is_some_and(|n| n.is_null(i)) {
            return None;
        }
        self.columns
            .iter()
            .map(|c| (!c.is_null(i)).then(|| c.value(i)))
            .collect()
    }
}

pub use crate::error::invalid_argument as invalid;

/// Wraps per-row results as the function's Float64 column.
pub fn float_column(values: Vec<Option<f64>>) -> ColumnarValue {
    ColumnarValue::Array(Arc::new(Float64Array::from(values)))
}

/// Fails unless `p` is a usable set of parameters.
pub fn check_params(name: &str, ok: bool, values: &[f64]) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!("model parameters must be positive and finite (got {values:?})"),
        ))
    }
}

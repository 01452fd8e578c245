//! `min_by(value, key)`: the value on the row with the smallest key (Spark's and Trino's
//! min_by, DuckDB's arg_min_null). The views use it where they keep the first of repeated
//! events (the lowest id): `first_value(value ORDER BY key)` says the same, but DataFusion 55
//! keeps each group's ordering as ScalarValues, which made it the most expensive step of
//! campaign_members (about twice a plain min on a million groups).
//!
//! Numbers, dates and timestamps keyed by an integer, date or timestamp take the per-group
//! fast path (groups.rs); any other pair of types the general one below.

mod groups;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::compute::{sort_to_indices, SortOptions};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, DocSection, Documentation, GroupsAccumulator, Signature,
    Volatility,
};
use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

const SECTION: DocSection = DocSection {
    include: true,
    label: "cip aggregates",
    description: Some("Aggregates the views use beside DataFusion's own."),
};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MinByUdaf {
    signature: Signature,
}

impl MinByUdaf {
    pub fn new() -> Self {
        MinByUdaf {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for MinByUdaf {
    fn default() -> Self {
        Self::new()
    }
}

/// The key's type as the accumulators see it: every integer as a 64-bit one.
fn key_type(t: &DataType) -> Result<DataType> {
    use DataType::*;
    Ok(match t {
        Null | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => Int64,
        t if t.is_nested() => {
            return plan_err!("min_by: the key must be a number, text, date or timestamp, got {t}")
        }
        t => t.clone(),
    })
}

impl AggregateUDFImpl for MinByUdaf {
    fn name(&self) -> &str {
        "min_by"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [value, key] => Ok(vec![value.clone(), key_type(key)?]),
            _ => plan_err!(
                "min_by takes 2 arguments (value, key), got {}",
                arg_types.len()
            ),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(t) => Ok(t.clone()),
            None => plan_err!("min_by takes 2 arguments (value, key), got 0"),
        }
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let value = ScalarValue::try_from(args.return_field.data_type())?;
        let key = ScalarValue::try_from(args.expr_fields[1].data_type())?;
        Ok(Box::new(MinByRow { value, key }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let key = args.input_fields[1].data_type().clone();
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[value]", args.name),
                args.return_field.data_type().clone(),
                true,
            )),
            Arc::new(Field::new(format!("{}[key]", args.name), key, true)),
        ])
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        groups::supported(
            args.return_field.data_type(),
            args.expr_fields[1].data_type(),
        )
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        groups::create(
            args.return_field.data_type(),
            args.expr_fields[1].data_type(),
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| {
            Documentation::builder(
                SECTION,
                "The value on the row with the smallest key: what `first_value(value ORDER BY \
                 key)` gives, faster on many groups. Rows whose key is NULL are skipped; the \
                 value on the chosen row is returned as it is, NULL included; NULL when no row \
                 has a key. Among rows with the same smallest key, one of them.",
                "min_by(value, key)",
            )
            .with_argument("value", "What to return, of any type.")
            .with_argument(
                "key",
                "What decides the row: a number, text, date or timestamp.",
            )
            .with_sql_example(
                "SELECT member_id, min_by(revenue, id) AS first_revenue\n\
                 FROM campaign_tracking GROUP BY member_id;",
            )
            .build()
        }))
    }
}

/// The general path: one group's winning row as ScalarValues (a NULL key: no row yet).
#[derive(Debug)]
struct MinByRow {
    value: ScalarValue,
    key: ScalarValue,
}

impl MinByRow {
    /// Takes the row of `values`/`keys` with the smallest non-NULL key if it beats the one held.
    fn take(&mut self, values: &ArrayRef, keys: &ArrayRef) -> Result<()> {
        let options = SortOptions {
            descending: false,
            nulls_first: false,
        };
        let Some(row) = sort_to_indices(keys, Some(options), Some(1))?
            .values()
            .first()
            .map(|&i| i as usize)
        else {
            return Ok(());
        };
        if keys.is_null(row) {
            return Ok(());
        }
        let key = ScalarValue::try_from_array(keys, row)?;
        if self.key.is_null() || key.partial_cmp(&self.key) == Some(Ordering::Less) {
            self.value = ScalarValue::try_from_array(values, row)?;
            self.key = key;
        }
        Ok(())
    }
}

impl Accumulator for MinByRow {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.take(&values[0], &values[1])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.take(&states[0], &states[1])
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.value.clone(), self.key.clone()])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.value.size() + self.key.size()
            - size_of_val(&self.value)
            - size_of_val(&self.key)
    }
}

//! `first_box(lows, highs, point)`: the position of the first box whose bounds hold a point.
//! customer_segments_live takes each member's segment from the rules in force this way, one
//! row at a time: the rules' bounds as boxes (aggregated once), the member's figures as the
//! point — instead of joining every member with every rule, grouping by member and joining
//! the decision back, which computed the members' figures twice.

use super::SECTION;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, ListArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

const NAME: &str = "first_box";

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FirstBoxUdf {
    signature: Signature,
}

impl Default for FirstBoxUdf {
    fn default() -> Self {
        FirstBoxUdf {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn point_type() -> DataType {
    super::cuts_type()
}

fn boxes_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(point_type(), true)))
}

/// A list of lists of numbers (or an untyped NULL).
fn list_of_lists(t: &DataType) -> bool {
    match t {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            super::list_of_numbers(f.data_type())
        }
        t => t.is_null(),
    }
}

/// Whether `x` is within a lower bound (at or above it) or an upper one (below it). A NULL
/// bound always holds; a NULL coordinate meets no bound. Floats compare as SQL compares them
/// here: in total order (NaN above every number).
fn holds(x: Option<f64>, bound: Option<f64>, lower: bool) -> bool {
    match (x, bound) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(x), Some(b)) => match lower {
            true => x.total_cmp(&b) != Ordering::Less,
            false => x.total_cmp(&b) == Ordering::Less,
        },
    }
}

fn value(values: &Float64Array, i: usize) -> Option<f64> {
    values.is_valid(i).then(|| values.value(i))
}

/// One side of row `row`'s boxes: the boxes' lists and their numbers.
struct Side<'a> {
    rows: &'a ListArray,
    boxes: &'a ListArray,
    numbers: &'a Float64Array,
}

impl<'a> Side<'a> {
    fn of(array: &'a ArrayRef) -> Self {
        let rows = array.as_list::<i32>();
        let boxes = rows.values().as_list::<i32>();
        let numbers = boxes.values().as_primitive::<Float64Type>();
        Side {
            rows,
            boxes,
            numbers,
        }
    }

    /// The boxes of `row` (indices into `boxes`).
    fn range(&self, row: usize) -> std::ops::Range<usize> {
        let o = self.rows.value_offsets();
        o[row] as usize..o[row + 1] as usize
    }

    /// The bounds of box `b` (indices into `numbers`); an empty range for a NULL box.
    fn bounds(&self, b: usize) -> std::ops::Range<usize> {
        if self.boxes.is_null(b) {
            return 0..0;
        }
        let o = self.boxes.value_offsets();
        o[b] as usize..o[b + 1] as usize
    }
}

impl FirstBoxUdf {
    fn first(
        &self,
        lows: &Side,
        highs: &Side,
        point: &[Option<f64>],
        row: usize,
    ) -> Result<Option<i64>> {
        let (lo_boxes, hi_boxes) = (lows.range(row), highs.range(row));
        if lo_boxes.len() != hi_boxes.len() {
            return Err(crate::error::invalid_argument(
                NAME,
                format!(
                    "lows hold {} boxes and highs {}: give both sides of every box",
                    lo_boxes.len(),
                    hi_boxes.len()
                ),
            ));
        }
        for (k, (lo, hi)) in lo_boxes.zip(hi_boxes).enumerate() {
            let (lo, hi) = (lows.bounds(lo), highs.bounds(hi));
            for side in [&lo, &hi] {
                if !side.is_empty() && side.len() != point.len() {
                    return Err(crate::error::invalid_argument(
                        NAME,
                        format!(
                            "box {} has {} bounds on a side and the point {} coordinates",
                            k + 1,
                            side.len(),
                            point.len()
                        ),
                    ));
                }
            }
            let within = |range: &std::ops::Range<usize>, numbers: &Float64Array, lower| {
                range
                    .clone()
                    .zip(point)
                    .all(|(i, x)| holds(*x, value(numbers, i), lower))
            };
            if within(&lo, lows.numbers, true) && within(&hi, highs.numbers, false) {
                return Ok(Some(k as i64 + 1));
            }
        }
        Ok(None)
    }
}

impl ScalarUDFImpl for FirstBoxUdf {
    fn name(&self) -> &str {
        NAME
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [lows, highs, point]
                if list_of_lists(lows) && list_of_lists(highs) && super::list_of_numbers(point) =>
            {
                Ok(vec![boxes_type(), boxes_type(), point_type()])
            }
            [lows, highs, point] => plan_err!(
                "type mismatch: {NAME} takes (number[][], number[][], number[]), got ({lows}, \
                 {highs}, {point})"
            ),
            _ => plan_err!(
                "type mismatch: {NAME} takes 3 arguments, got {}",
                types.len()
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let lows = cast(&args.args[0].to_array(n)?, &boxes_type())?;
        let highs = cast(&args.args[1].to_array(n)?, &boxes_type())?;
        let points = cast(&args.args[2].to_array(n)?, &point_type())?;
        let (lo, hi, points) = (Side::of(&lows), Side::of(&highs), points.as_list::<i32>());
        let coordinates = points.values().as_primitive::<Float64Type>();
        let offsets = points.value_offsets();
        let mut point = Vec::new();
        let mut out = Vec::with_capacity(n);
        for row in 0..n {
            if lows.is_null(row) || highs.is_null(row) || points.is_null(row) {
                out.push(None);
                continue;
            }
            point.clear();
            point.extend(
                (offsets[row] as usize..offsets[row + 1] as usize).map(|i| value(coordinates, i)),
            );
            out.push(self.first(&lo, &hi, &point, row)?);
        }
        let out: ArrayRef = Arc::new(Int64Array::from(out));
        Ok(match &args.args[..] {
            [ColumnarValue::Scalar(_), ColumnarValue::Scalar(_), ColumnarValue::Scalar(_)] => {
                ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?)
            }
            _ => ColumnarValue::Array(out),
        })
    }
    fn documentation(&self) -> Option<&Documentation> {
        static DOC: OnceLock<Documentation> = OnceLock::new();
        Some(DOC.get_or_init(|| {
            Documentation::builder(
                SECTION,
                "The position (1-based) of the first box that holds the point, or NULL when \
                 none does. Box k is lows[k] and highs[k]: the point is in it when every \
                 coordinate is at or above its lower bound and below its upper bound. A NULL \
                 bound (or a NULL list of bounds) always holds; a NULL coordinate meets no \
                 bound that is not NULL; numbers compare in SQL's order (NaN above all). NULL \
                 arguments give NULL. lows and highs holding different numbers of boxes, or a \
                 list of bounds whose length is not the point's, is an error (22023). \
                 customer_segments_live takes a member's segment rule this way.",
                "first_box(lows, highs, point)",
            )
            .with_argument(
                "lows",
                "The boxes' lower bounds: one array of numbers per box.",
            )
            .with_argument("highs", "The boxes' upper bounds (exclusive), box by box.")
            .with_argument("point", "The coordinates, one per bound of a box.")
            .with_sql_example(
                "SELECT first_box([[NULL, 10], [0, 0]], [[5, NULL], [NULL, NULL]], [7, 12]); -- 2",
            )
            .build()
        }))
    }
}

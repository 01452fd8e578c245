//! min_by's per-group fast path: a primitive value (number, decimal, date, time, timestamp)
//! keyed by an integer, date or timestamp, held per group in plain vectors — one comparison
//! of two i64 per row taken, nothing allocated per group.

use datafusion::arrow::array::{
    make_array, Array, ArrayRef, AsArray, BooleanArray, Int64Array, PrimitiveArray,
};
use datafusion::arrow::buffer::{NullBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::*;
use datafusion::common::{internal_err, Result};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion_functions_aggregate_common::aggregate::groups_accumulator::nulls::filtered_null_mask;
use std::sync::Arc;

/// Whether the fast path takes this value and (coerced) key type.
pub(super) fn supported(value: &DataType, key: &DataType) -> bool {
    key_is_i64(key) && create(value, key).is_ok()
}

/// Keys whose values are 64-bit integers underneath, or a date that widens to one.
fn key_is_i64(key: &DataType) -> bool {
    matches!(
        key,
        DataType::Int64 | DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
    )
}

pub(super) fn create(value: &DataType, key: &DataType) -> Result<Box<dyn GroupsAccumulator>> {
    macro_rules! of {
        ($t:ty) => {
            Ok(Box::new(MinByGroups::<$t>::new(value, key)))
        };
    }
    use DataType::*;
    match value {
        Int8 => of!(Int8Type),
        Int16 => of!(Int16Type),
        Int32 => of!(Int32Type),
        Int64 => of!(Int64Type),
        UInt8 => of!(UInt8Type),
        UInt16 => of!(UInt16Type),
        UInt32 => of!(UInt32Type),
        UInt64 => of!(UInt64Type),
        Float32 => of!(Float32Type),
        Float64 => of!(Float64Type),
        Decimal32(_, _) => of!(Decimal32Type),
        Decimal64(_, _) => of!(Decimal64Type),
        Decimal128(_, _) => of!(Decimal128Type),
        Decimal256(_, _) => of!(Decimal256Type),
        Date32 => of!(Date32Type),
        Date64 => of!(Date64Type),
        Time32(TimeUnit::Second) => of!(Time32SecondType),
        Time32(TimeUnit::Millisecond) => of!(Time32MillisecondType),
        Time64(TimeUnit::Microsecond) => of!(Time64MicrosecondType),
        Time64(TimeUnit::Nanosecond) => of!(Time64NanosecondType),
        Timestamp(TimeUnit::Second, _) => of!(TimestampSecondType),
        Timestamp(TimeUnit::Millisecond, _) => of!(TimestampMillisecondType),
        Timestamp(TimeUnit::Microsecond, _) => of!(TimestampMicrosecondType),
        Timestamp(TimeUnit::Nanosecond, _) => of!(TimestampNanosecondType),
        t => internal_err!("min_by has no per-group path for {t}"),
    }
}

/// A group's state byte: UNSEEN until it has a row, then whether that row's value is NULL.
const UNSEEN: u8 = 0;
const NULL_VALUE: u8 = 1;
const VALUE: u8 = 2;

/// Each group's smallest key so far and the value on its row, in plain vectors: the keys and
/// values leave as Arrow buffers without a copy (a vector of per-group structs was tried: its
/// copy out at emit cost more than the fewer cache lines a row touches saved).
struct MinByGroups<V: ArrowPrimitiveType> {
    /// The value's exact type (a decimal's precision, a timestamp's zone) and the key's.
    value_type: DataType,
    key_type: DataType,
    keys: Vec<i64>,
    values: Vec<V::Native>,
    states: Vec<u8>,
}

impl<V: ArrowPrimitiveType> MinByGroups<V> {
    fn new(value: &DataType, key: &DataType) -> Self {
        MinByGroups {
            value_type: value.clone(),
            key_type: key.clone(),
            keys: Vec::new(),
            values: Vec::new(),
            states: Vec::new(),
        }
    }

    /// Rows (value, key) into their groups; a row whose key is NULL or that `pass` leaves out
    /// is skipped.
    fn take(
        &mut self,
        values: &ArrayRef,
        keys: &ArrayRef,
        group_indices: &[usize],
        pass: Option<&BooleanArray>,
        groups: usize,
    ) -> Result<()> {
        self.keys.resize(groups, 0);
        self.values.resize(groups, V::Native::default());
        self.states.resize(groups, UNSEEN);
        let values = values.as_primitive::<V>();
        let keys = keys_as_i64(keys)?;
        let row_into_group = |row: usize| {
            let g = group_indices[row];
            let k = keys.value(row);
            // Ties keep the row held: the first one seen.
            if self.states[g] == UNSEEN || k < self.keys[g] {
                self.keys[g] = k;
                self.values[g] = values.value(row);
                self.states[g] = if values.is_valid(row) {
                    VALUE
                } else {
                    NULL_VALUE
                };
            }
        };
        // Only the rows with a key that the filter passes, found a word of bits at a time: a
        // FILTERed min_by (one per status in campaign_members) passes few of the rows.
        match filtered_null_mask(pass, &keys) {
            None => (0..group_indices.len()).for_each(row_into_group),
            Some(rows) => rows.valid_indices().for_each(row_into_group),
        }
        Ok(())
    }

    /// The first groups `emit_to` names, taken out: (values, keys, states).
    fn take_groups(&mut self, emit_to: EmitTo) -> (Vec<V::Native>, Vec<i64>, Vec<u8>) {
        (
            emit_to.take_needed(&mut self.values),
            emit_to.take_needed(&mut self.keys),
            emit_to.take_needed(&mut self.states),
        )
    }

    /// The groups' values; NULL for a group without a row or whose row's value is NULL.
    fn value_array(&self, values: Vec<V::Native>, states: &[u8]) -> ArrayRef {
        let nulls = NullBuffer::from_iter(states.iter().map(|s| *s == VALUE));
        Arc::new(
            PrimitiveArray::<V>::new(ScalarBuffer::from(values), Some(nulls))
                .with_data_type(self.value_type.clone()),
        )
    }
}

/// The keys as 64-bit integers: dates widened, timestamps and 64-bit dates as they are stored.
fn keys_as_i64(keys: &ArrayRef) -> Result<Int64Array> {
    match keys.data_type() {
        DataType::Date32 => Ok(keys
            .as_primitive::<Date32Type>()
            .unary::<_, Int64Type>(i64::from)),
        DataType::Int64 | DataType::Date64 | DataType::Timestamp(_, _) => Ok(Int64Array::from(
            keys.to_data()
                .into_builder()
                .data_type(DataType::Int64)
                .build()?,
        )),
        t => internal_err!("min_by: a key of type {t} on the per-group path"),
    }
}

/// 64-bit keys back in the key's own type (for the state the final phase merges).
fn keys_of_type(keys: Vec<i64>, states: &[u8], key_type: &DataType) -> Result<ArrayRef> {
    let nulls = NullBuffer::from_iter(states.iter().map(|s| *s != UNSEEN));
    let keys = Int64Array::new(ScalarBuffer::from(keys), Some(nulls));
    match key_type {
        // Widened from an i32 date: narrowing gives the date back.
        DataType::Date32 => Ok(Arc::new(keys.unary::<_, Date32Type>(|k| k as i32))),
        t => Ok(make_array(
            keys.to_data().into_builder().data_type(t.clone()).build()?,
        )),
    }
}

impl<V: ArrowPrimitiveType> GroupsAccumulator for MinByGroups<V> {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.take(
            &values[0],
            &values[1],
            group_indices,
            opt_filter,
            total_num_groups,
        )
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        // A state row without a key is a group that had no row.
        self.take(
            &values[0],
            &values[1],
            group_indices,
            None,
            total_num_groups,
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let (values, _, states) = self.take_groups(emit_to);
        Ok(self.value_array(values, &states))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let (values, keys, states) = self.take_groups(emit_to);
        Ok(vec![
            self.value_array(values, &states),
            keys_of_type(keys, &states, &self.key_type)?,
        ])
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each row its own group: a row the filter leaves out gets no key.
        // (DataFusion's apply_filter_as_nulls would do this but takes no primitive arrays.)
        let keys = match filtered_null_mask(opt_filter, values[1].as_ref()) {
            None => values[1].clone(),
            Some(rows) => make_array(
                values[1]
                    .to_data()
                    .into_builder()
                    .nulls(Some(rows))
                    .build()?,
            ),
        };
        Ok(vec![values[0].clone(), keys])
    }

    fn size(&self) -> usize {
        self.keys.capacity() * size_of::<i64>()
            + self.values.capacity() * size_of::<V::Native>()
            + self.states.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Decimal128Array};

    fn decimals(v: &[Option<i128>]) -> ArrayRef {
        Arc::new(
            Decimal128Array::from(v.to_vec())
                .with_precision_and_scale(12, 2)
                .unwrap(),
        )
    }

    #[test]
    fn partial_states_merge_into_the_smallest_key() {
        let value = DataType::Decimal128(12, 2);
        let key = DataType::Date32;
        // Two partial accumulators, then a final one merging their states.
        let mut a = create(&value, &key).unwrap();
        let mut b = create(&value, &key).unwrap();
        let keys: ArrayRef = Arc::new(Date32Array::from(vec![Some(5), None, Some(3)]));
        a.update_batch(
            &[decimals(&[Some(100), Some(1), None]), keys],
            &[0, 0, 1],
            None,
            2,
        )
        .unwrap();
        let keys: ArrayRef = Arc::new(Date32Array::from(vec![Some(4), Some(9)]));
        b.update_batch(&[decimals(&[Some(200), Some(300)]), keys], &[0, 1], None, 2)
            .unwrap();
        let mut last = create(&value, &key).unwrap();
        for mut partial in [a, b] {
            let state = partial.state(EmitTo::All).unwrap();
            assert_eq!(state[0].data_type(), &value);
            assert_eq!(state[1].data_type(), &key);
            last.merge_batch(&state, &[0, 1], 2).unwrap();
        }
        let out = last.evaluate(EmitTo::All).unwrap();
        let out = out.as_primitive::<Decimal128Type>();
        assert_eq!(out.data_type(), &value);
        // group 0: keys 5 (a) and 4 (b) -> 200; group 1: key 3 (a, value NULL) beats 9
        assert_eq!(out.value(0), 200);
        assert!(out.is_null(1));
    }

    #[test]
    fn a_filter_and_null_keys_leave_rows_out_of_a_sliced_batch() {
        let mut acc = create(&DataType::Int64, &DataType::Int64).unwrap();
        // Sliced by one row, so the bitmaps start inside a byte.
        let values: ArrayRef = Arc::new(Int64Array::from(vec![0, 10, 20, 30, 40, 50]));
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(0),
            Some(5),
            None,
            Some(1),
            Some(2),
            Some(9),
        ]));
        let filter = BooleanArray::from(vec![
            Some(true),
            Some(true),
            Some(true),
            Some(false),
            None,
            Some(true),
        ]);
        acc.update_batch(
            &[values.slice(1, 5), keys.slice(1, 5)],
            &[0, 0, 0, 0, 1],
            Some(&filter.slice(1, 5)),
            2,
        )
        .unwrap();
        let out = acc.evaluate(EmitTo::All).unwrap();
        let out = out.as_primitive::<Int64Type>();
        // group 0: key 5 (10) passes; NULL key (20), filter false (30), filter NULL (40) do not
        assert_eq!(out.value(0), 10);
        assert_eq!(out.value(1), 50);
    }

    #[test]
    fn rows_passed_through_as_states_keep_the_filter() {
        let acc = create(&DataType::Int64, &DataType::Int64).unwrap();
        let values: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), None]));
        let filter = BooleanArray::from(vec![Some(false), None, Some(true)]);
        let state = acc
            .convert_to_state(&[values, keys], Some(&filter))
            .unwrap();
        // left out by the filter (false, NULL) or without a key: no row
        assert_eq!(state[1].null_count(), 3);
        let mut last = create(&DataType::Int64, &DataType::Int64).unwrap();
        last.merge_batch(&state, &[0, 0, 0], 1).unwrap();
        assert!(last.evaluate(EmitTo::All).unwrap().is_null(0));
    }

    #[test]
    fn emitting_the_first_groups_leaves_the_rest() {
        let mut acc = create(&DataType::Int64, &DataType::Int64).unwrap();
        let values: ArrayRef = Arc::new(Int64Array::from(vec![10, 20, 30]));
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 1]));
        acc.update_batch(&[values, keys], &[0, 1, 2], None, 3)
            .unwrap();
        let first = acc.evaluate(EmitTo::First(2)).unwrap();
        assert_eq!(first.len(), 2);
        let rest = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(rest.as_primitive::<Int64Type>().value(0), 30);
    }
}

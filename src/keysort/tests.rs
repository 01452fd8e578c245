//! Packed keys order rows exactly as arrow's comparators do, for every supported type, NULLs
//! at either end, DESC, NaN and ±0, text of uneven length, and several batches; and `order`
//! sorts keys as a stable comparison sort would.

use super::keys::pack;
use super::order::order;
use datafusion::arrow::array::*;
use datafusion::arrow::compute::{concat, LexicographicalComparator, SortColumn, SortOptions};
use std::cmp::Ordering;
use std::sync::Arc;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One random column split over three batches.
fn column(kind: usize, rows: usize, rng: &mut Rng) -> Vec<ArrayRef> {
    let null = |rng: &mut Rng| rng.below(7) == 0;
    let whole: ArrayRef = match kind {
        0 => Arc::new(Int64Array::from_iter(
            (0..rows).map(|_| (!null(rng)).then(|| rng.below(40) as i64 - 20)),
        )),
        1 => {
            let special = [
                0.0,
                -0.0,
                f64::NAN,
                -f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
            ];
            Arc::new(Float64Array::from_iter((0..rows).map(|_| {
                (!null(rng)).then(|| match rng.below(4) {
                    0 => special[rng.below(6) as usize],
                    _ => (rng.below(2000) as f64 - 1000.0) / 8.0,
                })
            })))
        }
        2 | 3 => {
            let words = [
                "", "M0", "M00", "M001", "M0012", "M01", "M1", "a", "ab", "M0012x",
            ];
            let texts = (0..rows).map(|_| {
                (!null(rng)).then(|| format!("{}{}", words[rng.below(10) as usize], rng.below(3)))
            });
            if kind == 2 {
                Arc::new(StringArray::from_iter(texts))
            } else {
                Arc::new(StringViewArray::from_iter(texts))
            }
        }
        4 => {
            Arc::new(
                TimestampMicrosecondArray::from_iter((0..rows).map(|_| {
                    (!null(rng)).then(|| 1_700_000_000_000_000 + rng.below(1 << 40) as i64)
                }))
                .with_timezone("Asia/Shanghai"),
            )
        }
        5 => Arc::new(BooleanArray::from_iter(
            (0..rows).map(|_| (!null(rng)).then(|| rng.below(2) == 1)),
        )),
        _ => Arc::new(UInt32Array::from_iter_values((0..rows).map(|_| 7))),
    };
    let cut = [0, rows / 3, rows / 3 + 1, rows];
    cut.windows(2)
        .map(|w| whole.slice(w[0], w[1] - w[0]))
        .collect()
}

#[test]
fn packed_order_matches_arrow_comparators() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let rows = 3_000;
    let mut packed_rounds = 0;
    for round in 0..60 {
        let ncols = 1 + round % 3;
        let columns: Vec<Vec<ArrayRef>> = (0..ncols)
            .map(|_| column(rng.below(7) as usize, rows, &mut rng))
            .collect();
        let options: Vec<SortOptions> = (0..ncols)
            .map(|_| SortOptions {
                descending: rng.below(2) == 1,
                nulls_first: rng.below(2) == 1,
            })
            .collect();
        // Two or three float columns with NaN and infinities take 64 bits each.
        let Some(packed) = pack(&columns, &options, 2) else {
            continue;
        };
        packed_rounds += 1;
        let at: Vec<usize> = order(&packed.keys, packed.bits, 2)
            .into_iter()
            .map(|r| r as usize)
            .collect();
        let mut seen = at.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..rows).collect::<Vec<_>>(), "a permutation");
        let whole: Vec<SortColumn> = columns
            .iter()
            .zip(&options)
            .map(|(parts, o)| {
                let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
                SortColumn {
                    values: concat(&refs).expect("concat"),
                    options: Some(*o),
                }
            })
            .collect();
        let cmp = LexicographicalComparator::try_new(&whole).expect("comparator");
        for w in at.windows(2) {
            let c = cmp.compare(w[0], w[1]);
            assert_ne!(
                c,
                Ordering::Greater,
                "round {round}: rows {} then {}",
                w[0],
                w[1]
            );
            if c == Ordering::Equal {
                assert!(w[0] < w[1], "ties keep input order");
            }
        }
    }
    assert!(
        packed_rounds >= 40,
        "only {packed_rounds} of 60 rounds packed"
    );
}

#[test]
fn keys_too_wide_are_left_to_the_usual_sort() {
    let long: ArrayRef = Arc::new(StringArray::from_iter_values(
        (0..100).map(|i| format!("{i}{}", "z".repeat(80 + i % 5))),
    ));
    let float: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..100).map(|i| i as f64 * 1e-3),
    ));
    let asc = SortOptions::default();
    assert!(pack(&[vec![long]], &[asc], 1).is_none());
    assert!(pack(
        &[vec![float.clone()], vec![float.clone()], vec![float]],
        &[asc; 3],
        1
    )
    .is_none());
    let list: ArrayRef = Arc::new(ListArray::new_null(
        Arc::new(datafusion::arrow::datatypes::Field::new(
            "x",
            datafusion::arrow::datatypes::DataType::Int32,
            true,
        )),
        3,
    ));
    assert!(pack(&[vec![list]], &[asc], 1).is_none());
}

/// `order` against a stable comparison sort of (key, row).
fn check_order(keys: Vec<u128>, bits: u32, threads: usize) {
    let mut want: Vec<(u128, u32)> = keys.iter().copied().zip(0..).collect();
    want.sort(); // stable by row on ties, as `order` promises
    let got = order(&keys, bits, threads);
    assert_eq!(got, want.iter().map(|w| w.1).collect::<Vec<_>>());
}

#[test]
fn order_matches_a_comparison_sort() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (bits, n, threads) in [
        (0, 10, 1),
        // Keys as wide as their integer, too few rows for a bucket bit (the shift was the
        // whole width: an overflow).
        (64, 10, 1),
        (128, 10, 1),
        (5, 10_000, 2),
        (40, 100_000, 2),
        (100, 50_000, 3),
    ] {
        let mask = if bits == 0 {
            0
        } else {
            u128::MAX >> (128 - bits)
        };
        let keys: Vec<u128> = (0..n)
            .map(|_| (((rng.next() as u128) << 64) | rng.next() as u128) & mask)
            .collect();
        check_order(keys, bits, threads);
    }
    // Skewed: nearly all rows in one bucket.
    let keys: Vec<u128> = (0..20_000u128)
        .map(|i| if i % 100 == 0 { i } else { 5 })
        .collect();
    check_order(keys, 15, 2);
}

/// Text whose key takes all 128 bits (18 positions of 7 bits, one of 2): packed and ordered
/// without NULLs; with NULLs there is no room left, so it goes to the usual sort. Either way
/// no arithmetic overflows (the NULL's place was computed past the widest key).
#[test]
fn a_key_of_exactly_128_bits_leaves_no_room_for_null() {
    let mut rng = Rng(0x51_7CC1_B727_220A);
    let text = |rng: &mut Rng| -> String {
        let mut s: String = (0..18)
            .map(|_| ['\u{1}', 'm', '\u{7f}'][rng.below(3) as usize])
            .collect();
        s.push(['a', 'b', 'c', 'd'][rng.below(4) as usize]);
        s
    };
    let mut values: Vec<String> = vec!["\u{1}".repeat(18) + "a", "\u{7f}".repeat(18) + "d"];
    values.extend((0..60).map(|_| text(&mut rng)));
    let asc = SortOptions::default();
    let full: ArrayRef = Arc::new(StringArray::from_iter_values(values.iter()));
    let packed = pack(&[vec![full]], &[asc], 1).expect("128 bits pack");
    assert_eq!(packed.bits, 128);
    let at = order(&packed.keys, packed.bits, 1);
    let got: Vec<&String> = at.iter().map(|&r| &values[r as usize]).collect();
    let mut want: Vec<&String> = values.iter().collect();
    want.sort();
    assert_eq!(got, want);
    let with_null: ArrayRef = Arc::new(StringArray::from_iter(
        values.iter().map(Some).chain([None]),
    ));
    for nulls_first in [false, true] {
        let o = SortOptions {
            descending: false,
            nulls_first,
        };
        assert!(pack(&[vec![with_null.clone()]], &[o], 1).is_none());
    }
}

/// An aggregation emits its groups as slices of one batch, and each slice's own memory size
/// is the whole batch's: counted per slice, 100,000 rows in 13 slices looked like 70 MB and
/// the sort handed over to DataFusion's in a 24 MiB pool. Counted once, they fit.
#[tokio::test]
async fn slices_of_one_batch_are_counted_once() {
    use super::KeySortExec;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::memory::MemorySourceConfig;
    use datafusion::execution::memory_pool::GreedyMemoryPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::execution::TaskContext;
    use datafusion::physical_expr::expressions::col;
    use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
    use datafusion::physical_plan::sorts::sort::SortExec;
    use datafusion::physical_plan::{collect, ExecutionPlan};

    let rows = 100_000;
    let schema = Arc::new(Schema::new(vec![
        Field::new("visits", DataType::Int64, false),
        Field::new("member_id", DataType::Utf8, false),
    ]));
    let whole = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(
                (0..rows).map(|v| (v * 7919) % 97),
            )),
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|v| format!("M{v:08}")),
            )),
        ],
    )
    .unwrap();
    let slices: Vec<RecordBatch> = (0..rows as usize)
        .step_by(8192)
        .map(|at| whole.slice(at, 8192.min(rows as usize - at)))
        .collect();
    let input = MemorySourceConfig::try_new_exec(&[slices], schema.clone(), None).unwrap();
    let order = LexOrdering::new(vec![
        PhysicalSortExpr::new_default(col("visits", &schema).unwrap()),
        PhysicalSortExpr::new_default(col("member_id", &schema).unwrap()),
    ])
    .unwrap();
    let sort = KeySortExec::new(Arc::new(SortExec::new(order, input)));
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(GreedyMemoryPool::new(24 << 20)))
        .build_arc()
        .unwrap();
    let ctx = Arc::new(TaskContext::default().with_runtime(runtime));
    let sort: Arc<dyn ExecutionPlan> = Arc::new(sort);
    let out = collect(sort.clone(), ctx).await.unwrap();
    assert_eq!(
        out.iter().map(|b| b.num_rows()).sum::<usize>(),
        rows as usize
    );
    let fell_back = sort
        .metrics()
        .and_then(|m| m.sum_by_name("fell_back"))
        .map(|v| v.as_usize());
    assert_eq!(fell_back, Some(0));
}

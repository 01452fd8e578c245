//! De-duplication of the fits' input rows: customers with the same figures become one
//! weighted row, in a fixed order (by value), so a fit's sums — and so its result — are the
//! same whatever order the rows arrived in.
//!
//! Rows arrive as raw figures (appending is a copy; hashing a million rows per partial and
//! again per merge was most of a fit's time). They are sorted by a radix sort on the
//! figures' bit patterns, which for the non-negative numbers the fits accept order like the
//! numbers, and equal neighbours are merged. The fits then number each figure's distinct
//! values with a `Dict` to cache what depends on one figure only.

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// One row: up to three figures and a weight.
pub type Row = [f64; 4];

/// Rows from which on de-duplication uses two threads.
const PARALLEL_ROWS: usize = 50_000;

/// Sorts `rows` by their figures and merges equal ones, adding their weights.
///
/// Each figure's bits that differ between rows are packed into one integer key (the others
/// are the same in every row, so dropping them keeps the order and the key decodes back to
/// the figures). Whole days and counts need a few dozen bits; spend-like figures may need
/// 128 or more. Every step runs on two threads: each half of the rows is scanned, keyed and
/// radix-sorted on its own, then the two sorted runs are split at one key and both parts
/// merged at once.
///
/// `stop` is asked between the steps (a statement's cancel or timeout: sorting millions of rows
/// takes seconds on a loaded machine); when it says so, `rows` is left as it was and the
/// answer is false.
pub fn dedup(rows: &mut Vec<Row>, stop: &(dyn Fn() -> bool + Sync)) -> bool {
    let Some(first) = rows.first().map(|r| r.map(|v| (v + 0.0).to_bits())) else {
        return true;
    };
    let parallel = rows.len() >= PARALLEL_ROWS;
    let (lo, hi) = rows.split_at(rows.len() / 2);
    let scan = |half: &[Row]| {
        let mut varying = [0u64; 3];
        let mut unit = true;
        for r in half {
            for k in 0..3 {
                // +0.0 turns -0.0 into 0.0, so both share a key; figures are checked >= 0.
                varying[k] |= (r[k] + 0.0).to_bits() ^ first[k];
            }
            unit &= r[3] == 1.0;
        }
        (varying, unit)
    };
    let ((va, ua), (vb, ub)) = crate::models::split_sum::both(parallel, || scan(lo), || scan(hi));
    let varying = [0, 1, 2].map(|k| va[k] | vb[k]);
    // Per figure: the lowest varying bit and how many bits from there up.
    let spans = varying.map(|v| {
        if v == 0 {
            (0, 0)
        } else {
            (
                v.trailing_zeros(),
                64 - v.leading_zeros() - v.trailing_zeros(),
            )
        }
    });
    let width: u32 = spans.iter().map(|s| s.1).sum();
    let pack = move |r: &Row| -> u128 {
        spans.iter().enumerate().fold(0u128, |key, (k, &(lo, w))| {
            let bits = ((r[k] + 0.0).to_bits() >> lo) & low_bits(w);
            (key << w) | u128::from(bits)
        })
    };
    let unpack = move |key: u128| -> [f64; 3] {
        let mut row = [0.0; 3];
        let mut rest = key;
        for k in (0..3).rev() {
            let (lo, w) = spans[k];
            let bits = (rest as u64) & low_bits(w);
            rest = if w < 128 { rest >> w } else { 0 };
            row[k] = f64::from_bits((first[k] & !(low_bits(w) << lo)) | (bits << lo));
        }
        row
    };
    let unit = ua && ub;
    if stop() {
        return false;
    }
    if width <= 64 {
        let key = move |r: &Row| pack(r) as u64;
        by_key(rows, parallel, unit, stop, key, move |k| {
            unpack(u128::from(k))
        })
    } else if width <= 128 {
        by_key(rows, parallel, unit, stop, pack, unpack)
    } else {
        // Figures that vary in almost every bit: sort by all of them.
        let bits = |r: &Row| [0, 1, 2].map(|k| (r[k] + 0.0).to_bits());
        let key = move |r: &Row| (bits(r)[0], bits(r)[1], bits(r)[2]);
        by_key(rows, parallel, unit, stop, key, |k| {
            [k.0, k.1, k.2].map(f64::from_bits)
        })
    }
}

/// `merge_by` with keys alone when every row weighs 1 (raw rows: fewer bytes to sort, and
/// weights are run lengths), else with (key, weight) pairs.
fn by_key<K: radsort::Key + Ord + Copy + Send + Sync>(
    rows: &mut Vec<Row>,
    parallel: bool,
    unit: bool,
    stop: &(dyn Fn() -> bool + Sync),
    key: impl Fn(&Row) -> K + Copy + Sync,
    figures: impl Fn(K) -> [f64; 3] + Sync,
) -> bool {
    if unit {
        merge_by(rows, parallel, stop, key, |k| *k, |_| 1.0, figures)
    } else {
        merge_by(
            rows,
            parallel,
            stop,
            move |r| (key(r), r[3]),
            |p| p.0,
            |p| p.1,
            figures,
        )
    }
}

/// Replaces `rows` by their distinct figures in key order, with summed weights. Each half
/// of the rows becomes sorted items (a key, or a key and a weight); the two sorted runs are
/// cut at the first run's middle key, so every key falls wholly in one part, and the parts
/// are merged side by side. False, with `rows` unchanged, when `stop` said so once sorted.
fn merge_by<T, K>(
    rows: &mut Vec<Row>,
    parallel: bool,
    stop: &(dyn Fn() -> bool + Sync),
    item: impl Fn(&Row) -> T + Sync,
    key: impl Fn(&T) -> K + Copy + Send + Sync,
    weight: impl Fn(&T) -> f64 + Sync,
    figures: impl Fn(K) -> [f64; 3] + Sync,
) -> bool
where
    T: Send + Sync,
    K: radsort::Key + Ord + Copy,
{
    let (lo, hi) = rows.split_at(rows.len() / 2);
    let sorted = |half: &[Row]| {
        let mut items: Vec<T> = half.iter().map(&item).collect();
        radsort::sort_by_key(&mut items, key);
        items
    };
    let (a, b) = crate::models::split_sum::both(parallel, || sorted(lo), || sorted(hi));
    if stop() {
        return false;
    }
    let cut = a.get(a.len() / 2).map(&key);
    let at = |run: &[T]| cut.map_or(run.len(), |c| run.partition_point(|t| key(t) < c));
    let (ia, ib) = (at(&a), at(&b));
    let merge = |x: &[T], y: &[T], room: usize| {
        let mut out: Vec<Row> = Vec::with_capacity(room);
        let emit = |out: &mut Vec<Row>, (k, w): (K, f64)| {
            let [f0, f1, f2] = figures(k);
            out.push([f0, f1, f2, w]);
        };
        let (mut i, mut j) = (0, 0);
        let mut run: Option<(K, f64)> = None;
        while i < x.len() || j < y.len() {
            let next = if j == y.len() || (i < x.len() && key(&x[i]) <= key(&y[j])) {
                i += 1;
                &x[i - 1]
            } else {
                j += 1;
                &y[j - 1]
            };
            let (k, w) = (key(next), weight(next));
            match &mut run {
                Some((rk, rw)) if *rk == k => *rw += w,
                _ => run
                    .replace((k, w))
                    .into_iter()
                    .for_each(|r| emit(&mut out, r)),
            }
        }
        run.into_iter().for_each(|r| emit(&mut out, r));
        out
    };
    let total = a.len() + b.len();
    let (mut first, second) = crate::models::split_sum::both(
        parallel,
        // The first part gets room for the second, so appending it does not reallocate.
        || merge(&a[..ia], &b[..ib], total),
        || merge(&a[ia..], &b[ib..], total - ia - ib),
    );
    first.extend_from_slice(&second);
    *rows = first;
    true
}

/// The lowest `w` bits set (w <= 64).
fn low_bits(w: u32) -> u64 {
    if w >= 64 {
        u64::MAX
    } else {
        (1u64 << w) - 1
    }
}

/// Buffered raw rows, de-duplicated whenever they outgrow the last de-duplicated size by
/// `COMPACT_AFTER`, which bounds memory by the distinct rows plus one batch of raw ones.
/// A de-duplication that its stop interrupted leaves the rows as they were and `stopped` set
/// (the statement is ending; its accumulator answers with the cancel).
#[derive(Debug, Default)]
pub struct Rows {
    rows: Vec<Row>,
    compacted: usize,
    stop: Option<crate::models::fit::FitStop>,
    stopped: bool,
}

const COMPACT_AFTER: usize = 1 << 22;

impl Rows {
    /// Rows whose de-duplication gives up when `stop` says so.
    pub fn with_stop(stop: Option<crate::models::fit::FitStop>) -> Self {
        Rows {
            stop,
            ..Rows::default()
        }
    }

    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
        self.compact_if_grown();
    }

    /// Appends many rows, compacting at most once.
    pub fn extend(&mut self, rows: impl Iterator<Item = Row>) {
        self.rows.extend(rows);
        self.compact_if_grown();
    }

    fn compact_if_grown(&mut self) {
        if !self.stopped && self.rows.len() - self.compacted >= COMPACT_AFTER {
            self.compact();
        }
    }

    /// Whether a de-duplication was stopped.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    pub fn reserve(&mut self, more: usize) {
        self.rows.reserve(more);
    }

    pub fn capacity(&self) -> usize {
        self.rows.capacity()
    }

    /// Takes every row held (as [figure, figure, figure, weight] runs), leaving none: a
    /// partial state is shipped once, and moving the buffer copies nothing.
    pub fn take_flat(&mut self) -> Vec<f64> {
        self.compacted = 0;
        std::mem::take(&mut self.rows).into_flattened()
    }

    /// The distinct rows by value, with their weights; None if the stop interrupted.
    pub fn distinct(&mut self) -> Option<&[Row]> {
        if self.compacted != self.rows.len() && !self.stopped {
            self.compact();
        }
        (!self.stopped).then_some(&self.rows[..])
    }

    fn compact(&mut self) {
        let stop = self.stop.clone();
        let asked = move || stop.as_ref().is_some_and(|s| (s.0)());
        if dedup(&mut self.rows, &asked) {
            self.compacted = self.rows.len();
        } else {
            self.stopped = true;
        }
    }
}

/// Distinct values of one figure, numbered in order of first appearance.
#[derive(Default)]
pub struct Dict {
    values: Vec<f64>,
    seen: HashMap<u64, u32>,
    last: Option<(u64, u32)>,
}

impl Dict {
    pub fn index(&mut self, v: f64) -> u32 {
        let bits = v.to_bits();
        // Rows come sorted, so the same value often repeats.
        if let Some((b, i)) = self.last {
            if b == bits {
                return i;
            }
        }
        let values = &mut self.values;
        let i = *self.seen.entry(bits).or_insert_with(|| {
            values.push(v);
            (values.len() - 1) as u32
        });
        self.last = Some((bits, i));
        i
    }

    /// The distinct values, index i at position i.
    pub fn into_values(self) -> Vec<f64> {
        self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What de-duplication must give, the slow way: a comparison sort, then equal figures
    /// merged with their weights added.
    fn by_comparison_sort(rows: &[Row]) -> Vec<Row> {
        let mut want = rows.to_vec();
        want.sort_by(|a, b| {
            (0..3)
                .map(|k| a[k].total_cmp(&b[k]))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        want.dedup_by(|later, kept| {
            if kept[..3] == later[..3] {
                kept[3] += later[3];
                true
            } else {
                false
            }
        });
        want
    }

    #[test]
    fn a_stop_leaves_the_rows_as_they_were() {
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = asked.clone();
        let stop = crate::models::fit::FitStop(std::sync::Arc::new(move || {
            flag.load(std::sync::atomic::Ordering::Relaxed)
        }));
        let mut r = Rows::with_stop(Some(stop));
        r.extend((0..100_000u32).map(|i| [f64::from(i % 10), 0.0, 1.0, 1.0]));
        assert!(r.distinct().is_none());
        assert!(r.stopped());
        assert_eq!(r.rows.len(), 100_000, "nothing merged");
    }

    #[test]
    fn merges_equal_rows_and_orders_by_value() {
        let mut r = Rows::default();
        for row in [
            [2.0, 1.0, 5.0, 1.0],
            [0.0, 0.0, 3.0, 1.0],
            [2.0, 1.0, 5.0, 2.5],
            [-0.0, 0.0, 3.0, 1.0],
            [1.0, 10.0, 0.5, 1.0],
        ] {
            r.push(row);
        }
        assert_eq!(
            r.distinct().expect("no stop"),
            &[
                [0.0, 0.0, 3.0, 2.0],
                [1.0, 10.0, 0.5, 1.0],
                [2.0, 1.0, 5.0, 3.5]
            ]
        );
    }

    #[test]
    fn the_order_rows_arrive_in_does_not_matter() {
        let rows: Vec<Row> = (0..5000u32)
            .map(|i| {
                let x = f64::from(i % 7);
                [x, f64::from(i % 13) * 0.25, 30.0 + f64::from(i % 11), 1.0]
            })
            .collect();
        let mut a = Rows::default();
        rows.iter().for_each(|r| a.push(*r));
        let mut b = Rows::default();
        rows.iter().rev().for_each(|r| b.push(*r));
        assert_eq!(a.distinct(), b.distinct());
        assert!(a.distinct().is_some());
        let total: f64 = a.distinct().expect("no stop").iter().map(|r| r[3]).sum();
        assert_eq!(total, 5000.0);
    }

    #[test]
    fn figures_whose_bits_need_more_than_64_bits_sort_and_decode_exactly() {
        // Spend-like figures vary in almost every bit: (count, spend) needs a 128-bit key,
        // (count, spend, spend / 3.7) more than that.
        for third in [false, true] {
            let rows: Vec<Row> = (0..60_000u32)
                .map(|i| {
                    let m = f64::from(i % 977) * 1.013 + 0.01;
                    let c = if third { m / 3.7 + 1e-7 } else { 0.0 };
                    [f64::from(i % 5), m, c, 1.0]
                })
                .collect();
            let mut r = Rows::default();
            rows.iter().rev().for_each(|x| r.push(*x));
            let got = r.distinct().expect("no stop").to_vec();
            let want = by_comparison_sort(&rows);
            assert_eq!(got.len(), 4885);
            assert!(got == want, "third figure {third}");
        }
    }

    #[test]
    fn weighted_rows_on_two_threads_match_a_comparison_sort() {
        // Enough rows for the two-thread path, with weights and many equal keys that the
        // split between the two merges must not separate.
        let rows: Vec<Row> = (0..120_000u32)
            .map(|i| {
                let j = (i * 7919) % 120_000;
                [
                    f64::from(j % 9),
                    f64::from(j % 31),
                    40.0 + f64::from(j % 17),
                    0.5 + f64::from(j % 3),
                ]
            })
            .collect();
        let mut r = Rows::default();
        r.extend(rows.iter().copied());
        let got = r.distinct().expect("no stop").to_vec();
        let want = by_comparison_sort(&rows);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g[..3], w[..3]);
            assert!((g[3] - w[3]).abs() < 1e-6, "{g:?} {w:?}");
        }
    }
}

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

/// Sorts `rows` by their figures and merges equal ones, adding their weights.
///
/// Each figure's bits that differ between rows are packed into one integer key (the others
/// are the same in every row, so dropping them keeps the order and the key decodes back to
/// the figures); the keys are radix-sorted in two halves on two threads and merged. Whole
/// days and counts need a few dozen bits; spend-like figures may need 128 or more.
pub fn dedup(rows: &mut Vec<Row>) {
    let Some(first) = rows.first().map(|r| r.map(|v| (v + 0.0).to_bits())) else {
        return;
    };
    let mut varying = [0u64; 3];
    for r in rows.iter() {
        for k in 0..3 {
            // +0.0 turns -0.0 into 0.0, so both share a key; figures are checked to be >= 0.
            varying[k] |= (r[k] + 0.0).to_bits() ^ first[k];
        }
    }
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
    let pack = |r: &Row| -> u128 {
        spans.iter().enumerate().fold(0u128, |key, (k, &(lo, w))| {
            let bits = ((r[k] + 0.0).to_bits() >> lo) & low_bits(w);
            (key << w) | u128::from(bits)
        })
    };
    let unpack = |key: u128| -> [f64; 3] {
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
    if width <= 64 {
        merge_by(rows, |r| pack(r) as u64, |k| unpack(u128::from(k)));
    } else if width <= 128 {
        merge_by(rows, pack, unpack);
    } else {
        // Figures that vary in almost every bit: sort by all of them.
        let bits = |r: &Row| [0, 1, 2].map(|k| (r[k] + 0.0).to_bits());
        merge_by(
            rows,
            |r| (bits(r)[0], bits(r)[1], bits(r)[2]),
            |k| [k.0, k.1, k.2].map(f64::from_bits),
        );
    }
}

/// Replaces `rows` by their distinct figures in key order, with summed weights.
fn merge_by<K: radsort::Key + Ord + Copy + Send>(
    rows: &mut Vec<Row>,
    key: impl Fn(&Row) -> K,
    figures: impl Fn(K) -> [f64; 3],
) {
    // Raw rows all weigh 1: then the keys alone are sorted (half the bytes to move) and
    // weights are run lengths.
    let merged = if rows.iter().all(|r| r[3] == 1.0) {
        sort_merge(rows.iter().map(&key).collect(), |k| *k, |_| 1.0)
    } else {
        sort_merge(
            rows.iter().map(|r| (key(r), r[3])).collect(),
            |p| p.0,
            |p| p.1,
        )
    };
    rows.clear();
    rows.extend(merged.into_iter().map(|(k, w)| {
        let [a, b, c] = figures(k);
        [a, b, c, w]
    }));
}

/// Sorts items by key and merges equal keys, adding their weights: two halves are
/// radix-sorted on two threads, then merged.
fn sort_merge<T: Copy + Send, K: radsort::Key + Ord + Copy>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> K + Copy + Send,
    weight: impl Fn(&T) -> f64,
) -> Vec<(K, f64)> {
    let mid = items.len() / 2;
    let (lo, hi) = items.split_at_mut(mid);
    if mid > 25_000 {
        std::thread::scope(|sc| {
            sc.spawn(move || radsort::sort_by_key(hi, key));
            radsort::sort_by_key(lo, key);
        });
    } else {
        radsort::sort_by_key(lo, key);
        radsort::sort_by_key(hi, key);
    }
    let (lo, hi) = items.split_at(mid);
    let mut out: Vec<(K, f64)> = Vec::with_capacity(items.len());
    let (mut i, mut j) = (0, 0);
    while i < lo.len() || j < hi.len() {
        let next = if j == hi.len() || (i < lo.len() && key(&lo[i]) <= key(&hi[j])) {
            i += 1;
            &lo[i - 1]
        } else {
            j += 1;
            &hi[j - 1]
        };
        let (k, w) = (key(next), weight(next));
        match out.last_mut() {
            Some(last) if last.0 == k => last.1 += w,
            _ => out.push((k, w)),
        }
    }
    out
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
#[derive(Debug, Default)]
pub struct Rows {
    rows: Vec<Row>,
    compacted: usize,
}

const COMPACT_AFTER: usize = 1 << 22;

impl Rows {
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
        if self.rows.len() - self.compacted >= COMPACT_AFTER {
            self.compact();
        }
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

    /// The distinct rows by value, with their weights.
    pub fn distinct(&mut self) -> &[Row] {
        if self.compacted != self.rows.len() {
            self.compact();
        }
        &self.rows
    }

    fn compact(&mut self) {
        dedup(&mut self.rows);
        self.compacted = self.rows.len();
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
            r.distinct(),
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
        let total: f64 = a.distinct().iter().map(|r| r[3]).sum();
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
            let got = r.distinct().to_vec();
            let mut want = rows.clone();
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
            assert_eq!(got.len(), 4885);
            assert!(got == want, "third figure {third}");
        }
    }
}

//! Orders rows by their packed keys: one pass scatters the rows into buckets by the keys' top
//! bits (a few dozen rows per bucket), then the buckets are sorted on several threads. Each
//! key travels with its row number and ties keep input order, as a stable sort.

use super::parallel::parallel;

/// The row numbers in sorted order (at most u32::MAX rows); `bits` is how many low bits of a
/// key are used.
pub fn order(keys: &[u128], bits: u32, threads: usize) -> Vec<u32> {
    if bits <= 64 {
        sorted::<u64>(keys, bits, threads)
    } else {
        sorted::<u128>(keys, bits, threads)
    }
}

/// The narrowest integer holding the keys: half the memory traffic when they fit in 64 bits.
trait Key: Copy + Ord + Default + Send {
    fn from_key(k: u128) -> Self;
    fn bucket(self, shift: u32) -> usize;
}

// A key as wide as its type with no bucket bits (a few rows) shifts by the whole width: one
// bucket, 0 — where `>>` would overflow.
impl Key for u64 {
    fn from_key(k: u128) -> Self {
        k as u64
    }
    fn bucket(self, shift: u32) -> usize {
        self.checked_shr(shift).unwrap_or(0) as usize
    }
}

impl Key for u128 {
    fn from_key(k: u128) -> Self {
        k
    }
    fn bucket(self, shift: u32) -> usize {
        self.checked_shr(shift).unwrap_or(0) as usize
    }
}

/// Rows per bucket the scatter aims at: small enough for a bucket to sort in cache.
const ROWS_PER_BUCKET: usize = 32;
const MAX_BUCKET_BITS: u32 = 16;

fn sorted<K: Key>(keys: &[u128], bits: u32, threads: usize) -> Vec<u32> {
    let n = keys.len();
    let bucket_bits = bits
        .min(usize::BITS - (n / ROWS_PER_BUCKET).leading_zeros())
        .min(MAX_BUCKET_BITS);
    let shift = bits - bucket_bits;
    let mut starts = vec![0usize; (1 << bucket_bits) + 1];
    for &k in keys {
        starts[K::from_key(k).bucket(shift) + 1] += 1;
    }
    for b in 1..starts.len() {
        starts[b] += starts[b - 1];
    }
    let mut rows = vec![(K::default(), 0u32); n];
    let mut next = starts.clone();
    for (row, &k) in keys.iter().enumerate() {
        let k = K::from_key(k);
        let slot = &mut next[k.bucket(shift)];
        rows[*slot] = (k, row as u32);
        *slot += 1;
    }
    sort_buckets(&mut rows, &starts, threads.max(1));
    rows.into_iter().map(|(_, row)| row).collect()
}

/// Sorts each bucket `rows[starts[b]..starts[b + 1]]`, giving each thread a contiguous run of
/// buckets with about the same number of rows.
fn sort_buckets<K: Key>(rows: &mut [(K, u32)], starts: &[usize], threads: usize) {
    let n = rows.len();
    let sort_run = |run: &mut [(K, u32)], bounds: &[usize]| {
        let base = bounds[0];
        for w in bounds.windows(2) {
            run[w[0] - base..w[1] - base].sort_unstable();
        }
    };
    if threads == 1 || n < 4096 {
        sort_run(rows, starts);
        return;
    }
    // Bucket boundaries where each thread's share begins.
    let mut cuts = vec![0usize];
    for t in 1..threads {
        let goal = n * t / threads;
        let b = starts.partition_point(|&s| s < goal).min(starts.len() - 1);
        cuts.push(b.max(*cuts.last().unwrap_or(&0)));
    }
    cuts.push(starts.len() - 1);
    let mut parts = Vec::with_capacity(threads);
    let mut rest = rows;
    let mut taken = 0;
    for w in cuts.windows(2) {
        let bounds = &starts[w[0]..=w[1]];
        let (run, tail) = rest.split_at_mut(bounds[bounds.len() - 1] - taken);
        taken = bounds[bounds.len() - 1];
        rest = tail;
        parts.push((run, bounds));
    }
    parallel(parts, |(run, bounds)| sort_run(run, bounds));
}

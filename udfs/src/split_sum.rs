//! Sums over many rows on two threads: the likelihoods and their gradients are sums over
//! customers, and the machine cip runs on has two cores.

/// `f` applied to both halves of `rows` (on two threads when there are enough rows to pay
/// for one), added component-wise. Each half is summed in order, so the result does not
/// depend on scheduling.
pub fn sum_halves<T: Sync, const K: usize>(
    rows: &[T],
    f: impl Fn(&[T]) -> [f64; K] + Sync,
) -> [f64; K] {
    let (lo, hi) = rows.split_at(rows.len() / 2);
    let (a, b) = if rows.len() > 20_000 {
        std::thread::scope(|sc| {
            let h = sc.spawn(|| f(hi));
            let a = f(lo);
            (a, h.join().unwrap_or([f64::NAN; K]))
        })
    } else {
        (f(lo), f(hi))
    };
    std::array::from_fn(|i| a[i] + b[i])
}

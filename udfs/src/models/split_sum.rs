//! Work over many rows on two threads: the likelihoods and their gradients are sums over
//! customers, the de-duplication sorts and merges them, and the machine cip runs on has two
//! cores.

/// Runs `a` and `b`, on two threads when `parallel` (a thread costs tens of microseconds, so
/// callers ask for it only with enough rows to pay for one).
pub fn both<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if !parallel {
        return (a(), b());
    }
    std::thread::scope(|sc| {
        let h = sc.spawn(b);
        let a = a();
        // A panic on the helper thread is re-raised here, where DataFusion's task sees it.
        (a, h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}

/// `f` applied to both halves of `rows` (on two threads from 20k rows), added
/// component-wise. Each half is summed in order, so the result does not depend on
/// scheduling.
pub fn sum_halves<T: Sync, const K: usize>(
    rows: &[T],
    f: impl Fn(&[T]) -> [f64; K] + Sync,
) -> [f64; K] {
    let (lo, hi) = rows.split_at(rows.len() / 2);
    let (a, b) = both(rows.len() > 20_000, || f(lo), || f(hi));
    std::array::from_fn(|i| a[i] + b[i])
}

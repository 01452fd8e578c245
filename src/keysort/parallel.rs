//! The one way the key sort spreads work over threads: scoped threads for all parts but the
//! last, which runs on the calling thread (a blocking-pool thread, see exec.rs).

/// `f` applied to every part, results in the parts' order. A panic in a part is re-raised.
pub fn parallel<T: Send, R: Send>(mut parts: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let Some(last) = parts.pop() else {
        return Vec::new();
    };
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        let last = f(last);
        let mut out: Vec<R> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        out.push(last);
        out
    })
}

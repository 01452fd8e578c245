//! What one client's session may hold of the server's memory pool at once
//! (`[engine] statement_memory_limit`).
//!
//! DataFusion charges operator state (hash tables, sort buffers, aggregate states such as
//! string_agg's and array_agg's) to the runtime's pool, which is server-wide: one statement
//! could take all of it and every other connection then failed with 53200. A client session
//! runs on a `SessionPool` over the server's pool: a reservation must fit under both the
//! session's limit and the server's, so one client's statement fails (or spills) at its own
//! limit while the others carry on. Result batches waiting to be sent and the values the
//! amplifying functions are about to build (functions/bounded_values.rs) are charged to the
//! same pool.

use datafusion::common::{human_readable_size, resources_datafusion_err, Result};
use datafusion::execution::memory_pool::{MemoryLimit, MemoryPool, MemoryReservation};
use datafusion::execution::runtime_env::RuntimeEnv;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub struct SessionPool {
    server: Arc<dyn MemoryPool>,
    limit: usize,
    used: AtomicUsize,
}

impl SessionPool {
    pub fn new(server: Arc<dyn MemoryPool>, limit: usize) -> Self {
        SessionPool {
            server,
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// `server`'s runtime with its pool seen through a session limit of `limit` bytes.
    pub fn runtime(server: &RuntimeEnv, limit: usize) -> Arc<RuntimeEnv> {
        let pool = SessionPool::new(server.memory_pool.clone(), limit);
        Arc::new(RuntimeEnv {
            memory_pool: Arc::new(pool),
            ..server.clone()
        })
    }
}

impl std::fmt::Display for SessionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "session pool: {} of {} over {}",
            human_readable_size(self.reserved()),
            human_readable_size(self.limit),
            self.server
        )
    }
}

impl MemoryPool for SessionPool {
    fn name(&self) -> &str {
        "session"
    }

    fn register(&self, consumer: &datafusion::execution::memory_pool::MemoryConsumer) {
        self.server.register(consumer)
    }

    fn unregister(&self, consumer: &datafusion::execution::memory_pool::MemoryConsumer) {
        self.server.unregister(consumer)
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.server.grow(reservation, additional);
        self.used.fetch_add(additional, Ordering::AcqRel);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.server.shrink(reservation, shrink);
        self.used.fetch_sub(shrink, Ordering::AcqRel);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let before = self.used.fetch_add(additional, Ordering::AcqRel);
        if before.saturating_add(additional) > self.limit {
            self.used.fetch_sub(additional, Ordering::AcqRel);
            return Err(resources_datafusion_err!(
                "out of memory: {} for {} would take this session past its limit of {} \
                 (engine.statement_memory_limit); it holds {}",
                human_readable_size(additional),
                reservation.consumer().name(),
                human_readable_size(self.limit),
                human_readable_size(before)
            ));
        }
        if let Err(e) = self.server.try_grow(reservation, additional) {
            self.used.fetch_sub(additional, Ordering::AcqRel);
            return Err(e);
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryConsumer};

    #[test]
    fn a_session_stops_at_its_limit_and_the_server_at_its_own() {
        let server: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(1000));
        let a: Arc<dyn MemoryPool> = Arc::new(SessionPool::new(server.clone(), 600));
        let b: Arc<dyn MemoryPool> = Arc::new(SessionPool::new(server.clone(), 600));
        let ra = MemoryConsumer::new("sort").register(&a);
        let rb = MemoryConsumer::new("hash").register(&b);
        ra.try_grow(500).expect("under both limits");
        let e = ra.try_grow(200).expect_err("past the session's limit");
        assert!(e.to_string().contains("statement_memory_limit"), "{e}");
        // The refused request left nothing behind in either count.
        assert_eq!((a.reserved(), server.reserved()), (500, 500));
        rb.try_grow(400).expect("b has its own 600");
        rb.try_grow(200).expect_err("the server's 1000 are gone");
        assert_eq!((b.reserved(), server.reserved()), (400, 900));
        drop(ra);
        assert_eq!((a.reserved(), server.reserved()), (0, 400));
        rb.try_grow(200).expect("freed by a");
    }
}

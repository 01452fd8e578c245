//! The server's memory pool (`[engine] memory_pool`): this module's `SharePool` by default —
//! DataFusion's fair rule plus memory nobody holds, up to half the pool — or DataFusion's own.
//!
//! DataFusion's `FairSpillPool` caps every consumer that can spill at an equal share of the
//! pool among the spillable consumers *registered*. A plan registers all of its operators
//! when it starts, so the one doing the work shares the pool with repartition channels that
//! hold a batch or two, partial aggregations that have already emitted, and operators still
//! waiting for input (apache/datafusion#22036). Ranking ten million members (RFM quintiles)
//! under the default 4 GiB pool, the final aggregation was held to an eighth of the pool and
//! spilled four times while the process never held more than 2 GB.
//!
//! Here a spillable consumer may grow while the pool has memory free, until spillers together
//! hold half the pool, and once that is reached, up to its fair share as before — so it
//! spills only when others really hold the memory. What a spiller holds beyond an equal share
//! of the pool is lent: a consumer that cannot spill may take it (the fair pool would never
//! have let the spiller hold it), and a spiller over its share with nothing free spills at its
//! next request. In any given state, every request the fair pool would grant, this one grants
//! too.
//!
//! The default since the population's fit stopped carrying both fits' parameters on every
//! member's row into a hash join (queries/05_member_measures.sql): DataFusion does not count
//! all it holds (an aggregation's emitted groups, for one), and with that build side `cip
//! score` of ten million members peaked at 5.2 GB of RSS under this pool (3.6 GiB under the
//! fair one); now at 3.65 GiB, with the RFM quintiles twice as fast as under the fair pool —
//! benches/README.md.

use datafusion::common::{human_readable_size, resources_datafusion_err, Result};
use datafusion::execution::memory_pool::{
    FairSpillPool, GreedyMemoryPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
    TrackConsumersPool,
};
use serde::Deserialize;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

/// `[engine] memory_pool`: how the server's memory is shared among operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolKind {
    /// This module's pool.
    Share,
    /// DataFusion's FairSpillPool: each spiller held to its share of the consumers registered.
    Fair,
    /// DataFusion's GreedyMemoryPool: first come, first served.
    Greedy,
}

/// The server's pool of `size` bytes; a failed request names the five largest consumers.
pub fn server_pool(kind: PoolKind, size: usize) -> Arc<dyn MemoryPool> {
    let top = NonZeroUsize::MIN.saturating_add(4);
    match kind {
        PoolKind::Share => Arc::new(TrackConsumersPool::new(SharePool::new(size), top)),
        PoolKind::Fair => Arc::new(TrackConsumersPool::new(FairSpillPool::new(size), top)),
        PoolKind::Greedy => Arc::new(TrackConsumersPool::new(GreedyMemoryPool::new(size), top)),
    }
}

#[derive(Debug)]
pub struct SharePool {
    size: usize,
    /// The most spillers may hold together by taking free memory (beyond their fair shares).
    spill_limit: usize,
    state: Mutex<State>,
}

/// Spillers take free memory until together they hold this fraction of the pool, leaving room
/// for what DataFusion holds without counting: one model fit at ten million members, its
/// aggregations free to take the whole 4 GiB pool, reached 4.7 GB of RSS; held to half, 2.9 GB
/// (2.6 GB under the fair pool), while one key sort of all members still fits.
const SPILL_DIVISOR: usize = 2;

#[derive(Debug, Default)]
struct State {
    /// Spillable consumers registered: the fair share divides among them.
    spillers: usize,
    /// What each spillable consumer holds, over all its reservations.
    held: HashMap<usize, usize>,
    unspillable: usize,
}

impl State {
    /// Each spiller's share of what the consumers that cannot spill leave.
    fn fair_share(&self, size: usize) -> usize {
        size.saturating_sub(self.unspillable) / self.spillers.max(1)
    }

    /// What spillable consumers hold.
    fn spillable(&self) -> usize {
        self.held.values().sum()
    }

    /// Memory nobody holds that spillers may still take: up to `limit` held by them together.
    fn free_to_spill(&self, size: usize, limit: usize) -> usize {
        let spillable = self.spillable();
        size.saturating_sub(self.unspillable + spillable)
            .min(limit.saturating_sub(spillable))
    }

    /// What spillers hold within an equal share of the whole pool: the part not lent. (Not
    /// the share left by unspillable memory, which shrinks as that memory grows and would
    /// let consumers that cannot spill take everything spillers hold.)
    fn spillable_within_shares(&self, size: usize) -> usize {
        let share = size / self.spillers.max(1);
        self.held.values().map(|h| (*h).min(share)).sum()
    }

    fn add(&mut self, consumer: &MemoryConsumer, bytes: usize) {
        if consumer.can_spill() {
            *self.held.entry(consumer.id()).or_default() += bytes;
        } else {
            self.unspillable += bytes;
        }
    }

    /// For errors and Display (which cannot lock again inside try_grow).
    fn describe(&self, size: usize) -> String {
        format!(
            "share pool of {}, {} held by {} spillable consumers and {} by unspillable ones",
            human_readable_size(size),
            human_readable_size(self.spillable()),
            self.spillers,
            human_readable_size(self.unspillable)
        )
    }

    fn sub(&mut self, consumer: &MemoryConsumer, bytes: usize) {
        if consumer.can_spill() {
            if let Some(h) = self.held.get_mut(&consumer.id()) {
                *h = h.saturating_sub(bytes);
                if *h == 0 {
                    self.held.remove(&consumer.id());
                }
            }
        } else {
            self.unspillable = self.unspillable.saturating_sub(bytes);
        }
    }
}

impl SharePool {
    pub fn new(size: usize) -> Self {
        Self::with_spill_limit(size, size / SPILL_DIVISOR)
    }

    /// A pool whose spillers take free memory until together they hold `spill_limit`.
    fn with_spill_limit(size: usize, spill_limit: usize) -> Self {
        SharePool {
            size,
            spill_limit,
            state: Mutex::new(State::default()),
        }
    }

    /// The state; a panic elsewhere while holding the lock leaves counts that are still
    /// whole (every update is one statement), so a poisoned lock is used as is.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Display for SharePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.state().describe(self.size))
    }
}

impl MemoryPool for SharePool {
    fn name(&self) -> &str {
        "share"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            self.state().spillers += 1;
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            let mut state = self.state();
            state.spillers = state.spillers.saturating_sub(1);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.state().add(reservation.consumer(), additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.state().sub(reservation.consumer(), shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let mut state = self.state();
        let consumer = reservation.consumer();
        let available = if consumer.can_spill() {
            state.free_to_spill(self.size, self.spill_limit).max(
                state
                    .fair_share(self.size)
                    .saturating_sub(reservation.size()),
            )
        } else {
            self.size
                .saturating_sub(state.unspillable + state.spillable_within_shares(self.size))
        };
        if additional > available {
            return Err(resources_datafusion_err!(
                "Failed to allocate additional {} for {} with {} already allocated for this \
                 reservation - {} remain available for the total memory pool: {}",
                human_readable_size(additional),
                consumer.name(),
                human_readable_size(reservation.size()),
                human_readable_size(available),
                state.describe(self.size)
            ));
        }
        state.add(consumer, additional);
        Ok(())
    }

    fn reserved(&self) -> usize {
        let state = self.state();
        state.spillable() + state.unspillable
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.size)
    }
}

#[cfg(test)]
mod tests;

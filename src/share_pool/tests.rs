use super::*;
use datafusion::execution::memory_pool::FairSpillPool;
use std::sync::Arc;

fn spiller(pool: &Arc<dyn MemoryPool>, name: &str) -> MemoryReservation {
    MemoryConsumer::new(name)
        .with_can_spill(true)
        .register(pool)
}

fn holder(pool: &Arc<dyn MemoryPool>, name: &str) -> MemoryReservation {
    MemoryConsumer::new(name).register(pool)
}

#[test]
fn a_spiller_grows_into_memory_idle_consumers_do_not_hold() {
    let pool: Arc<dyn MemoryPool> = Arc::new(SharePool::with_spill_limit(1000, 1000));
    let working = spiller(&pool, "aggregation");
    let _waiting: Vec<_> = (0..7)
        .map(|i| spiller(&pool, &format!("idle {i}")))
        .collect();
    working.try_grow(900).unwrap();
    assert!(working.try_grow(200).is_err(), "past the pool");

    // The fair pool holds it to an eighth although nothing else is held.
    let fair: Arc<dyn MemoryPool> = Arc::new(FairSpillPool::new(1000));
    let working = spiller(&fair, "aggregation");
    let _waiting: Vec<_> = (0..7)
        .map(|i| spiller(&fair, &format!("idle {i}")))
        .collect();
    assert!(working.try_grow(900).is_err());
}

#[test]
fn spillers_take_free_memory_up_to_half_the_pool_and_their_fair_share_always() {
    let pool: Arc<dyn MemoryPool> = Arc::new(SharePool::new(1000));
    let working = spiller(&pool, "aggregation");
    let waiting: Vec<_> = (0..7)
        .map(|i| spiller(&pool, &format!("idle {i}")))
        .collect();
    // Fair share 125, half the pool 500: the limit holds though 500 stays free.
    working.try_grow(500).unwrap();
    assert!(working.try_grow(1).is_err(), "past half the pool");
    // Another spiller still has its fair share.
    waiting[0].try_grow(125).unwrap();
    assert!(waiting[0].try_grow(1).is_err());
    drop(waiting);
    // Alone, its fair share is the whole pool: the limit never takes that away.
    working.try_grow(500).unwrap();
    assert_eq!(pool.reserved(), 1000);
}

#[test]
fn when_the_pool_is_full_a_spiller_keeps_its_fair_share_and_no_more() {
    let pool: Arc<dyn MemoryPool> = Arc::new(SharePool::with_spill_limit(1000, 1000));
    let first = spiller(&pool, "first");
    let second = spiller(&pool, "second");
    first.try_grow(1000).unwrap();
    // Nothing is free, but half the pool is the second's by right.
    second.try_grow(500).unwrap();
    assert!(second.try_grow(1).is_err());
    // The first is over its share with nothing free: it must spill.
    assert!(first.try_grow(1).is_err());
    first.shrink(800);
    // 300 free now (200 + 500 held).
    first.try_grow(300).unwrap();
    assert_eq!(pool.reserved(), 1000);
}

#[test]
fn memory_lent_to_a_spiller_goes_to_a_consumer_that_cannot_spill() {
    let pool: Arc<dyn MemoryPool> = Arc::new(SharePool::with_spill_limit(1000, 1000));
    let aggregation = spiller(&pool, "aggregation");
    let _idle = spiller(&pool, "idle");
    let join = holder(&pool, "hash join");
    aggregation.try_grow(900).unwrap();
    // 400 of the aggregation's 900 is beyond its share of 500: lent, so the join may have
    // it (the fair pool would never have let the aggregation take it) and the 100 free.
    join.try_grow(500).unwrap();
    assert!(join.try_grow(1).is_err(), "the rest is within the share");
    // Nothing is free and the aggregation is over its share: its next request fails, it
    // spills, and the memory goes back.
    assert!(aggregation.try_grow(1).is_err());
    aggregation.free();
    join.try_grow(500).unwrap();
    assert_eq!(pool.reserved(), 1000);
}

#[test]
fn counts_return_to_zero_when_reservations_go() {
    let share = Arc::new(SharePool::with_spill_limit(1000, 1000));
    let pool: Arc<dyn MemoryPool> = share.clone();
    {
        let a = spiller(&pool, "a");
        let a2 = a.new_empty();
        let b = holder(&pool, "b");
        a.try_grow(300).unwrap();
        a2.try_grow(200).unwrap();
        b.try_grow(100).unwrap();
        assert_eq!(pool.reserved(), 600);
        a2.shrink(50);
        assert_eq!(share.state().held.get(&a.consumer().id()), Some(&450));
    }
    assert_eq!(pool.reserved(), 0);
    let state = share.state();
    assert_eq!(state.spillers, 0);
    assert!(state.held.is_empty());
    assert_eq!((state.spillable(), state.unspillable), (0, 0));
}

/// Whatever the pool holds, a request the fair pool would grant is granted here too.
#[test]
fn every_request_the_fair_pool_grants_is_granted() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..500 {
        let fair: Arc<dyn MemoryPool> = Arc::new(FairSpillPool::new(1000));
        let share: Arc<dyn MemoryPool> = Arc::new(SharePool::new(1000));
        let mut pairs = Vec::new();
        for i in 0..(1 + next(6)) {
            let spills = next(3) > 0;
            let consumer = |pool: &Arc<dyn MemoryPool>| {
                MemoryConsumer::new(format!("c{i}"))
                    .with_can_spill(spills)
                    .register(pool)
            };
            let (f, s) = (consumer(&fair), consumer(&share));
            // The same holdings in both, granted or not.
            let held = next(400) as usize;
            f.grow(held);
            s.grow(held);
            pairs.push((f, s));
        }
        for (f, s) in &pairs {
            let ask = next(600) as usize;
            if f.try_grow(ask).is_ok() {
                f.shrink(ask);
                assert!(
                    s.try_grow(ask).is_ok(),
                    "{share} refused {ask} to {}",
                    s.consumer().name()
                );
                s.shrink(ask);
            }
        }
    }
}

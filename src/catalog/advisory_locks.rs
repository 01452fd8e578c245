//! PostgreSQL's advisory locks: locks on numbers an application chooses (a bigint, or a pair of
//! integers), held by a session until it unlocks them or ends, or — the `xact` forms — until
//! its transaction ends. Exclusive or shared; re-entrant (a session that locks twice unlocks
//! twice). A wait that would close a cycle of sessions waiting on each other fails with 40P01
//! "deadlock detected" instead of hanging. One table per server, shared by its sessions;
//! asyncpg's pool unlocks everything each time a connection goes back to the pool.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// A lock's key: `pg_advisory_lock(bigint)` and `pg_advisory_lock(int, int)` name different
/// locks, as in PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    One(i64),
    Two(i32, i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Exclusive,
    Shared,
}

/// Until when a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Session,
    Transaction,
}

#[derive(Debug)]
struct Hold {
    session: u64,
    mode: Mode,
    scope: Scope,
    count: u32,
}

#[derive(Debug, Default)]
struct Table {
    held: HashMap<Key, Vec<Hold>>,
    /// The key each waiting session waits for, and in which mode.
    waiting: HashMap<u64, (Key, Mode)>,
}

impl Table {
    fn blocked(&self, session: u64, key: Key, mode: Mode) -> bool {
        self.held.get(&key).is_some_and(|holds| {
            holds.iter().any(|h| {
                h.session != session && (mode == Mode::Exclusive || h.mode == Mode::Exclusive)
            })
        })
    }

    /// Whether `session` waiting for `key` would wait, through holders of `key` and what they
    /// wait for, on itself.
    fn would_deadlock(&self, session: u64, key: Key) -> bool {
        let mut seen = Vec::new();
        let mut keys = vec![key];
        while let Some(k) = keys.pop() {
            for h in self.held.get(&k).into_iter().flatten() {
                if h.session == session {
                    continue;
                }
                if seen.contains(&h.session) {
                    continue;
                }
                seen.push(h.session);
                if let Some((next, _)) = self.waiting.get(&h.session) {
                    if self
                        .held
                        .get(next)
                        .is_some_and(|hs| hs.iter().any(|x| x.session == session))
                    {
                        return true;
                    }
                    keys.push(*next);
                }
            }
        }
        false
    }

    fn take(&mut self, session: u64, key: Key, mode: Mode, scope: Scope) {
        let holds = self.held.entry(key).or_default();
        match holds
            .iter_mut()
            .find(|h| h.session == session && h.mode == mode && h.scope == scope)
        {
            Some(h) => h.count += 1,
            None => holds.push(Hold {
                session,
                mode,
                scope,
                count: 1,
            }),
        }
    }
}

/// The server's advisory locks.
#[derive(Debug, Default)]
pub struct AdvisoryLocks {
    table: Mutex<Table>,
    released: Notify,
    next_session: AtomicU64,
}

/// Why a lock was not taken.
#[derive(Debug, PartialEq)]
pub enum Refused {
    Deadlock,
}

impl AdvisoryLocks {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A handle for one session; dropping it releases everything the session holds.
    pub fn session(self: &Arc<Self>) -> SessionLocks {
        SessionLocks {
            locks: self.clone(),
            id: self.next_session.fetch_add(1, Ordering::Relaxed) + 1,
            holds_xact: AtomicBool::new(false),
        }
    }

    fn release_where(&self, keep: impl Fn(&Hold) -> bool) {
        let mut t = self.lock();
        for holds in t.held.values_mut() {
            holds.retain(&keep);
        }
        t.held.retain(|_, holds| !holds.is_empty());
        drop(t);
        self.released.notify_waiters();
    }
}

/// One session's side of the lock table.
#[derive(Debug)]
pub struct SessionLocks {
    locks: Arc<AdvisoryLocks>,
    pub id: u64,
    /// Whether a transaction-level lock may be held: `end_transaction` runs before every
    /// statement and has nothing to do (no table lock, no wake-ups) while this is false.
    holds_xact: AtomicBool,
}

impl SessionLocks {
    fn take(&self, t: &mut Table, key: Key, mode: Mode, scope: Scope) {
        if scope == Scope::Transaction {
            self.holds_xact.store(true, Ordering::SeqCst);
        }
        t.take(self.id, key, mode, scope);
    }

    /// Takes the lock if no other session's lock conflicts; false otherwise.
    pub fn try_lock(&self, key: Key, mode: Mode, scope: Scope) -> bool {
        let mut t = self.locks.lock();
        if t.blocked(self.id, key, mode) {
            return false;
        }
        self.take(&mut t, key, mode, scope);
        true
    }

    /// Takes the lock, waiting while another session's conflicts (the wait ends with the
    /// statement if it is cancelled or times out); 40P01 rather than wait in a cycle.
    pub async fn lock(&self, key: Key, mode: Mode, scope: Scope) -> Result<(), Refused> {
        loop {
            let released = self.locks.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            {
                let mut t = self.locks.lock();
                if !t.blocked(self.id, key, mode) {
                    t.waiting.remove(&self.id);
                    self.take(&mut t, key, mode, scope);
                    return Ok(());
                }
                if t.would_deadlock(self.id, key) {
                    t.waiting.remove(&self.id);
                    return Err(Refused::Deadlock);
                }
                t.waiting.insert(self.id, (key, mode));
            }
            let _waiting = Waiting(self);
            released.await;
        }
    }

    /// Releases one session-level hold of the lock; false when the session held none.
    pub fn unlock(&self, key: Key, mode: Mode) -> bool {
        let mut t = self.locks.lock();
        let Some(holds) = t.held.get_mut(&key) else {
            return false;
        };
        let Some(at) = holds
            .iter()
            .position(|h| h.session == self.id && h.mode == mode && h.scope == Scope::Session)
        else {
            return false;
        };
        holds[at].count -= 1;
        if holds[at].count == 0 {
            holds.remove(at);
        }
        if holds.is_empty() {
            t.held.remove(&key);
        }
        drop(t);
        self.locks.released.notify_waiters();
        true
    }

    /// Releases every session-level lock (`pg_advisory_unlock_all`).
    pub fn unlock_all(&self) {
        let id = self.id;
        self.locks
            .release_where(|h| h.session != id || h.scope != Scope::Session);
    }

    /// Releases the transaction-level locks (its transaction ended).
    pub fn end_transaction(&self) {
        if !self.holds_xact.swap(false, Ordering::SeqCst) {
            return;
        }
        let id = self.id;
        self.locks
            .release_where(|h| h.session != id || h.scope != Scope::Transaction);
    }
}

/// A lock a session holds or waits for, as pg_locks lists it (locks_view.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    pub key: Key,
    pub mode: Mode,
    pub granted: bool,
}

impl SessionLocks {
    /// What the session holds (once per key and mode, however often and in whichever scope)
    /// and what it waits for.
    pub fn shown(&self) -> Vec<Shown> {
        let t = self.locks.lock();
        let mut out: Vec<Shown> = Vec::new();
        for (key, holds) in &t.held {
            for h in holds.iter().filter(|h| h.session == self.id) {
                let shown = Shown {
                    key: *key,
                    mode: h.mode,
                    granted: true,
                };
                if !out.contains(&shown) {
                    out.push(shown);
                }
            }
        }
        if let Some((key, mode)) = t.waiting.get(&self.id) {
            out.push(Shown {
                key: *key,
                mode: *mode,
                granted: false,
            });
        }
        out
    }
}

/// Marks the session as no longer waiting when its wait ends, cancelled or not.
struct Waiting<'a>(&'a SessionLocks);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.locks.lock().waiting.remove(&self.0.id);
    }
}

impl Drop for SessionLocks {
    fn drop(&mut self) {
        let id = self.id;
        self.locks.release_where(|h| h.session != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exclusive_shared_reentrant_and_deadlock() {
        let locks = Arc::new(AdvisoryLocks::default());
        let (a, b) = (locks.session(), locks.session());
        let k = Key::One(7);
        assert!(a.try_lock(k, Mode::Exclusive, Scope::Session));
        assert!(a.try_lock(k, Mode::Exclusive, Scope::Session));
        assert!(!b.try_lock(k, Mode::Shared, Scope::Session));
        assert!(a.unlock(k, Mode::Exclusive));
        assert!(!b.try_lock(k, Mode::Exclusive, Scope::Session));
        assert!(a.unlock(k, Mode::Exclusive));
        assert!(!a.unlock(k, Mode::Exclusive));
        assert!(b.try_lock(k, Mode::Shared, Scope::Session));
        assert!(a.try_lock(k, Mode::Shared, Scope::Session));
        b.unlock_all();
        // a waits for k2 held by b while b waits for k held by a: b's wait is refused.
        let k2 = Key::Two(1, 2);
        assert!(b.try_lock(k2, Mode::Exclusive, Scope::Transaction));
        assert!(a.try_lock(k, Mode::Exclusive, Scope::Session));
        let waiter = {
            let locks = locks.clone();
            let a = SessionLocks {
                locks,
                id: a.id,
                holds_xact: AtomicBool::new(false),
            };
            tokio::spawn(async move {
                let got = a.lock(k2, Mode::Exclusive, Scope::Session).await;
                std::mem::forget(a);
                got
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            b.lock(k, Mode::Exclusive, Scope::Session).await,
            Err(Refused::Deadlock)
        );
        b.end_transaction();
        assert_eq!(waiter.await.expect("join"), Ok(()));
        drop(a);
        assert!(b.try_lock(k, Mode::Exclusive, Scope::Session));
    }
}

//! The binary's allocator (mimalloc, declared in main.rs and in the benches that time what
//! the server does) without transparent huge pages.
//!
//! mimalloc asks for transparent huge pages on its arenas. Memory a query freed is handed
//! back to the kernel after a second, so the next statement — or the next phase of the same
//! one — faults it in again, and with huge pages each fault zeroes 2 MiB and, under the
//! kernel's default `defrag = madvise`, may first compact memory to find them. Measured at
//! 10M members (campaign_performance over psql, one server, benches/README.md): 11–28 s of
//! system CPU a run beside 15–18 s of the statement's own; with 4 KiB pages the faults zero
//! only what is touched and never wait on compaction.
//!
//! Freed memory is still handed back (mimalloc's purge by decommit): keeping it mapped
//! (MADV_FREE) made the statements faster again but `cip score` at 10M held 5.5 GB of RSS.

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// `mi_option_allow_thp` in the mimalloc.h of libmimalloc-sys 0.1.49 (mimalloc v3); the crate
/// names no constant for it, hence the version pinned in Cargo.toml.
const ALLOW_THP: mi_option_t = 43;

/// No transparent huge pages for this process — unless `MIMALLOC_ALLOW_THP` is in the
/// environment (mimalloc's own way to set it).
pub fn tune() {
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
        return;
    }
    // mimalloc reads this when it maps an arena; the arenas it has already mapped are covered
    // by the process-wide switch below.
    // SAFETY: sets an integer option; mimalloc reads it from any thread.
    unsafe { mi_option_set(ALLOW_THP, 0) }
    // A kernel that refuses it (before 3.15) leaves the pages as they were: no harm.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with integer arguments only; it sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

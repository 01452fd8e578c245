//! How the binary's allocator (mimalloc, declared in main.rs and in the benches that time
//! what the server does) takes memory from the kernel and gives it back.
//!
//! Measured at 10M members (campaign_performance over psql, five runs each on one server,
//! benches/README.md): with mimalloc's defaults the kernel's share of the statement's CPU
//! was 13–28 s against 14–17 s of the statement's own, in two ways. Memory a query freed is
//! purged after a second with MADV_DONTNEED, so the next statement — or the next phase of the
//! same one — faults it back in and the kernel zeroes every page (`clear_page_erms`, 69% of
//! the samples in perf). And mimalloc asks for transparent huge pages on its arenas, so each
//! such fault zeroes 2 MiB and, with the kernel's default `defrag = madvise`, may first
//! compact memory to find them (a first run after start: 25 s of system time).

use libmimalloc_sys::{mi_option_set, mi_option_t};

/// Option numbers in the mimalloc.h of libmimalloc-sys 0.1.49 (mimalloc v3); the crate names
/// no constants for them, hence the version pinned in Cargo.toml.
const PURGE_DECOMMITS: mi_option_t = 5;
const ALLOW_THP: mi_option_t = 43;

/// Purge by reset (MADV_FREE) instead: the pages stay mapped, the kernel still takes them
/// back when it is short of memory, and until then reusing them costs nothing — RSS then
/// shows the high-water mark rather than the memory in use. And no transparent huge pages
/// for this process: faults zero 4 KiB, and never wait on compaction.
///
/// Either is left as it is when its `MIMALLOC_…` variable is in the environment (mimalloc's
/// own way to set it).
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DECOMMITS").is_none() {
        // SAFETY: sets an integer option; mimalloc reads it at each purge, from any thread.
        unsafe { mi_option_set(PURGE_DECOMMITS, 0) }
    }
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // mimalloc reads this one when it maps an arena; the arenas it has already mapped
        // are covered by the process-wide switch.
        // SAFETY: as above.
        unsafe { mi_option_set(ALLOW_THP, 0) }
        // A kernel that refuses it (before 3.15) leaves the pages as they were: no harm.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl with integer arguments only; it sets a flag on this process.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
}

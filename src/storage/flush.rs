//! A table's log moved into Parquet, small parts merged, and the one manifest commit every
//! single-table write ends in, which records what the commit did to the rows (steps.rs).

use super::capped::CappedParts;
use super::manifest::{self, DataFile, Manifest};
use super::parquet_io::read_part;
use super::steps::{self, Rows};
use super::table::{Snapshot, Table};
use crate::error::Result;
use std::path::PathBuf;

impl Table {
    /// Moves the log into a Parquet part, then compacts if there are too many parts.
    pub fn flush(&self) -> Result<()> {
        let _g = self.lock_for_write()?;
        let snap = self.snapshot_for_write()?;
        if snap.wal_rows() > 0 {
            self.flush_locked(&snap)?;
        }
        Ok(())
    }

    pub(super) fn flush_locked(&self, snap: &Snapshot) -> Result<()> {
        let mut m = snap.manifest.clone();
        let part = manifest::part_name(m.take_file_number());
        let file = self.write_part(&part, &snap.wal_batches)?;
        m.files.push(file);
        // The old log stays with the step: rows appended to it after a reader's version.
        let new_wal = manifest::wal_name(m.take_file_number());
        let old_wal = std::mem::replace(&mut m.wal, new_wal);
        m.next_id = snap.next_id;
        self.commit(m, vec![], false, Some(old_wal), Rows::Same)?;
        self.compact_locked()
    }

    /// Merges small parts into one when there are more than `max_parts` (into parts of up to
    /// the table's cap, where its layout caps them: half the cap is small then, and only the
    /// small parts count, since a large table is meant to hold many parts of the cap).
    pub(super) fn compact_locked(&self) -> Result<()> {
        let snap = self.snapshot_for_write()?;
        let m = &snap.manifest;
        if m.files.len() <= self.opts.max_parts {
            return Ok(());
        }
        let cap = self.part_rows_cap();
        let small_rows = cap.map_or(self.opts.small_part_rows, |c| {
            (c / 2).min(self.opts.small_part_rows)
        });
        let (small, big): (Vec<DataFile>, Vec<DataFile>) =
            m.files.iter().cloned().partition(|f| f.rows < small_rows);
        if small.len() < 2 || (cap.is_some() && small.len() <= self.opts.max_parts) {
            return Ok(());
        }
        let mut next = m.clone();
        let mut merged = CappedParts::new(cap);
        let mut new_part = || self.part_writer(&manifest::part_name(next.take_file_number()));
        for f in &small {
            for b in read_part(&self.path_of(&f.name), &self.def.schema)? {
                merged.write(&b?, &mut new_part)?;
            }
        }
        next.files = big;
        for w in merged.into_writers() {
            next.files.push(w.finish()?);
        }
        let replaced = small.iter().map(|f| self.path_of(&f.name)).collect();
        self.commit(next, replaced, false, None, Rows::Same)
    }

    /// Commits a new manifest, recording the step: `log` is the log it replaced (None when
    /// the log goes on), `rows` what it did to the rows. Files no longer referenced (those
    /// `replaced` names that no kept step keeps, and those only a forgotten step kept) are
    /// removed once no reader of an older version is left (pin.rs); `erase` also retires
    /// whatever else the new state does not name (files an earlier flush or another process
    /// left).
    pub(super) fn commit(
        &self,
        mut m: Manifest,
        mut replaced: Vec<PathBuf>,
        erase: bool,
        log: Option<String>,
        rows: Rows,
    ) -> Result<()> {
        m.version += 1;
        let forgotten = steps::record(&mut m, log, rows);
        replaced.retain(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            !name.is_some_and(|n| steps::names(&m, &n))
        });
        replaced.extend(forgotten.iter().map(|f| self.path_of(f)));
        manifest::write(&self.dir, &m)?;
        if erase {
            replaced.extend(super::unreferenced(&self.dir, &m)?);
        }
        self.retire(replaced, m.version);
        // Re-read so the cache reflects exactly what is on disk.
        self.snapshot()?;
        Ok(())
    }
}

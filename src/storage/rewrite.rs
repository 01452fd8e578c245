//! UPDATE, DELETE, an upsert's merge and a load's replacement: rewriting the parts (and the
//! log) whose rows change, in one manifest commit under the table's write lock.

use super::manifest;
use super::parquet_io::{column_bounds, read_part, PartWriter};
use super::part_out::{Outcome, PartOut, HOLD_BYTES};
use super::rows::{fill_defaults, local_now_micros};
use super::steps::{self, Rows};
use super::table::{next_id_after, Snapshot, Table, TableVersion};
use super::write::{PartScope, RewriteFn, Tally};
use crate::error::Result;
use datafusion::arrow::record_batch::RecordBatch;

impl Table {
    /// Rewrites the table: `f` sees every existing batch; parts where it keeps everything stay
    /// as they are, the others (and the log) are rewritten; `extra` rows are added. Replaced
    /// files are removed as soon as no running reader needs them (at once when none runs), so
    /// erased rows leave the disk when the last query that started before the erasure ends.
    /// Returns the total count `f` reported.
    pub fn rewrite(&self, f: Option<&mut RewriteFn<'_>>, extra: &[RecordBatch]) -> Result<u64> {
        self.rewrite_with(None, f, extra, false)
            .map(|(changed, _)| changed)
    }

    /// `rewrite`, reading only the parts `scope` says `f` may change.
    pub fn rewrite_in(
        &self,
        scope: &mut PartScope<'_>,
        f: &mut RewriteFn<'_>,
        extra: &[RecordBatch],
    ) -> Result<u64> {
        self.rewrite_with(Some(scope), Some(f), extra, false)
            .map(|(changed, _)| changed)
    }

    /// Replaces every row of the table with `rows` in one commit, without reading the rows it
    /// drops (a rewrite reads every part). Returns the version committed.
    pub fn replace_all(&self, rows: &[RecordBatch]) -> Result<TableVersion> {
        self.rewrite_with(None, None, rows, true).map(|(_, v)| v)
    }

    fn rewrite_with(
        &self,
        scope: Option<&mut PartScope<'_>>,
        f: Option<&mut RewriteFn<'_>>,
        extra: &[RecordBatch],
        drop_all: bool,
    ) -> Result<(u64, TableVersion)> {
        let _g = self.lock_for_write()?;
        let snap = self.snapshot_for_write()?;
        self.rewrite_locked_with(&snap, scope, f, extra, drop_all, None)
    }

    /// `rewrite_with` for a writer holding the lock on `snap`.
    pub(super) fn rewrite_locked(
        &self,
        snap: &Snapshot,
        f: Option<&mut RewriteFn<'_>>,
        extra: &[RecordBatch],
        drop_all: bool,
    ) -> Result<(u64, TableVersion)> {
        self.rewrite_locked_with(snap, None, f, extra, drop_all, None)
    }

    /// `rewrite_locked`, reading only the parts `scope` allows, and adding the parts
    /// `written` has written (a Replacement's, whose rows took ids up to the number beside
    /// them) under the next part names.
    pub(super) fn rewrite_locked_with(
        &self,
        snap: &Snapshot,
        mut scope: Option<&mut PartScope<'_>>,
        mut f: Option<&mut RewriteFn<'_>>,
        extra: &[RecordBatch],
        drop_all: bool,
        written: Option<(Vec<PartWriter>, i64)>,
    ) -> Result<(u64, TableVersion)> {
        let mut next = snap.manifest.clone();
        let mut tally = Tally::default();
        let mut files = Vec::new();
        let mut replaced = Vec::new();
        for file in &snap.manifest.files {
            if drop_all {
                replaced.push(self.path_of(&file.name));
                tally.changed += file.rows;
                continue;
            }
            let Some(f) = f.as_deref_mut() else {
                files.push(file.clone());
                continue;
            };
            let path = self.path_of(&file.name);
            if let Some(scope) = scope.as_deref_mut() {
                if !part_in_scope(&path, scope)? {
                    files.push(file.clone());
                    continue;
                }
            }
            let mut out = PartOut::new(self, &path, HOLD_BYTES);
            let mut name = || manifest::part_name(next.take_file_number());
            for b in read_part(&path, &self.def.schema)? {
                let b = b?;
                match tally.apply(&self.def, f(&b)?, &b)? {
                    None => out.push(b, false, &mut name)?,
                    Some(rows) => out.push(rows, true, &mut name)?,
                }
            }
            match out.finish()? {
                Outcome::Kept => files.push(file.clone()),
                Outcome::Rewritten(part) => {
                    replaced.push(path);
                    files.extend(part);
                }
            }
        }
        let mut tail = Vec::new();
        for b in snap.wal_batches.iter() {
            if drop_all {
                tally.changed += b.num_rows() as u64;
                continue;
            }
            let Some(f) = f.as_deref_mut() else {
                tail.push(b.clone());
                continue;
            };
            let rows = tally.apply(&self.def, f(b)?, b)?;
            tail.push(rows.unwrap_or_else(|| b.clone()));
        }
        let mut next_id = snap.next_id;
        let added_part = written
            .as_ref()
            .is_some_and(|(ws, _)| ws.iter().any(|w| w.rows() > 0));
        if let Some((writers, ids_to)) = written {
            next_id = next_id.max(ids_to);
            for w in writers {
                if w.rows() > 0 {
                    files.push(w.finish_as(&manifest::part_name(next.take_file_number()))?);
                } else {
                    w.discard();
                }
            }
        }
        let now = local_now_micros(self.opts.timezone);
        for b in extra {
            let (filled, n) = fill_defaults(&self.def, b, next_id, now)?;
            self.check_constraints(&filled)?;
            next_id = n;
            tally.diff.add(std::slice::from_ref(&filled));
            tail.push(filled);
        }
        let Tally {
            changed,
            rekeyed,
            mut diff,
        } = tally;
        if self.def.unique && (rekeyed || added_part || !extra.is_empty()) {
            self.check_unique_parts(&files, &tail)?;
        }
        if tail.iter().any(|b| b.num_rows() > 0) {
            let name = manifest::part_name(next.take_file_number());
            files.push(self.write_part(&name, &tail)?);
        }
        // Rows removed or changed (or every row replaced): nothing earlier is kept, and the
        // old log goes, so erased rows leave the disk (steps.rs).
        let removed = changed > 0 || drop_all;
        let rows = match removed {
            true => {
                let forgotten = steps::forget(&mut next);
                replaced.extend(forgotten.iter().map(|f| self.path_of(f)));
                Rows::Unlisted
            }
            // Rows added beside the log's in one part: not told apart.
            false if !extra.is_empty() => Rows::Unlisted,
            false => Rows::Same,
        };
        let had_rows = snap.wal_end > 0 && !removed;
        let new_wal = manifest::wal_name(next.take_file_number());
        let old_wal = std::mem::replace(&mut next.wal, new_wal);
        replaced.push(self.path_of(&old_wal));
        next.files = files;
        next.next_id = next_id_after(&self.def, &tail, next_id)?;
        let version = next.version + 1;
        let rewrote = rows == Rows::Unlisted;
        if drop_all || !rewrote {
            diff.untold();
        }
        self.commit(next, replaced, true, had_rows.then_some(old_wal), rows)?;
        let log_end = (!had_rows).then_some(snap.wal_end);
        self.rewrites.record(version, log_end, diff);
        if let (Some(hook), true) = (&self.opts.on_rewrite, rewrote) {
            (hook.0)(self.def.name, changed);
        }
        // A rewrite that adds a part each time (a caller replacing a few rows again and
        // again) must not pile parts up: compact as a flush does.
        self.compact_locked()?;
        // Still under the write lock: no other commit comes between.
        Ok((changed, self.version()?))
    }
}

/// Whether `scope` lets the rewrite change the part at `path` (a part without statistics of
/// its column may hold anything).
fn part_in_scope(path: &std::path::Path, scope: &mut PartScope<'_>) -> Result<bool> {
    match column_bounds(path, scope.column)? {
        Some((least, greatest)) => (scope.may_change)(&least, &greatest),
        None => Ok(true),
    }
}

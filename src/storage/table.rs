//! One table of the warehouse: its committed state (manifest + log) and the cache of it.
//!
//! The files on disk are the truth; `Snapshot` is a cache that every scan revalidates against
//! the manifest version and the log's length, so a write made by another connection, or by
//! another process on the same data directory, is visible to the very next query.

use super::def::{Layout, TableDef};
use super::manifest::{self, DataFile, Manifest};
use super::parquet_io::{self, PartWriter};
use super::wal;
use crate::error::{CipError, Result};
use datafusion::arrow::record_batch::RecordBatch;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// Called after rows of a table changed durably: (table, rows). The warehouse counts tracking
/// events for /metrics with appends, and wakes what follows a table with both.
#[derive(Clone)]
pub struct AppendHook(pub Arc<AppendFn>);

/// What an append hook runs: (table name, rows appended).
pub type AppendFn = dyn Fn(&str, u64) + Send + Sync;

impl std::fmt::Debug for AppendHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppendHook")
    }
}

/// Tuning of the write path.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Rows in the log that trigger a flush into a Parquet part.
    pub flush_rows: usize,
    /// Parts beyond which small parts are merged into one.
    pub max_parts: usize,
    /// Parts with fewer rows than this are "small" for compaction.
    pub small_part_rows: u64,
    /// The most rows a part of a table laid out for point reads holds: a change to a few of
    /// its rows rewrites the parts that hold them, not the whole table (def.rs, Layout).
    pub point_read_part_rows: u64,
    /// The venue's timezone: DEFAULT CURRENT_TIMESTAMP is local wall-clock time there.
    pub timezone: chrono_tz::Tz,
    pub on_append: Option<AppendHook>,
    /// Called after a commit that removed or changed rows (an update, a delete, an upsert, a
    /// load replacing rows): (table, rows it reported). What changed is
    /// Table::changes_since's to tell.
    pub on_rewrite: Option<AppendHook>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            flush_rows: 20_000,
            max_parts: 16,
            small_part_rows: 2_000_000,
            point_read_part_rows: 128 * 1024,
            timezone: chrono_tz::Asia::Shanghai,
            on_append: None,
            on_rewrite: None,
        }
    }
}

/// The committed state of a table as last read.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub manifest: Manifest,
    /// Shared, so a new snapshot after an append copies the list only while a reader holds it.
    pub wal_batches: Arc<Vec<RecordBatch>>,
    /// Where the whole frames of the log end.
    pub wal_end: u64,
    /// Whether the log ends in a torn frame (a writer cuts it off before appending).
    pub wal_torn: bool,
    pub next_id: i64,
    /// The manifest file this was read from, when settled enough to stand for it: a reader
    /// that finds the same file (one stat) needs not read and decode it again.
    pub stamp: Option<manifest::Stamp>,
}

impl Snapshot {
    pub fn wal_rows(&self) -> usize {
        self.wal_batches.iter().map(|b| b.num_rows()).sum()
    }

    pub fn rows(&self) -> u64 {
        self.manifest.rows() + self.wal_rows() as u64
    }
}

/// Where a table's committed state stands: it moves with every commit and every append, so
/// a result computed from a table can tell whether the table has changed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableVersion {
    pub manifest: u64,
    pub log_bytes: u64,
}

pub struct Table {
    pub def: TableDef,
    /// `def.input_schema()`, made once: every INSERT's rows arrive in it.
    pub input_schema: datafusion::arrow::datatypes::SchemaRef,
    pub dir: PathBuf,
    pub opts: StoreOptions,
    /// Serialises this process's writers before they take the cross-process lock.
    pub(super) write_mutex: Mutex<()>,
    cache: RwLock<Option<Arc<Snapshot>>>,
    /// Readers' pins and the replaced files waiting for them (pin.rs); shared with the
    /// object that replaces this one when the table gains columns (alter.rs).
    pub(super) retired: Arc<Mutex<super::pin::Retired>>,
    /// Set when another object with a newer definition replaced this one: its writes are
    /// refused, since they would write rows without the new columns.
    pub(super) stale: std::sync::atomic::AtomicBool,
    /// The same for every object of one table across changes of its definition; a table
    /// dropped and created again under its name has a new one.
    pub(super) lineage: u64,
    /// Keys of the committed parts of a unique table, by manifest version.
    pub(super) key_cache: Mutex<Option<(u64, KeySet)>>,
    /// AUTO_INCREMENT ids handed out in this process and maybe not committed yet (a
    /// transaction's rows): no other writer takes them.
    reserved_id: std::sync::atomic::AtomicI64,
    /// The tables this one's foreign keys point at (set once by Store::open).
    pub(super) parents: std::sync::OnceLock<super::constraints::Parents>,
    /// What this object's latest rewrites did to the rows (changes.rs).
    pub(super) rewrites: super::changes::Rewrites,
    /// Its parts' footer statistics, so a scan plans over only the parts its filters need.
    pub(super) part_stats: super::part_pruning::PartStatistics,
    /// Its parts' page indexes, for reads of one key (point_read.rs).
    pub(super) point_index: super::point_read::PartIndexes,
}

static NEXT_LINEAGE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(super) type KeySet = Arc<std::collections::HashSet<String>>;

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("name", &self.def.name)
            .finish()
    }
}

impl Table {
    pub fn new(def: TableDef, dir: PathBuf, opts: StoreOptions) -> Self {
        Table {
            input_schema: def.input_schema(),
            def,
            dir,
            opts,
            write_mutex: Mutex::new(()),
            cache: RwLock::new(None),
            retired: Default::default(),
            stale: Default::default(),
            lineage: NEXT_LINEAGE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            key_cache: Mutex::new(None),
            parents: std::sync::OnceLock::new(),
            reserved_id: std::sync::atomic::AtomicI64::new(0),
            rewrites: Default::default(),
            part_stats: Default::default(),
            point_index: Default::default(),
        }
    }

    /// An object for this table's folder with a new definition (alter.rs): it shares the
    /// readers' pins, so neither object removes a file the other's readers use.
    pub(super) fn successor(&self, def: TableDef) -> Table {
        let mut next = Table::new(def, self.dir.clone(), self.opts.clone());
        next.retired = self.retired.clone();
        next.lineage = self.lineage;
        next
    }

    pub fn name(&self) -> &'static str {
        self.def.name
    }

    pub fn path_of(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Writes `rows` as the part `name` of this table, in its schema and layout.
    pub(super) fn write_part(&self, name: &str, rows: &[RecordBatch]) -> Result<DataFile> {
        parquet_io::write_part(&self.dir, name, &self.def.schema, self.def.layout, rows)
    }

    /// The most rows one of its parts holds, if its layout caps them.
    pub(super) fn part_rows_cap(&self) -> Option<u64> {
        match self.def.layout {
            Layout::Scans => None,
            Layout::PointReads => Some(self.opts.point_read_part_rows.max(1)),
        }
    }

    /// A writer of the part `name` of this table, in its schema and layout.
    pub(super) fn part_writer(&self, name: &str) -> Result<PartWriter> {
        PartWriter::create(&self.dir, name, &self.def.schema, self.def.layout)
    }

    /// The latest committed state, read from disk if it changed since the cached one.
    pub fn snapshot(&self) -> Result<Arc<Snapshot>> {
        if let Some(cached) = self.unchanged()? {
            return Ok(cached);
        }
        // A flush may commit and drop the log between our reads of the manifest and the log;
        // the manifest version tells, and we read again.
        for _ in 0..16 {
            // The stamp before the contents: a commit between the two leaves an older stamp,
            // which the next reader finds changed.
            let stamp = manifest::stamp(&self.dir)?;
            let m = manifest::read(&self.dir)?;
            let snap = self.load(m, stamp)?;
            if manifest::read(&self.dir)?.version == snap.manifest.version {
                return Ok(snap);
            }
        }
        Err(CipError::Locked(format!(
            "table {} changed 16 times while being read; try again",
            self.name()
        )))
    }

    /// The committed state's version (reads the manifest and the log's length).
    pub fn version(&self) -> Result<TableVersion> {
        let snap = self.snapshot()?;
        Ok(TableVersion {
            manifest: snap.manifest.version,
            log_bytes: snap.wal_end,
        })
    }

    /// The cached snapshot, when the manifest file is the one it was read from (settled) and
    /// the log has not grown: two stats instead of reading and decoding the manifest, which
    /// every scan and every freshness check of member_scores would otherwise do.
    fn unchanged(&self) -> Result<Option<Arc<Snapshot>>> {
        let Some(cached) = self.cached() else {
            return Ok(None);
        };
        let Some(seen) = cached.stamp else {
            return Ok(None);
        };
        // The manifest first: a commit after it that drops the log leaves a length of 0,
        // and the cached state was committed when the manifest was looked at.
        if manifest::stamp(&self.dir)? != Some(seen) {
            return Ok(None);
        }
        let wal_len = file_len(&self.dir.join(&cached.manifest.wal))?;
        Ok((cached.wal_end == wal_len).then_some(cached))
    }

    fn load(&self, m: Manifest, stamp: Option<manifest::Stamp>) -> Result<Arc<Snapshot>> {
        let wal_path = self.dir.join(&m.wal);
        let wal_len = file_len(&wal_path)?;
        let cached = self.cached();
        if let Some(c) = &cached {
            if c.manifest == m && c.wal_end == wal_len {
                if c.stamp == stamp {
                    return Ok(c.clone());
                }
                let mut stamped = (**c).clone();
                stamped.stamp = stamp;
                let stamped = Arc::new(stamped);
                self.set_cache(stamped.clone());
                return Ok(stamped);
            }
        }
        let (mut batches, offset) = match &cached {
            Some(c) if c.manifest == m && c.wal_end < wal_len => {
                (c.wal_batches.to_vec(), c.wal_end)
            }
            _ => (Vec::new(), 0),
        };
        let read = wal::read_from(&wal_path, offset, &self.def.schema)?;
        for batch in read.batches {
            super::log_batches::push(&mut batches, batch);
        }
        let next_id = next_id_after(&self.def, &batches, m.next_id)?;
        let snap = Arc::new(Snapshot {
            manifest: m,
            wal_batches: Arc::new(batches),
            wal_end: read.end,
            wal_torn: read.torn,
            next_id,
            stamp,
        });
        self.set_cache(snap.clone());
        Ok(snap)
    }

    pub(super) fn cached(&self) -> Option<Arc<Snapshot>> {
        self.cache.read().ok().and_then(|c| c.clone())
    }

    pub(super) fn clear_cache(&self) {
        if let Ok(mut c) = self.cache.write() {
            *c = None;
        }
    }

    pub(super) fn set_cache(&self, snap: Arc<Snapshot>) {
        if let Ok(mut c) = self.cache.write() {
            *c = Some(snap);
        }
    }

    /// The first id a writer may hand out, given its snapshot's next id, and reserves up to
    /// `next` (call again with the next id after filling).
    pub(super) fn reserve_ids(&self, next: i64) -> i64 {
        let before = self
            .reserved_id
            .fetch_max(next, std::sync::atomic::Ordering::SeqCst);
        before.max(next)
    }

    /// Paths of the committed Parquet parts of a snapshot.
    pub fn part_paths(&self, snap: &Snapshot) -> Vec<PathBuf> {
        snap.manifest
            .files
            .iter()
            .map(|f| self.dir.join(&f.name))
            .collect()
    }
}

fn file_len(path: &Path) -> Result<u64> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(CipError::io(format!("stat {}", path.display()), e)),
    }
}

/// The next AUTO_INCREMENT id: past both the committed counter and any id in the log.
pub(super) fn next_id_after(def: &TableDef, batches: &[RecordBatch], base: i64) -> Result<i64> {
    batches
        .iter()
        .try_fold(base, |next, b| super::rows::max_id_after(def, b, next))
}

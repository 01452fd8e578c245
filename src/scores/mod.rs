//! The scored snapshot (issue 20): `member_scores` is a stored table answered from when it is
//! current and computed from the view member_scores_live when not (provider.rs), and
//! `customer_segments` is answered from its columns the same way (else computed by the view
//! customer_segments_live); what "current" means is freshness.rs; refresh.rs writes it.

mod answer;
mod catch_up;
mod freshness;
mod provider;
pub mod ranges;
mod refresh;
mod watch;

pub use provider::Scores;
pub use refresh::refresh;
pub use watch::watch;
// Which members' rows changed since a recorded moment: also how the upgrade run follows
// changes (tiers/changed.rs).
pub(crate) use catch_up::{changes_since, CatchUp, MAX_MEMBERS};
pub(crate) use freshness::{fit_the_day, inputs, settings_of, versions, Basis};

use crate::storage::Store;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// The snapshot table, the view it stores, and the column naming its business date.
pub const TABLE: &str = "member_scores";
pub const LIVE: &str = "member_scores_live";
const AS_OF: &str = "as_of";

/// customer_segments is answered from the same snapshot (its columns are member_scores'
/// but the tags and the date), and computed by this view when the snapshot is not current.
const SEGMENTS: &str = "customer_segments";
/// The views this module defines (beside the view files of queries/).
pub const VIEWS: &[&str] = &[SEGMENTS];
const SEGMENTS_LIVE: &str = "customer_segments_live";
/// The relations answered from the snapshot, and the live view each stands for (a Ballista
/// cluster, which has no snapshot, answers them with the live view: src/cluster).
pub const SNAPSHOTS: &[(&str, &str)] = &[(TABLE, LIVE), (SEGMENTS, SEGMENTS_LIVE)];
const NOT_SEGMENT_COLUMNS: &[&str] = &["behavior_tags", "preference_tags", "value_tags", AS_OF];

/// Whether the session of `state` is inside a transaction block: it sees its own uncommitted
/// writes, which no snapshot holds.
fn in_block(config: &datafusion::prelude::SessionConfig) -> bool {
    config
        .get_extension::<crate::storage::TxnSlot>()
        .is_some_and(|slot| slot.lock().is_some())
}

/// Which columns of the snapshot's `schema` member_scores and customer_segments show.
fn columns(schema: &SchemaRef) -> (Vec<usize>, Vec<usize>) {
    let all: Vec<usize> = (0..schema.fields().len()).collect();
    let segments = all
        .iter()
        .copied()
        .filter(|&i| !NOT_SEGMENT_COLUMNS.contains(&schema.field(i).name().as_str()))
        .collect();
    (all, segments)
}

/// For a session without the snapshot (a Ballista cluster's): member_scores and
/// customer_segments as their live views give them, in the snapshot's columns and types;
/// `live(view)` is the session's provider of a live view. `as_of` is the session's date.
pub fn live_relations(
    store: &Store,
    as_of: chrono::NaiveDate,
    live: impl Fn(&str) -> Option<Arc<dyn datafusion::catalog::TableProvider>>,
) -> crate::error::Result<Vec<(&'static str, Arc<dyn datafusion::catalog::TableProvider>)>> {
    let schema = store.table(TABLE)?.def.schema.clone();
    let (all, segments) = columns(&schema);
    let mut out = Vec::new();
    for (name, view, cols) in [(TABLE, LIVE, all), (SEGMENTS, SEGMENTS_LIVE, segments)] {
        let Some(provider) = live(view) else { continue };
        let fields: Vec<_> = cols.iter().map(|&i| schema.field(i).clone()).collect();
        let target = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        let plan = answer::in_snapshot_shape(provider, &target, as_of)?.build()?;
        out.push((
            name,
            Arc::new(datafusion::datasource::ViewTable::new(plan, None)) as _,
        ));
    }
    Ok(out)
}

/// Replaces the plain stored table registered under `member_scores` in `ctx` with the
/// snapshot-or-live provider, registers customer_segments the same way, and
/// `refresh_member_scores()`. Runs before the views are created: customer_tags,
/// segment_summary and campaign_proposals read these.
pub fn register(ctx: &SessionContext, store: &Arc<Store>) -> crate::error::Result<()> {
    let table = store.table(TABLE)?;
    let schema = table.def.schema.clone();
    let stored = Arc::new(crate::warehouse::Guarded::new(table));
    let (all, segments) = columns(&schema);
    let relation = |name, live, columns: Vec<usize>, writable| {
        let fields: Vec<_> = columns.iter().map(|&i| schema.field(i).clone()).collect();
        Arc::new(provider::Scores {
            name,
            live,
            stored: stored.clone(),
            schema: Arc::new(datafusion::arrow::datatypes::Schema::new(fields)),
            columns,
            writable,
            definition: format!("SELECT * FROM {live}"),
            store: store.clone(),
        })
    };
    ctx.deregister_table(TABLE)?;
    ctx.register_table(TABLE, relation(TABLE, LIVE, all, true))?;
    ctx.register_table(SEGMENTS, relation(SEGMENTS, SEGMENTS_LIVE, segments, false))?;
    ctx.register_udtf(
        "refresh_member_scores",
        Arc::new(refresh::RefreshMemberScores {
            store: store.clone(),
        }),
    );
    Ok(())
}

/// Brings the snapshot up to date for today (a catch-up with new rows when that is enough,
/// else a full build): `cip serve` runs this before it accepts connections.
pub async fn ensure_current(engine: &crate::engine::Engine) -> crate::error::Result<()> {
    let ctx = engine.session().await?;
    let options = crate::settings::CipOptions::of(ctx.state().config_options());
    let as_of = options.as_of_date()?;
    tracing::info!(%as_of, "bringing member_scores up to date before accepting connections");
    let row = refresh::bring_up_to_date(ctx.state(), engine.store.clone()).await?;
    if row.num_rows() == 0 {
        tracing::info!(%as_of, "member_scores is current");
    }
    Ok(())
}

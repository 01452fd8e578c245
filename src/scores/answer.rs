//! Where a scan of member_scores (or customer_segments) takes its rows from, for one session:
//! - the snapshot, when it is current (freshness.rs);
//! - while it catches up with changed rows (catch_up.rs), the snapshot for every member those
//!   rows do not name and the live view for the ones they do: exact, since a member's row
//!   depends only on their own rows and the day's fits, so a lookup stays a page read between
//!   a visit and its catch-up;
//! - the live view otherwise (another date or settings, an update or delete another process
//!   made, inside a transaction block).
//!
//! The scan's filters go to both sides, so a lookup computes live at most its own member.

use super::catch_up::{self, CatchUp};
use super::AS_OF;
use crate::error::to_df;
use crate::settings::CipOptions;
use crate::storage::Store;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::datasource::provider_as_source;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{cast, col, lit, Expr, LogicalPlanBuilder, Operator};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Which rows a scan reads.
pub enum Source {
    Snapshot,
    /// The snapshot but for these members, whom the live view computes.
    Mixed(BTreeSet<String>),
    Live,
}

/// Decides for the session of `state` and a scan with `filters` (reads files, off the
/// statement threads).
pub async fn source(state: &dyn Session, store: &Arc<Store>, filters: &[Expr]) -> Result<Source> {
    source_for(state.config(), store, filters).await
}

/// `source` for the session of `config`.
pub async fn source_for(
    config: &SessionConfig,
    store: &Arc<Store>,
    filters: &[Expr],
) -> Result<Source> {
    if super::in_block(config) {
        return Ok(Source::Live);
    }
    let options = CipOptions::of(config.options());
    let plan = catch_up::plan_for(store, &options).await.map_err(to_df)?;
    Ok(match &*plan {
        CatchUp::Current => Source::Snapshot,
        CatchUp::Members(members, _) => match asked_for(filters) {
            // A lookup computes live only the members it asks for that new rows name: none,
            // most of the time, and then it reads the snapshot alone.
            Some(asked) => {
                let live: BTreeSet<String> = members.intersection(&asked).cloned().collect();
                if live.is_empty() {
                    Source::Snapshot
                } else {
                    Source::Mixed(live)
                }
            }
            None if members.is_empty() => Source::Snapshot,
            None if members.len() > catch_up::MAX_MEMBERS => Source::Live,
            None => Source::Mixed(members.clone()),
        },
        CatchUp::Full => Source::Live,
    })
}

/// The rows of `live` (a view) and, with `mixed`, of `stored` for every member not in it, in
/// the columns of `target` (`projection` of them), `filters` applied to both.
pub struct Rows<'a> {
    pub state: &'a SessionState,
    pub target: SchemaRef,
    pub stored: Arc<dyn TableProvider>,
    pub live: Arc<dyn TableProvider>,
    pub projection: Option<&'a Vec<usize>>,
    pub filters: &'a [Expr],
}

impl Rows<'_> {
    pub async fn plan(&self, mixed: Option<&BTreeSet<String>>) -> Result<Arc<dyn ExecutionPlan>> {
        let as_of = CipOptions::of(self.state.config_options()).as_of_date()?;
        let live = in_snapshot_shape(self.live.clone(), &self.target, as_of)?;
        let stored_columns: Vec<Expr> =
            self.target.fields().iter().map(|f| col(f.name())).collect();
        let mut plan = match mixed {
            None => live,
            Some(members) => {
                let live = live.filter(catch_up::named(members, false))?;
                LogicalPlanBuilder::scan("stored", provider_as_source(self.stored.clone()), None)?
                    .filter(catch_up::named(members, true))?
                    .project(stored_columns)?
                    .union(live.build()?)?
            }
        };
        let filters = self
            .filters
            .iter()
            .map(|f| unqualified(f.clone()))
            .collect::<Result<Vec<_>>>()?;
        if let Some(filter) = conjunction(filters) {
            plan = plan.filter(filter)?;
        }
        if let Some(p) = self.projection {
            plan = plan.project(p.iter().map(|&i| col(self.target.field(i).name())))?;
        }
        self.state.create_physical_plan(&plan.build()?).await
    }
}

/// The rows of the live view `live` in the snapshot's columns `target`: each cast to the
/// stored type, and the business date `as_of` as the snapshot's date column.
pub fn in_snapshot_shape(
    live: Arc<dyn TableProvider>,
    target: &SchemaRef,
    as_of: chrono::NaiveDate,
) -> Result<LogicalPlanBuilder> {
    let days = (as_of - chrono::NaiveDate::default()).num_days() as i32;
    let columns: Vec<Expr> = target
        .fields()
        .iter()
        .map(|f| match f.name() == AS_OF {
            true => lit(ScalarValue::Date32(Some(days))).alias(AS_OF),
            false => cast(col(f.name()), f.data_type().clone()).alias(f.name()),
        })
        .collect();
    LogicalPlanBuilder::scan("live", provider_as_source(live), None)?.project(columns)
}

/// The members a scan's filters restrict it to (`member_id = '…'` or `member_id IN ('…', …)`),
/// if they do.
fn asked_for(filters: &[Expr]) -> Option<BTreeSet<String>> {
    let text = |e: &Expr| match e {
        Expr::Literal(ScalarValue::Utf8(Some(v)) | ScalarValue::Utf8View(Some(v)), _) => {
            Some(v.clone())
        }
        _ => None,
    };
    let is_member = |e: &Expr| matches!(e, Expr::Column(c) if c.name == "member_id");
    filters.iter().find_map(|f| match f {
        Expr::BinaryExpr(b) if b.op == Operator::Eq => {
            let value = match (is_member(&b.left), is_member(&b.right)) {
                (true, false) => text(&b.right),
                (false, true) => text(&b.left),
                _ => None,
            };
            value.map(|v| BTreeSet::from([v]))
        }
        Expr::InList(l) if !l.negated && is_member(&l.expr) => l.list.iter().map(text).collect(),
        _ => None,
    })
}

/// `expr` with its columns named without the scanned table's name (the plan above names them
/// differently).
fn unqualified(expr: Expr) -> Result<Expr> {
    expr.transform(|e| {
        Ok(match e {
            Expr::Column(c) if c.relation.is_some() => {
                Transformed::yes(Expr::Column(Column::new_unqualified(c.name)))
            }
            e => Transformed::no(e),
        })
    })
    .map(|t| t.data)
}

//! The named views of queries/: one `NN_<view>.sql` file per view, loaded in name order so a
//! view can build on the ones before it.

use crate::error::{CipError, Result};
use datafusion::catalog::TableProvider;
use datafusion::prelude::SessionContext;
use std::path::Path;
use std::sync::Arc;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_views.rs"));
}

#[derive(Debug, Clone)]
pub struct ViewFile {
    pub file: String,
    pub view: String,
    pub sql: String,
}

/// Reads the view files from `dir`, or the built-in copies when `dir` does not exist.
pub fn read_views(dir: &Path) -> Result<Vec<ViewFile>> {
    let mut files: Vec<(String, String)> = if dir.is_dir() {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| CipError::io(format!("list {}", dir.display()), e))?;
        for e in entries.filter_map(|e| e.ok()) {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "sql") {
                let sql = std::fs::read_to_string(&path)
                    .map_err(|e| CipError::io(format!("read {}", path.display()), e))?;
                out.push((path.display().to_string(), sql));
            }
        }
        out
    } else {
        embedded::EMBEDDED_VIEWS
            .iter()
            .map(|(n, s)| (format!("queries/{n} (built in)"), s.to_string()))
            .collect()
    };
    files.sort();
    files
        .into_iter()
        .map(|(file, sql)| {
            let view = view_name(&file).ok_or_else(|| {
                CipError::Config(format!(
                    "{file}: view files are named NN_<view>.sql, e.g. 10_customer_segments.sql"
                ))
            })?;
            Ok(ViewFile { file, view, sql })
        })
        .collect()
}

fn view_name(file: &str) -> Option<String> {
    let base = Path::new(file.split(" (built in)").next()?)
        .file_stem()?
        .to_str()?;
    let (num, name) = base.split_once('_')?;
    (num.chars().all(|c| c.is_ascii_digit()) && !name.is_empty()).then(|| name.to_string())
}

/// A view registered in a session: its name, and its provider (planned once, shared).
pub type Planned = (String, Arc<dyn TableProvider>);

/// Creates every view in `ctx`; the first failure names its file. With `check`, each
/// contract view is also checked for its columns right after it is created (done once, at
/// start-up, so the error names the edited file rather than a later view built on it).
/// Returns them, for every later session to register as they are (bind_functions.rs: a
/// statement runs them with its own session's functions).
pub async fn create_views(
    ctx: &SessionContext,
    views: &[ViewFile],
    check: bool,
) -> Result<Vec<Planned>> {
    let mut planned = Vec::new();
    for v in views {
        let fail = |e: String| CipError::Config(format!("{}: {e}", v.file));
        ctx.sql(&v.sql)
            .await
            .map_err(|e| fail(e.to_string()))?
            .collect()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !ctx
            .table_exist(v.view.as_str())
            .map_err(|e| fail(e.to_string()))?
        {
            return Err(fail(format!(
                "the file must create the view {} (CREATE OR REPLACE VIEW {} AS ...)",
                v.view, v.view
            )));
        }
        if check {
            check_contract(ctx, v).await.map_err(fail)?;
        }
        let created = ctx
            .table_provider(v.view.as_str())
            .await
            .map_err(|e| fail(e.to_string()))?;
        planned.push((v.view.clone(), created));
    }
    Ok(planned)
}

/// Registers views planned by create_views in another session.
pub fn register_planned(ctx: &SessionContext, planned: &[Planned]) -> Result<()> {
    for (name, view) in planned {
        ctx.register_table(name.as_str(), view.clone())?;
    }
    Ok(())
}

/// Columns other programs rely on (../shared/DESIGN.md), per contract view; an edited view
/// that drops one is refused at start-up. `!` marks a column that must be NOT NULL: for
/// segment_id that proves every member gets a segment (the CASE has an ELSE).
/// customer_segments shows what customer_segments_live computes (src/scores).
const CONTRACT: [(&str, &[&str]); 4] = [
    (
        "customer_segments_live",
        &[
            "member_id",
            "!segment_id",
            "segment_name",
            "recency_days",
            "frequency",
            "monetary",
            "r_score",
            "f_score",
            "m_score",
            "p_alive",
            "churn_risk",
            "expected_visits_90d",
            "expected_clv",
            "reason",
        ],
    ),
    (
        "segment_summary",
        &[
            "segment_id",
            "name",
            "customer_count",
            "share",
            "avg_spend",
            "avg_p_alive",
            "total_expected_clv",
        ],
    ),
    (
        "customer_tags",
        &[
            "member_id",
            "behavior_tags",
            "preference_tags",
            "value_tags",
        ],
    ),
    (
        "member_behavior_live",
        &[
            "member_id",
            "visit_frequency",
            "avg_spending",
            "last_visit_date",
            "total_spending",
            "favorite_categories",
            "preferred_time_slots",
            "response_rate",
            "churn_risk",
        ],
    ),
];

async fn check_contract(ctx: &SessionContext, v: &ViewFile) -> std::result::Result<(), String> {
    let Some((_, columns)) = CONTRACT.iter().find(|(name, _)| *name == v.view) else {
        return Ok(());
    };
    let table = ctx
        .table(v.view.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let schema = table.schema();
    for c in columns.iter() {
        let (name, not_null) = match c.strip_prefix('!') {
            Some(n) => (n, true),
            None => (*c, false),
        };
        let field = schema.field_with_unqualified_name(name).map_err(|_| {
            format!(
                "the view {} must have the column {name} (see DESIGN.md)",
                v.view
            )
        })?;
        if not_null && field.is_nullable() {
            return Err(format!(
                "{}.{name} can be NULL: every row must get a value (end the CASE with ELSE)",
                v.view
            ));
        }
    }
    Ok(())
}

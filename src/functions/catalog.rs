//! The `cip_functions` view: every cip SQL function with its documentation (what DataFusion's
//! `Documentation` holds), so analysts and BI tools can list them with plain SQL:
//! `SELECT name, syntax, description FROM cip_functions`. Like PostgreSQL's pg_settings over
//! pg_show_all_settings(), the view reads a set-returning function, `cip_function_docs()`, so
//! it has a definition that runs (SQLAlchemy's `get_view_definition`, `\d+`, pg_views).

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{MemTable, Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::Documentation;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;

struct Row {
    name: String,
    kind: &'static str,
    section: String,
    syntax: String,
    description: String,
    arguments: Option<String>,
    example: Option<String>,
}

fn from_doc(name: &str, kind: &'static str, d: &Documentation) -> Row {
    Row {
        name: name.to_string(),
        kind,
        section: d.doc_section.label.to_string(),
        syntax: d.syntax_example.clone(),
        description: d.description.clone(),
        arguments: d.arguments.as_ref().map(|a| {
            a.iter()
                .map(|(n, t)| format!("{n}: {t}"))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        example: d.sql_example.clone(),
    }
}

/// `SHOW FUNCTIONS [LIKE 'pattern']` as a query of cip_functions (cip's own functions with
/// their documentation); None for any other statement.
pub fn show_functions_sql(
    statement: &datafusion::sql::sqlparser::ast::Statement,
) -> Option<String> {
    use datafusion::sql::sqlparser::ast::{ShowStatementFilter, Statement};
    let Statement::ShowFunctions { filter } = statement else {
        return None;
    };
    // The pattern is a literal the user wrote, quoted again the way SQL quotes it.
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let condition = match filter {
        None => String::new(),
        Some(ShowStatementFilter::Like(p)) | Some(ShowStatementFilter::NoKeyword(p)) => {
            format!("WHERE name LIKE {}", quote(p))
        }
        Some(ShowStatementFilter::ILike(p)) => format!("WHERE name ILIKE {}", quote(p)),
        Some(ShowStatementFilter::Where(e)) => format!("WHERE {e}"),
    };
    Some(format!(
        "SELECT name, kind, syntax, description FROM cip_functions {condition} ORDER BY name"
    ))
}

/// The engine's table functions, which live in src/ because they read or write tables.
fn table_functions() -> Vec<Row> {
    let row = |name: &str, syntax: &str, description: &str, example: &str| Row {
        name: name.into(),
        kind: "table",
        section: "cip engine".into(),
        syntax: syntax.into(),
        description: description.into(),
        arguments: None,
        example: Some(example.into()),
    };
    vec![
        row(
            DOCS,
            "cip_function_docs()",
            "Every cip function with its documentation: what the view cip_functions reads.",
            "SELECT name, kind FROM cip_function_docs() WHERE kind = 'table';",
        ),
        row(
            "model_fit",
            "model_fit('bgnbd' | 'mbgnbd' | 'pnbd' | 'gamma_gamma')",
            "The model's fitted parameters for the session's cip.as_of (columns model, as_of, \
             fitted_at, parameters). Read from the model_fits table; when there is no fit for \
             that date yet, the view fit_<model> runs once and its result is stored. \
             parameters is NULL when the data cannot identify the model yet.",
            "SELECT parameters FROM model_fit('mbgnbd');",
        ),
        row(
            "refresh_member_behavior",
            "refresh_member_behavior()",
            "Rewrites the member_behavior table from the view member_behavior_live (as of \
             cip.as_of) in one atomic commit; returns members written, as_of, refreshed_at. \
             Acts when executed, never when planned or EXPLAINed.",
            "SELECT * FROM refresh_member_behavior();",
        ),
        row(
            "execute_upgrades",
            "execute_upgrades([member_id])",
            "Upgrades every member that upgrade_evaluation (as of today) finds eligible, or the \
             one member given, to their target tier: one upgrade_history row per tier climbed, \
             with that tier's rewards and points, the rule version and who ran it. Exactly once: \
             runs are serialised and a second run finds nobody left. Returns member_id, \
             from_tier, to_tier, rewards, message. Acts when executed, never when planned, \
             described or EXPLAINed; the analyst role may not run it (42501).",
            "SELECT * FROM execute_upgrades();\nSELECT * FROM execute_upgrades('M00000042');",
        ),
        row(
            "review_tiers",
            "review_tiers([member_id])",
            "The retention review: moves every member that tier_review (as of today) marks due \
             down one tier, recorded in upgrade_history as 'downgrade'. Never below a tier set \
             by hand (a 'manual' row). Returns member_id, from_tier, to_tier, rewards, message.",
            "SELECT * FROM review_tiers();",
        ),
        row(
            "launch_campaign",
            "launch_campaign(segment_id, campaign_type [, offer [, control_share]])",
            "Turns the campaign_proposals row of (segment_id, campaign_type) into a campaign: \
             records the segment's whole audience (as of today) in campaign_audience with its \
             arm (holdout by ab_bucket, default 10%) and A/B variant, and writes a 'sent' event, \
             at the channel's message cost, for each treatment member with marketing consent \
             under the frequency cap. Returns campaign_id, audience, sent, holdout, \
             skipped_no_consent, skipped_capped. Acts when executed, never when planned, \
             described or EXPLAINed.",
            "SELECT * FROM launch_campaign('churn_risk', 'retention');",
        ),
    ]
}

/// The set-returning function the view reads.
pub const DOCS: &str = "cip_function_docs";
const DEFINITION: &str = "SELECT name, kind, section, syntax, description, arguments, example \
                          FROM cip_function_docs()";

#[derive(Debug)]
pub struct FunctionDocs;

impl TableFunctionImpl for FunctionDocs {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        if !args.exprs().is_empty() {
            return plan_err!("type mismatch: {DOCS}() takes no arguments");
        }
        Ok(Arc::new(table()?))
    }
}

/// Listed as a view (in information_schema and psql's \dv), as it is derived, not stored.
#[derive(Debug)]
pub struct FunctionsView(MemTable);

#[async_trait::async_trait]
impl TableProvider for FunctionsView {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    fn get_table_definition(&self) -> Option<&str> {
        Some(DEFINITION)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.0.scan(state, projection, filters, limit).await
    }
}

pub fn view() -> Result<FunctionsView> {
    Ok(FunctionsView(table()?))
}

fn table() -> Result<MemTable> {
    let mut rows: Vec<Row> = Vec::new();
    for f in cip_udfs::scalar_udfs() {
        if let Some(d) = f.documentation() {
            rows.push(from_doc(f.name(), "scalar", d));
        }
    }
    for f in cip_udfs::aggregate_udfs() {
        if let Some(d) = f.documentation() {
            rows.push(from_doc(f.name(), "aggregate", d));
        }
    }
    rows.extend(table_functions());
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
    let schema = Arc::new(Schema::new(vec![
        text("name", false),
        text("kind", false),
        text("section", false),
        text("syntax", false),
        text("description", false),
        text("arguments", true),
        text("example", true),
    ]));
    let col = |f: &dyn Fn(&Row) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            col(&|r| Some(r.name.clone())),
            col(&|r| Some(r.kind.to_string())),
            col(&|r| Some(r.section.clone())),
            col(&|r| Some(r.syntax.clone())),
            col(&|r| Some(r.description.clone())),
            col(&|r| r.arguments.clone()),
            col(&|r| r.example.clone()),
        ],
    )?;
    MemTable::try_new(schema, vec![vec![batch]])
}

//! The client side: a session whose statements are planned and run by a Ballista cluster,
//! over the warehouse's committed Parquet, with the views of queries/ and cip's functions.

use super::fits::{ClusterModelFit, Fits};
use super::{functions, tables};
use crate::engine::Engine;
use crate::error::{sqlstate, CipError, Result};
use crate::settings::CipOptions;
use crate::storage::Store;
use crate::views::ViewFile;
use ballista::prelude::SessionContextExt;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use std::io::Write;
use std::sync::Arc;

/// A session on the cluster at `url` (df://host:port) reading what `local` (a session of
/// `engine`) reads: the same `cip.*` settings, the warehouse checkpointed first, and the day's
/// model fits as `local` stores them (fitted on the cluster when missing).
pub async fn session(engine: &Engine, local: &SessionContext, url: &str) -> Result<SessionContext> {
    reachable(url).await?;
    let store = engine.store.clone();
    tokio::task::spawn_blocking(move || store.checkpoint())
        .await
        .map_err(|e| CipError::Corrupt(format!("checkpoint failed: {e}")))??;
    let options = CipOptions::of(local.state().config_options()).clone();
    let mut config = functions::session_config()
        .with_information_schema(true)
        .with_default_catalog_and_schema("cip", "public")
        .with_option_extension(options);
    // As in the local engine (engine.rs): DataFusion 55's leaf pushdown fails on the views'
    // struct-valued fits.
    config
        .options_mut()
        .optimizer
        .enable_leaf_expression_pushdown = false;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    let ctx = SessionContext::remote_with_state(url, state)
        .await
        .map_err(|e| super::cluster_error(&format!("connecting to {url}"), e))?;
    functions::register_in(&ctx)?;
    let snapshots: Vec<&str> = crate::scores::SNAPSHOTS.iter().map(|(s, _)| *s).collect();
    for t in engine.store.tables() {
        if engine.store.created_at_run_time(t.name()) || snapshots.contains(&t.name()) {
            continue;
        }
        ctx.register_table(t.name(), tables::committed(&t)?)?;
    }
    for (name, inclusive) in [("generate_series", true), ("range", false)] {
        ctx.register_udtf(name, Arc::new(super::series::Series { name, inclusive }));
    }
    let fits = Arc::new(Fits::default());
    ctx.register_udtf("model_fit", Arc::new(ClusterModelFit(fits.clone())));
    create_views(&ctx, local, &engine.store, &fits, engine.view_files()).await?;
    Ok(ctx)
}

/// Fails with 08006 unless the scheduler at `url` accepts a connection (Ballista would report
/// it as an internal error at the first statement).
async fn reachable(url: &str) -> Result<()> {
    let bad = || {
        CipError::invalid(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("--cluster {url:?}: expected df://HOST:PORT"),
        )
    };
    let address = url.strip_prefix("df://").ok_or_else(bad)?;
    let (host, port) = super::split_address(address.trim_end_matches('/')).map_err(|_| bad())?;
    let connect = tokio::net::TcpStream::connect((host.as_str(), port));
    match tokio::time::timeout(std::time::Duration::from_secs(10), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(super::cluster_error(
            &format!("cannot reach the Ballista scheduler at {address}"),
            e,
        )),
        Err(_) => Err(super::cluster_error(
            &format!("cannot reach the Ballista scheduler at {address}"),
            "no answer in 10 s",
        )),
    }
}

/// Creates the views in `ctx`, each after those it reads; a view that asks for a fit not yet
/// known waits until the fit's own view exists, then the fit is made and it is tried again.
/// Views the cluster cannot run (those calling functions that write) stay local: logged, and
/// unknown to the cluster session.
async fn create_views(
    ctx: &SessionContext,
    local: &SessionContext,
    store: &Store,
    fits: &Fits,
    views: &[ViewFile],
) -> Result<()> {
    let mut pending: Vec<&ViewFile> = views.iter().collect();
    let mut errors = Vec::new();
    loop {
        let mut progressed = false;
        let mut still = Vec::new();
        errors.clear();
        for v in pending {
            match ctx.sql(&v.sql).await {
                Ok(df) => {
                    df.collect().await?;
                    alias_snapshot(ctx, store, &v.view).await?;
                    progressed = true;
                }
                Err(e) => {
                    for index in fits.take_wanted() {
                        let model = crate::functions::model_fit::model_name(index);
                        if ctx.table_exist(format!("fit_{model}").as_str())? {
                            let row =
                                crate::functions::model_fit::fit_row(local, ctx, index).await?;
                            fits.insert(index, row);
                            progressed = true;
                        }
                    }
                    errors.push(format!("{}: {e}", v.view));
                    still.push(v);
                }
            }
        }
        pending = still;
        if pending.is_empty() || !progressed {
            break;
        }
    }
    for e in errors {
        tracing::info!("stays local (not on the cluster): {e}");
    }
    Ok(())
}

/// The cluster has no snapshot: member_scores and customer_segments are their live views,
/// in the snapshot's columns (src/scores), registered as soon as `view` is one of those.
async fn alias_snapshot(ctx: &SessionContext, store: &Store, view: &str) -> Result<()> {
    if !crate::scores::SNAPSHOTS
        .iter()
        .any(|(_, live)| *live == view)
    {
        return Ok(());
    }
    let provider = ctx.table_provider(view).await?;
    let as_of = CipOptions::of(ctx.state().config_options()).as_of_date()?;
    let relations =
        crate::scores::live_relations(store, as_of, |v| (v == view).then(|| provider.clone()))?;
    for (name, relation) in relations {
        ctx.register_table(name, relation)?;
    }
    Ok(())
}

/// Runs every statement of `text` on the cluster and prints each result as `cip sql` does;
/// statements that would change anything are refused (writes stay local).
pub async fn run_script(ctx: &SessionContext, text: &str, out: &mut dyn Write) -> Result<()> {
    let statements = datafusion::sql::parser::DFParser::parse_sql(text)?;
    for statement in statements {
        let plan = ctx.state().statement_to_plan(statement).await?;
        if let LogicalPlan::Dml(_)
        | LogicalPlan::Ddl(_)
        | LogicalPlan::Copy(_)
        | LogicalPlan::Statement(_) = plan
        {
            return Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "a cluster runs queries only: writes, DDL, COPY and settings stay local \
                 (run the statement without --cluster)",
            ));
        }
        let df = ctx.execute_logical_plan(plan).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let printed = crate::sql::format_rows(schema, &batches)?;
        out.write_all(printed.as_bytes())
            .map_err(|e| CipError::io("write output", e))?;
    }
    Ok(())
}

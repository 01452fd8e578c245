//! `cip score --out FILE`: every active member's segment, tags and model figures (the view
//! member_scores) streamed into one Parquet file, with a progress bar. The file appears
//! only when complete (written beside it, then renamed).

use crate::engine::Engine;
use crate::error::{CipError, Result};
use crate::scores::ranges::Range;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use futures::StreamExt;
use std::path::Path;

/// A session as of `as_of` (default: today).
async fn session_as_of(
    engine: &Engine,
    as_of: Option<&str>,
) -> Result<datafusion::prelude::SessionContext> {
    let ctx = engine.session().await?;
    if let Some(d) = as_of {
        let d = d.replace('\'', "");
        ctx.sql(&format!("SET cip.as_of = '{d}'")).await?;
    }
    Ok(ctx)
}

/// Stores the scores as of `as_of` as the snapshot member_scores; returns the members.
pub async fn into_warehouse(engine: &Engine, as_of: Option<&str>) -> Result<u64> {
    let ctx = session_as_of(engine, as_of).await?;
    let row = crate::scores::refresh(ctx.state(), engine.store.clone()).await?;
    use datafusion::arrow::array::AsArray;
    let members = row
        .column(0)
        .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
        .map_or(0, |c| c.value(0));
    Ok(members as u64)
}

/// Scores as of `as_of` (default: today) into `out`, computed by this process or by the
/// Ballista cluster at `cluster`; returns the members written.
pub async fn score(
    engine: &Engine,
    out: &Path,
    as_of: Option<&str>,
    progress: bool,
    cluster: Option<&str>,
) -> Result<u64> {
    let mut ctx = session_as_of(engine, as_of).await?;
    if let Some(url) = cluster {
        ctx = crate::cluster::session(engine, &ctx, url).await?;
    }
    let total = crate::statement::count_of(
        &ctx.sql("SELECT CAST(count(*) AS BIGINT UNSIGNED) FROM members WHERE status = 'active'")
            .await?
            .collect()
            .await?,
    );
    let bar = if progress && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} scoring members {bar:40} {pos}/{len} [{elapsed_precise}, eta {eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(200));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    // A cluster has its own memory; here the members are scored range by range (as the
    // snapshot is: scores/ranges.rs), sized by what member_scores_live reads.
    let ranges = if cluster.is_some() {
        vec![Range::ALL]
    } else {
        let live = ctx
            .sql(&format!("SELECT * FROM {}", crate::scores::LIVE))
            .await?;
        let names = crate::scores::inputs(live.logical_plan(), &engine.store);
        crate::scores::ranges::for_scoring(&ctx, engine.store.clone(), names).await?
    };
    let df = ctx.sql("SELECT * FROM member_scores").await?;
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let tmp = out.with_extension("parquet.partial");
    let file = std::fs::File::create(&tmp)
        .map_err(|e| CipError::io(format!("create {}", tmp.display()), e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema, Some(props))?;
    let mut written = 0u64;
    let result: Result<()> = async {
        for range in &ranges {
            let mut df = ctx.sql("SELECT * FROM member_scores").await?;
            if let Some(filter) = range.filter() {
                df = df.filter(filter)?;
            }
            let mut stream = df.execute_stream().await?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                written += batch.num_rows() as u64;
                writer.write(&batch)?;
                bar.set_position(written);
            }
        }
        writer.close()?;
        Ok(())
    }
    .await;
    bar.finish_and_clear();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, out)
        .map_err(|e| CipError::io(format!("rename {} to {}", tmp.display(), out.display()), e))?;
    Ok(written)
}

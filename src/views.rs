//! The named views of queries/: one `NN_<view>.sql` file per view, loaded in name order so a
//! view can build on the ones before it.

use crate::error::{CipError, Result};
use datafusion::prelude::SessionContext;
use std::path::Path;

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

/// Creates every view in `ctx`; the first failure names its file.
pub async fn create_views(ctx: &SessionContext, views: &[ViewFile]) -> Result<()> {
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
    }
    Ok(())
}

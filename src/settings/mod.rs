//! Session settings of cip, set per session with `SET cip.<name> = …` and read with
//! `SHOW cip.<name>`. They live in DataFusion's config as the `cip` extension, so every
//! session (every pgwire connection) has its own.
use crate::error::sqlstate;

pub mod pg;
pub mod time_zone;

pub use cip_udfs::session::{AsOf, CipOptions};

/// DataFusion options any session may change for itself: how plans and values are shown and
/// how SQL is read. Every other `datafusion.*` option — partitions, batch size, memory,
/// spill, join and optimizer budgets, the parser's recursion limit, `datafusion.runtime.*` —
/// governs what one statement may take from the server, so it is set in the config file or
/// by an operator; an analyst gets 42501. `cip.*` settings (as_of, timezone, day_cutoff,
/// key_sort) and PostgreSQL's parameters are every session's own.
const SESSION_OPTIONS: &[&str] = &[
    "datafusion.explain.",
    "datafusion.format.",
    "datafusion.sql_parser.",
    "datafusion.execution.time_zone",
];
const SERVER_OPTIONS: &[&str] = &["datafusion.sql_parser.recursion_limit"];
/// Options the engine fixes for every session (src/engine.rs says why); no role may change
/// them, since another value lets one statement park the server.
const FIXED_OPTIONS: &[&str] = &["datafusion.execution.max_spill_file_size_bytes"];

/// Whether `name` is fixed by the engine for every session (see FIXED_OPTIONS).
pub fn is_fixed(name: &str) -> bool {
    FIXED_OPTIONS.iter().any(|f| name.eq_ignore_ascii_case(f))
}

/// Whether a session of any role may change the setting `name` (see SESSION_OPTIONS).
pub fn session_may_change(name: &str) -> bool {
    let key = name.to_ascii_lowercase();
    if !key.starts_with("datafusion.") {
        return true;
    }
    SESSION_OPTIONS.iter().any(|p| key.starts_with(p))
        && !SERVER_OPTIONS.iter().any(|p| key.starts_with(p))
}

/// The value of a `cip.*` or `datafusion.*` setting in this session, for `SHOW <name>`; None
/// when `name` is neither. An unknown name under either prefix is an error (42704).
pub fn show(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
) -> Option<crate::error::Result<datafusion::arrow::record_batch::RecordBatch>> {
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::config::ExtensionOptions;
    let key = name.to_ascii_lowercase();
    let state = ctx.state();
    let options = state.config().options();
    let value = if key.starts_with("datafusion.") {
        // DataFusion's own options: shown as its SHOW would (an unset option is empty).
        options
            .entries()
            .into_iter()
            .find(|e| e.key == key)
            .map(|e| e.value.unwrap_or_default())
    } else {
        let field = key.strip_prefix("cip.")?.to_string();
        options
            .extensions
            .get::<CipOptions>()
            .and_then(|o| o.entries().into_iter().find(|e| e.key == field))
            .map(|e| e.value.unwrap_or_default())
    };
    Some(match value {
        None => Err(crate::error::CipError::invalid(
            sqlstate::UNDEFINED_OBJECT,
            format!("unrecognized configuration parameter \"{name}\""),
        )),
        Some(v) => {
            let schema =
                std::sync::Arc::new(Schema::new(vec![Field::new(&key, DataType::Utf8, false)]));
            datafusion::arrow::record_batch::RecordBatch::try_new(
                schema,
                vec![std::sync::Arc::new(StringArray::from(vec![v]))],
            )
            .map_err(Into::into)
        }
    })
}

/// The dotted name of a SHOW variable, as the parser splits it (`cip.as_of`).
pub fn variable_name(parts: &[datafusion::sql::sqlparser::ast::Ident]) -> String {
    parts
        .iter()
        .map(|i| i.value.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::session_may_change;

    #[test]
    fn resource_options_are_the_servers() {
        for name in [
            "datafusion.execution.target_partitions",
            "DataFusion.Execution.Batch_Size",
            "datafusion.sql_parser.recursion_limit",
            "datafusion.runtime.memory_limit",
            "datafusion.optimizer.max_passes",
        ] {
            assert!(!session_may_change(name), "{name}");
        }
        for name in [
            "cip.as_of",
            "datafusion.explain.format",
            "datafusion.format.null",
            "datafusion.sql_parser.enable_ident_normalization",
            "datafusion.execution.time_zone",
            "TimeZone",
        ] {
            assert!(session_may_change(name), "{name}");
        }
        assert!(super::is_fixed(
            "DataFusion.Execution.Max_Spill_File_Size_Bytes"
        ));
        assert!(!super::is_fixed("datafusion.execution.batch_size"));
    }
}

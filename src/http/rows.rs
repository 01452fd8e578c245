//! Query results as JSON objects with the seed's camelCase field names.

use super::error::ApiError;
use crate::error::sqlstate;
use crate::statement::Session;
use datafusion::arrow::json::writer::{JsonArray, WriterBuilder};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use serde_json::{Map, Value};
use std::sync::Arc;

/// snake_case → camelCase; `roi` stays, `expected_roi` becomes the seed's `expectedROI`.
pub fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    match out.strip_suffix("Roi") {
        Some(head) if !head.is_empty() => format!("{head}ROI"),
        _ => out,
    }
}

/// A text parameter for `query`.
pub fn text(v: &str) -> ScalarValue {
    ScalarValue::Utf8(Some(v.to_string()))
}

/// Runs `sql` with positional parameters (`$1`, …) through the session and returns its rows
/// as camelCase JSON objects.
pub async fn query(
    session: &Arc<Session>,
    sql: &str,
    params: Vec<ScalarValue>,
) -> Result<Vec<Map<String, Value>>, ApiError> {
    let batches = session.query(sql, params).await?;
    to_json(&batches)
}

pub fn to_json(batches: &[RecordBatch]) -> Result<Vec<Map<String, Value>>, ApiError> {
    // Explicit nulls: a missing field and a NULL one mean different things to a client.
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    writer
        .write_batches(&refs)
        .map_err(|e| ApiError::from(crate::error::CipError::from(e)))?;
    writer
        .finish()
        .map_err(|e| ApiError::from(crate::error::CipError::from(e)))?;
    let bytes = writer.into_inner();
    let text = if bytes.is_empty() {
        b"[]".to_vec()
    } else {
        bytes
    };
    let rows: Vec<Map<String, Value>> = serde_json::from_slice(&text).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            sqlstate::INTERNAL_ERROR,
            e.to_string(),
        )
    })?;
    Ok(rows
        .into_iter()
        .map(|r| r.into_iter().map(|(k, v)| (camel(&k), v)).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn seed_field_names() {
        assert_eq!(super::camel("customer_count"), "customerCount");
        assert_eq!(super::camel("expected_roi"), "expectedROI");
        assert_eq!(super::camel("roi"), "roi");
        assert_eq!(super::camel("avg_p_alive"), "avgPAlive");
    }
}

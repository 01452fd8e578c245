//! `member_scores`: the scored snapshot (../shared/DESIGN.md). Its columns are those of the
//! view member_scores_live (queries/08) plus the business date they were computed for; the
//! rows are written whole by refresh_member_scores() (src/scores), sorted by member_id so a
//! lookup of one member reads one page of each column.

use super::tables::{f, key, schema, text};
use crate::storage::{Layout, TableDef};
use datafusion::arrow::datatypes::DataType;

pub fn score_table() -> TableDef {
    let tags = || DataType::new_list(DataType::Utf8, true);
    let float = |name| f(name, DataType::Float64, true);
    TableDef {
        name: "member_scores",
        schema: schema(vec![
            key("member_id"),
            text("segment_id"),
            text("segment_name"),
            f("recency_days", DataType::Int64, true),
            float("frequency"),
            float("monetary"),
            f("r_score", DataType::Int64, true),
            f("f_score", DataType::Int64, true),
            f("m_score", DataType::Int64, true),
            float("p_alive"),
            float("churn_risk"),
            float("expected_visits_90d"),
            float("expected_clv"),
            float("clv_rank"),
            float("visits_per_month"),
            float("spend_per_month"),
            float("rhythm_days"),
            float("total_spend"),
            f("tenure_days", DataType::Int64, true),
            text("reason"),
            float("spend_x"),
            float("visits_x"),
            float("spend_month_x"),
            float("silence_rhythms"),
            float("silence_gaps"),
            f("rule_version", DataType::Int32, true),
            f("behavior_tags", tags(), true),
            f("preference_tags", tags(), true),
            f("value_tags", tags(), true),
            f("as_of", DataType::Date32, true),
            // Added after as_of (older snapshots are read with it NULL: storage/widen.rs).
            f("fit_as_of", DataType::Date32, true),
        ]),
        key: &["member_id"],
        // One row per member by construction (the refresh writes the view's rows whole).
        unique: false,
        defaults: &[],
        domains: &[],
        references: &[],
        indexes: &[],
        descriptions: &[],
        // Looked up one member at a time (scores/provider.rs).
        layout: Layout::PointReads,
    }
}

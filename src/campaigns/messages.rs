//! The personal messages of a launch: one per messaged treatment member, its offer category
//! from the member's own tags (else the audience's most common one), its text rendered from
//! the template in force, and an unguessable tracking token.

use super::audience::Member;
use super::templates::{choose, render, Template, CATEGORIES};
use crate::error::to_df;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int32Type, SchemaRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// The templates of `campaign_type` in force at `now`.
pub async fn templates_in_force(
    ctx: &SessionContext,
    campaign_type: &str,
    now: i64,
) -> Result<Vec<Template>> {
    let sql = "SELECT template_id, offer_category, variant, body, version FROM (
            SELECT t.*, row_number() OVER (PARTITION BY template_id ORDER BY version DESC) AS rn
            FROM message_templates t WHERE valid_from <= $2 OR valid_from IS NULL) x
        WHERE rn = 1 AND campaign_type = $1 ORDER BY template_id";
    let rows = ctx
        .sql(sql)
        .await?
        .with_param_values(vec![
            ScalarValue::from(campaign_type),
            ScalarValue::TimestampMicrosecond(Some(now), None),
        ])?
        .collect()
        .await?;
    let mut out = Vec::new();
    for b in &rows {
        let text = |i: usize| cast(b.column(i), &DataType::Utf8);
        let (ids, cats, variants, bodies) = (text(0)?, text(1)?, text(2)?, text(3)?);
        let version = cast(b.column(4), &DataType::Int32)?;
        let version = version.as_primitive::<Int32Type>();
        for i in 0..b.num_rows() {
            let opt = |a: &ArrayRef| {
                let a = a.as_string::<i32>();
                a.is_valid(i).then(|| a.value(i).to_string())
            };
            out.push(Template {
                template_id: opt(&ids).unwrap_or_default(),
                offer_category: opt(&cats),
                variant: opt(&variants),
                body: opt(&bodies).unwrap_or_default(),
                version: version.value(i),
            });
        }
    }
    Ok(out)
}

/// What every message of a launch shares.
pub struct Launch<'a> {
    pub campaign_id: &'a str,
    pub campaign_type: &'a str,
    pub offer: &'a str,
    pub channel: &'a str,
    /// The offer's last day, as members read it.
    pub expiry: String,
    pub public_url: &'a str,
    pub now: i64,
    /// The category of members without one of their own.
    pub fallback_category: Option<String>,
}

/// One message per (member, variant) of `messaged`, as message_outbox rows.
pub fn outbox_rows(
    schema: SchemaRef,
    launch: &Launch<'_>,
    templates: &[Template],
    messaged: &[(&Member, &str)],
) -> Result<RecordBatch> {
    let n = messaged.len();
    let mut ids = Vec::with_capacity(n);
    let mut categories = Vec::with_capacity(n);
    let mut contents = Vec::with_capacity(n);
    let mut tokens = Vec::with_capacity(n);
    let mut template_ids = Vec::with_capacity(n);
    let mut versions = Vec::with_capacity(n);
    for (m, variant) in messaged {
        let category = m
            .category
            .clone()
            .or_else(|| launch.fallback_category.clone());
        let template = choose(templates, category.as_deref(), variant).ok_or_else(|| {
            super::launch::invalid(format!(
                "no message template in force for campaign type {:?} (category {:?}, variant \
                 {variant:?}); add one to message_templates",
                launch.campaign_type,
                category.as_deref().unwrap_or("none")
            ))
        })?;
        let token = format!("{:032x}", rand::random::<u128>());
        let link = format!("{}/t/{token}", launch.public_url);
        let category_name = category
            .as_deref()
            .and_then(|c| CATEGORIES.iter().find(|x| x.0 == c))
            .map(|x| x.2)
            .unwrap_or("");
        let content = render(
            template,
            &[
                ("name", m.name.as_deref().unwrap_or("会员")),
                ("tier", m.tier.as_deref().unwrap_or("")),
                ("offer", launch.offer),
                ("category", category_name),
                ("expiry", &launch.expiry),
                ("link", &link),
            ],
        )
        .map_err(to_df)?;
        ids.push(message_id(launch.campaign_id, &m.member_id));
        categories.push(category);
        contents.push(content);
        tokens.push(token);
        template_ids.push(template.template_id.clone());
        versions.push(template.version);
    }
    let members: Vec<&str> = messaged.iter().map(|(m, _)| m.member_id.as_str()).collect();
    let variants: Vec<&str> = messaged.iter().map(|(_, v)| *v).collect();
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(vec![launch.campaign_id; n])),
            Arc::new(StringArray::from(members)),
            Arc::new(StringArray::from(variants)),
            Arc::new(StringArray::from(vec![launch.channel; n])),
            Arc::new(StringArray::from(categories)),
            Arc::new(StringArray::from(contents)),
            Arc::new(StringArray::from(tokens)),
            Arc::new(StringArray::from(template_ids)),
            Arc::new(Int32Array::from(versions)),
            Arc::new(TimestampMicrosecondArray::from(vec![launch.now; n])),
        ],
    )?)
}

/// A member gets at most one message per campaign, so the pair names it; it is also the
/// Idempotency-Key a gateway de-duplicates retries by.
pub fn message_id(campaign_id: &str, member_id: &str) -> String {
    format!("{campaign_id}:{member_id}")
}

/// message_attempts rows: one step (`status`) for each of `message_ids`.
pub fn attempt_rows(
    schema: SchemaRef,
    message_ids: &[&str],
    status: &str,
    attempts: &[i32],
    errors: &[Option<String>],
    now: i64,
) -> Result<RecordBatch> {
    let n = message_ids.len();
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(datafusion::arrow::array::Int64Array::from(vec![
                None::<i64>;
                n
            ])),
            Arc::new(StringArray::from(message_ids.to_vec())),
            Arc::new(StringArray::from(vec![status; n])),
            Arc::new(Int32Array::from(attempts.to_vec())),
            Arc::new(StringArray::from_iter(errors.iter().map(|e| e.as_deref()))),
            Arc::new(TimestampMicrosecondArray::from(vec![now; n])),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_ids_name_campaign_and_member() {
        assert_eq!(super::message_id("C0001", "M42"), "C0001:M42");
    }
}

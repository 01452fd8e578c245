//! Message templates (the message_templates table): the default texts a new warehouse starts
//! with, the choice of a template for a message, and its rendering.
//!
//! A template is picked per message: among the templates in force (each template_id's highest
//! version whose valid_from has come) of the campaign's type, those whose offer_category and
//! variant are the message's or NULL; the most specific wins (variant, then category), then
//! the lowest template_id, so the choice is stable.

use crate::error::{CipError, Result as CipResult};
use datafusion::arrow::array::{Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use datafusion::common::Result;
use std::sync::Arc;

/// The categories an offer can be about, with the preference tag behind each and its name in
/// the default (Chinese) texts.
pub const CATEGORIES: [(&str, &str, &str); 4] = [
    ("beer", "beer_lover", "啤酒"),
    ("wine", "wine_lover", "红酒洋酒"),
    ("package", "package_buyer", "欢唱套餐"),
    ("snack", "snack_lover", "小食果盘"),
];

/// The placeholders a body may use.
pub const FIELDS: [&str; 6] = ["name", "tier", "offer", "category", "expiry", "link"];

/// What each campaign type offers, by category (the default texts).
fn phrase(campaign_type: &str, category: &str) -> String {
    let gift = match category {
        "beer" => "精酿啤酒塔一座",
        "wine" => "店酒一瓶",
        "package" => "欢唱一小时",
        _ => "果盘一份",
    };
    let name = CATEGORIES
        .iter()
        .find(|c| c.0 == category)
        .map(|c| c.2)
        .unwrap_or("消费");
    match campaign_type {
        "discount" => format!("工作日{name}享85折"),
        "coupon" => format!("第二次到店{name}立减50元（满300元可用）"),
        "gift" => format!("下次到店赠送{gift}"),
        "upgrade_plan" => format!("本月{name}消费计双倍升级进度"),
        "points_multiplier" => format!("周五至周日{name}消费享双倍积分"),
        _ => format!("好久不见！送您欢唱一小时，{name}8折"),
    }
}

/// The default templates: one per campaign type and category, and one per type for any
/// category (it names the campaign's own offer). Version 1, in force since 1900.
pub fn default_templates() -> Result<RecordBatch> {
    let def = crate::warehouse::tables::table_def("message_templates").ok_or_else(|| {
        crate::error::to_df(CipError::Corrupt("no message_templates table".into()))
    })?;
    let mut rows: Vec<(String, String, Option<String>, String)> = Vec::new();
    for kind in super::TYPES {
        for (category, _, _) in CATEGORIES {
            let body = format!(
                "{{name}}您好，{}，{{expiry}}前有效。详情：{{link}} 回T退订",
                phrase(kind, category)
            );
            rows.push((
                format!("{kind}.{category}"),
                kind.into(),
                Some(category.into()),
                body,
            ));
        }
        let any = "{name}您好，{offer}，{expiry}前有效。详情：{link} 回T退订".to_string();
        rows.push((format!("{kind}.any"), kind.into(), None, any));
    }
    let n = rows.len();
    let since = chrono::NaiveDate::from_ymd_opt(1900, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_micros());
    Ok(RecordBatch::try_new(
        def.schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.0.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.1.as_str()),
            )),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.2.as_deref()))),
            Arc::new(StringArray::from(vec![None::<&str>; n])),
            Arc::new(StringArray::from(vec!["zh"; n])),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.3.as_str()),
            )),
            Arc::new(Int32Array::from(vec![1; n])),
            Arc::new(TimestampMicrosecondArray::from(vec![since; n])),
        ],
    )?)
}

/// A template in force.
#[derive(Debug, Clone)]
pub struct Template {
    pub template_id: String,
    pub offer_category: Option<String>,
    pub variant: Option<String>,
    pub body: String,
    pub version: i32,
}

/// The template for a message of `category` (None: the member has none) and `variant`.
pub fn choose<'a>(
    templates: &'a [Template],
    category: Option<&str>,
    variant: &str,
) -> Option<&'a Template> {
    templates
        .iter()
        .filter(|t| t.variant.as_deref().is_none_or(|v| v == variant))
        .filter(|t| t.offer_category.is_none() || t.offer_category.as_deref() == category)
        .min_by(|a, b| {
            let rank = |t: &Template| (t.variant.is_none(), t.offer_category.is_none());
            rank(a)
                .cmp(&rank(b))
                .then_with(|| a.template_id.cmp(&b.template_id))
        })
}

/// `body` with each `{field}` replaced; an unknown placeholder or an unclosed brace is an
/// error naming the template, so a typo never reaches a member.
pub fn render(template: &Template, values: &[(&str, &str)]) -> CipResult<String> {
    let body = &template.body;
    let mut out = String::with_capacity(body.len() + 64);
    let mut rest = body.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| bad(template, "an unclosed {".into()))?;
        let field = &after[..close];
        let value = values
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                bad(
                    template,
                    format!(
                        "unknown placeholder {{{field}}} (known: {})",
                        FIELDS.join(", ")
                    ),
                )
            })?;
        out.push_str(value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn bad(t: &Template, what: String) -> CipError {
    CipError::invalid(
        crate::error::sqlstate::INVALID_PARAMETER_VALUE,
        format!("message template {} v{}: {what}", t.template_id, t.version),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, category: Option<&str>, variant: Option<&str>, body: &str) -> Template {
        Template {
            template_id: id.into(),
            offer_category: category.map(Into::into),
            variant: variant.map(Into::into),
            body: body.into(),
            version: 1,
        }
    }

    #[test]
    fn most_specific_template_wins() {
        let all = vec![
            t("any", None, None, "{offer}"),
            t("wine", Some("wine"), None, "wine {name}"),
            t("wine.B", Some("wine"), Some("B"), "B wine"),
        ];
        assert_eq!(choose(&all, Some("wine"), "A").unwrap().template_id, "wine");
        assert_eq!(
            choose(&all, Some("wine"), "B").unwrap().template_id,
            "wine.B"
        );
        assert_eq!(choose(&all, Some("beer"), "B").unwrap().template_id, "any");
        assert_eq!(choose(&all, None, "A").unwrap().template_id, "any");
        assert!(choose(&all[1..2], Some("beer"), "A").is_none());
    }

    #[test]
    fn rendering_refuses_unknown_placeholders() {
        let ok = t("x", None, None, "{name}您好，{offer}");
        let text = render(&ok, &[("name", "王小明"), ("offer", "85折")]).unwrap();
        assert_eq!(text, "王小明您好，85折");
        let typo = t("x", None, None, "{nmae}");
        assert!(render(&typo, &[("name", "a")])
            .unwrap_err()
            .to_string()
            .contains("{nmae}"));
        assert!(render(&t("x", None, None, "{name"), &[]).is_err());
    }

    #[test]
    fn defaults_cover_every_type_and_category() {
        let b = default_templates().unwrap();
        assert_eq!(
            b.num_rows(),
            super::super::TYPES.len() * (CATEGORIES.len() + 1)
        );
    }
}

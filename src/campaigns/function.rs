//! The table function `launch_campaign(segment_id, campaign_type [, offer [, control_share]])`:
//! it acts when executed, never when planned, described or EXPLAINed (functions/deferred.rs).

use super::launch::{invalid, launch, schema, Request, Settings};
use crate::deferred::{unbound, Action, DeferredTable};
use crate::storage::Store;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::Expr;
use std::sync::Arc;

pub const SEGMENTS: [&str; 6] = ["vip", "loyal", "potential", "regular", "churn_risk", "new"];
pub const TYPES: [&str; 6] = [
    "discount",
    "coupon",
    "gift",
    "points_multiplier",
    "upgrade_plan",
    "retention",
];

pub struct LaunchCampaign {
    pub store: Arc<Store>,
    pub settings: Settings,
}

impl std::fmt::Debug for LaunchCampaign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("launch_campaign")
    }
}

/// A literal argument as text (NULL as None); placeholders are bound before execution by the
/// statement layer (a call with one describes only, see `unbound`).
fn text(arg: &Expr, what: &str) -> Result<Option<String>> {
    match arg {
        Expr::Literal(v, _) if v.is_null() => Ok(None),
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)),
            _,
        ) => Ok(Some(s.clone())),
        Expr::Literal(v, _) if v.data_type().is_numeric() => Ok(Some(v.to_string())),
        other => {
            plan_err!("type mismatch: launch_campaign's {what} must be a literal, got {other}")
        }
    }
}

impl TableFunctionImpl for LaunchCampaign {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        if let Some(Expr::Placeholder(p)) = exprs.iter().find(|e| matches!(e, Expr::Placeholder(_)))
        {
            return Ok(unbound("launch_campaign", &p.id, schema()));
        }
        if exprs.len() < 2 || exprs.len() > 4 {
            return plan_err!(
                "type mismatch: launch_campaign takes (segment_id, campaign_type [, offer [, control_share]]), got {} arguments",
                exprs.len()
            );
        }
        let segment = text(&exprs[0], "segment_id")?.unwrap_or_default();
        let kind = text(&exprs[1], "campaign_type")?.unwrap_or_default();
        if !SEGMENTS.contains(&segment.as_str()) {
            return Err(invalid(format!(
                "unknown segment {segment:?} (expected one of {})",
                SEGMENTS.join(", ")
            )));
        }
        if !TYPES.contains(&kind.as_str()) {
            return Err(invalid(format!(
                "unknown campaign type {kind:?} (expected one of {})",
                TYPES.join(", ")
            )));
        }
        let offer = match exprs.get(2) {
            Some(e) => text(e, "offer")?.filter(|o| !o.trim().is_empty()),
            None => None,
        };
        let control_share = match exprs.get(3) {
            Some(e) => match text(e, "control_share")? {
                None => None,
                Some(s) => Some(
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| invalid(format!("control_share {s:?} is not a number")))?,
                ),
            },
            None => None,
        };
        let req = Request {
            segment_id: segment,
            campaign_type: kind,
            offer,
            control_share,
        };
        let label = format!(
            "launch_campaign('{}', '{}')",
            req.segment_id, req.campaign_type
        );
        let (store, settings) = (self.store.clone(), self.settings.clone());
        let action: Action = Arc::new(move |state| {
            Box::pin(launch(state, store.clone(), settings.clone(), req.clone()))
        });
        Ok(Arc::new(DeferredTable::new(label, schema(), action)))
    }
}

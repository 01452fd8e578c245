//! The table functions `execute_upgrades([member_id])` and `review_tiers([member_id])`: they
//! act when executed, never when planned, described or EXPLAINed (functions/deferred.rs).

use super::run::{run, schema, Kind};
use crate::deferred::{unbound, Action, DeferredTable};
use crate::storage::Store;
use cip_udfs::error::invalid_argument;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::Expr;
use std::sync::Arc;

pub struct TierRun {
    pub store: Arc<Store>,
    pub kind: Kind,
}

impl std::fmt::Debug for TierRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.function())
    }
}

impl TableFunctionImpl for TierRun {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let name = self.kind.function();
        let member = match args.exprs() {
            [] => None,
            [Expr::Literal(
                ScalarValue::Utf8(v) | ScalarValue::Utf8View(v) | ScalarValue::LargeUtf8(v),
                _,
            )] => match v {
                Some(m) if !m.trim().is_empty() => Some(m.trim().to_string()),
                _ => return Err(invalid_argument(name, "member_id is NULL or empty")),
            },
            [Expr::Placeholder(p)] => return Ok(unbound(name, &p.id, schema())),
            [Expr::Literal(ScalarValue::Null, _)] => {
                return Err(invalid_argument(name, "member_id is NULL"))
            }
            _ => {
                return plan_err!(
                "type mismatch: {name} takes no argument (every member) or one member_id as text"
            )
            }
        };
        let label = match &member {
            Some(m) => format!("{name}('{m}')"),
            None => format!("{name}()"),
        };
        let (store, kind) = (self.store.clone(), self.kind);
        let action: Action =
            Arc::new(move |state| Box::pin(run(state, store.clone(), kind, member.clone())));
        Ok(Arc::new(DeferredTable::new(label, schema(), action)))
    }
}

//! `model_fit(...)` on a cluster. Locally it is a deferred scan that fits and stores when it
//! is first read; a cluster can only ship what it can serialize, so here a call answers with
//! the fit already known, as one row of literals. A call for a fit not yet known records the
//! model and fails; the client (client.rs) then fits it — on the cluster, through the view
//! `fit_<model>` — stores it through the local engine, and plans the statement again.

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::{lit, Expr, LogicalPlanBuilder};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::functions::model_fit;

/// The fits a cluster session knows, and those it was asked for without knowing.
#[derive(Debug, Default)]
pub struct Fits {
    known: Mutex<HashMap<usize, RecordBatch>>,
    wanted: Mutex<BTreeSet<usize>>,
}

impl Fits {
    pub fn insert(&self, index: usize, row: RecordBatch) {
        if let Ok(mut k) = self.known.lock() {
            k.insert(index, row);
        }
    }

    /// The models asked for and not known since the last call.
    pub fn take_wanted(&self) -> Vec<usize> {
        self.wanted
            .lock()
            .map(|mut w| std::mem::take(&mut *w).into_iter().collect())
            .unwrap_or_default()
    }
}

/// The cluster session's `model_fit`.
#[derive(Debug)]
pub struct ClusterModelFit(pub Arc<Fits>);

impl TableFunctionImpl for ClusterModelFit {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let index = model_fit::model_index(&args)?;
        let known = self
            .0
            .known
            .lock()
            .ok()
            .and_then(|k| k.get(&index).cloned());
        let Some(row) = known else {
            if let Ok(mut w) = self.0.wanted.lock() {
                w.insert(index);
            }
            return plan_err!(
                "model_fit('{}') is not fitted for this session yet",
                model_fit::model_name(index)
            );
        };
        let columns = row
            .schema()
            .fields()
            .iter()
            .zip(row.columns())
            .map(|(f, c)| Ok(lit(ScalarValue::try_from_array(c, 0)?).alias(f.name())))
            .collect::<Result<Vec<Expr>>>()?;
        let plan = LogicalPlanBuilder::empty(true).project(columns)?.build()?;
        Ok(Arc::new(ViewTable::new(plan, None)))
    }
}

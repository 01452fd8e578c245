//! cip-udfs: cip's SQL functions as DataFusion UDFs, for any DataFusion context.
//!
//! `register_all` adds every function to a context (ours, a Ballista executor, a notebook
//! through datafusion-python). The functions themselves come with the customer-intelligence
//! work; each carries DataFusion `Documentation`.

use datafusion::common::Result;
use datafusion::execution::FunctionRegistry;

/// Registers every cip function with `registry`.
pub fn register_all(registry: &mut dyn FunctionRegistry) -> Result<()> {
    let _ = registry;
    Ok(())
}

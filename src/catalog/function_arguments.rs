//! How `pg_get_function_arguments`, `pg_get_function_identity_arguments` and
//! `pg_get_function_result` describe PostgreSQL's built-in functions, from their pg_proc rows
//! (proc_arrays.rs): argument modes, names and types, `VARIADIC`, `OUT` columns, `SETOF` and
//! `TABLE(…)` results, as PostgreSQL prints them. They answered '' for every built-in, so
//! pgAdmin's, DBeaver's and DataGrip's function lists showed `abs()` for all five `abs`.
//! cip's own functions are described by pg_proc.rs.
//!
//! Limit: datafusion-pg-catalog's rows carry no proargdefaults, so an argument with a default
//! is listed without its `DEFAULT …` (`pid integer, timeout bigint` where PostgreSQL writes
//! `… timeout bigint DEFAULT 0`); the identity arguments never show defaults, and are exact.

use super::format_type;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A built-in's arguments, identity arguments and result, as PostgreSQL prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub arguments: String,
    pub identity: String,
    pub result: String,
}

/// Every built-in function by OID, described once.
pub fn builtins() -> &'static HashMap<i32, Described> {
    static DESCRIBED: OnceLock<HashMap<i32, Described>> = OnceLock::new();
    DESCRIBED.get_or_init(|| {
        let mut out = HashMap::new();
        let described = super::proc_arrays::typed_batches()
            .and_then(|(_, batches)| batches.iter().try_for_each(|b| describe_batch(b, &mut out)));
        if let Err(e) = described {
            tracing::warn!("built-in functions left undescribed: {e}");
        }
        out
    })
}

/// One pg_proc row's parts that matter here.
struct Row {
    /// (mode, name, type OID) of every argument, in order.
    arguments: Vec<(char, String, i32)>,
    returns_set: bool,
    result_type: i32,
}

fn describe(row: &Row) -> Described {
    let listed = |a: &(char, String, i32)| {
        let mode = match a.0 {
            'o' => "OUT ",
            'b' => "INOUT ",
            'v' => "VARIADIC ",
            _ => "",
        };
        let name = if a.1.is_empty() {
            String::new()
        } else {
            format!("{} ", super::quoting::quote_ident(&a.1))
        };
        format!("{mode}{name}{}", format_type::name(a.2, -1))
    };
    // TABLE columns are the result, not arguments.
    let arguments: Vec<String> = row
        .arguments
        .iter()
        .filter(|a| a.0 != 't')
        .map(listed)
        .collect();
    let table: Vec<String> = row
        .arguments
        .iter()
        .filter(|a| a.0 == 't')
        .map(|a| {
            format!(
                "{} {}",
                super::quoting::quote_ident(&a.1),
                format_type::name(a.2, -1)
            )
        })
        .collect();
    let result = if !table.is_empty() {
        format!("TABLE({})", table.join(", "))
    } else {
        let set = if row.returns_set { "SETOF " } else { "" };
        format!("{set}{}", format_type::name(row.result_type, -1))
    };
    let arguments = arguments.join(", ");
    Described {
        identity: arguments.clone(),
        arguments,
        result,
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a ArrayRef> {
    batch.column_by_name(name)
}

fn integers(batch: &RecordBatch, name: &str) -> Result<Option<ArrayRef>> {
    column(batch, name)
        .map(|c| cast(c, &DataType::Int64))
        .transpose()
        .map_err(Into::into)
}

fn describe_batch(batch: &RecordBatch, out: &mut HashMap<i32, Described>) -> Result<()> {
    let (Some(oids), Some(rettypes), Some(types)) = (
        integers(batch, "oid")?,
        integers(batch, "prorettype")?,
        column(batch, "proargtypes")
            .map(|c| cast(c, &DataType::Utf8))
            .transpose()?,
    ) else {
        return Ok(());
    };
    let (oids, rettypes) = (
        oids.as_primitive::<Int64Type>(),
        rettypes.as_primitive::<Int64Type>(),
    );
    let types = types.as_string::<i32>();
    let sets = column(batch, "proretset").map(|c| c.as_boolean().clone());
    let names = column(batch, "proargnames").map(|c| c.as_list::<i32>().clone());
    let modes = column(batch, "proargmodes").map(|c| c.as_list::<i32>().clone());
    let all = column(batch, "proallargtypes").map(|c| c.as_list::<i32>().clone());
    let texts = |list: &Option<datafusion::arrow::array::ListArray>, i: usize| -> Vec<String> {
        match list {
            Some(l) if !l.is_null(i) => {
                let v = l.value(i);
                let v = v.as_string::<i32>();
                (0..v.len()).map(|j| v.value(j).to_string()).collect()
            }
            _ => vec![],
        }
    };
    for i in 0..batch.num_rows() {
        if oids.is_null(i) {
            continue;
        }
        let all_types: Vec<i32> = match &all {
            Some(l) if !l.is_null(i) => {
                let v = l.value(i);
                v.as_primitive::<Int64Type>()
                    .iter()
                    .map(|t| t.unwrap_or(0) as i32)
                    .collect()
            }
            _ if types.is_null(i) => vec![],
            _ => types
                .value(i)
                .split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect(),
        };
        let (names, modes) = (texts(&names, i), texts(&modes, i));
        let arguments = all_types
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let mode = modes.get(k).and_then(|m| m.chars().next()).unwrap_or('i');
                (mode, names.get(k).cloned().unwrap_or_default(), *t)
            })
            .collect();
        let row = Row {
            arguments,
            returns_set: sets.as_ref().is_some_and(|s| !s.is_null(i) && s.value(i)),
            result_type: if rettypes.is_null(i) {
                0
            } else {
                rettypes.value(i) as i32
            },
        };
        out.insert(oids.value(i) as i32, describe(&row));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(oid: i32) -> Described {
        builtins().get(&oid).cloned().expect("a built-in")
    }

    #[test]
    fn built_ins_described_as_postgresql_15_does() {
        // What PostgreSQL 15 answered for the same OIDs.
        assert_eq!(of(1397).arguments, "integer");
        assert_eq!(of(1397).result, "integer");
        assert_eq!(of(877).identity, "text, integer, integer");
        assert_eq!(of(1066).result, "SETOF integer");
        assert_eq!(
            of(938).arguments,
            "timestamp without time zone, timestamp without time zone, interval"
        );
        assert_eq!(of(3058).arguments, "VARIADIC \"any\"");
        assert_eq!(of(2096).identity, "pid integer, timeout bigint");
        assert_eq!(
            of(1686).arguments,
            "OUT word text, OUT catcode \"char\", OUT barelabel boolean, OUT catdesc text, \
             OUT baredesc text"
        );
        assert_eq!(of(1686).result, "SETOF record");
    }
}

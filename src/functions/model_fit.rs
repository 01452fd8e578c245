//! `model_fit('bgnbd' | 'mbgnbd' | 'pnbd' | 'gamma_gamma' | 'population')`: the fitted parameters for the session's
//! `cip.as_of`, from the `model_fits` table; when there is none yet, the fit runs once (the
//! view `fit_<model>` in queries/) and is stored, so later queries reuse it.
//!
//! A fit is keyed by (model, as_of). To fit again (say after loading more history for a past
//! date), delete the row: `DELETE FROM model_fits WHERE model = 'mbgnbd'`.
//!
//! A client of `cip serve` on today's date does not wait for today's fit when an earlier one
//! is stored (cip.fit_fallback, fit_background.rs): it gets that one, named by `fit_as_of`.

use super::fit_background;
use crate::deferred::{Action, DeferredTable};
use crate::settings::CipOptions;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, ListArray, RecordBatch,
    StringArray, StructArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// A fitted parameter: a number the fit must give, one it may leave NULL (a median over no
/// established member), or a list of numbers (cut points).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Param {
    Number,
    Maybe,
    List,
}

use Param::{List, Maybe, Number};

type Params = &'static [(&'static str, Param)];

const MODELS: [(&str, Params); 5] = [
    (
        "bgnbd",
        &[
            ("r", Number),
            ("alpha", Number),
            ("a", Number),
            ("b", Number),
        ],
    ),
    (
        "mbgnbd",
        &[
            ("r", Number),
            ("alpha", Number),
            ("a", Number),
            ("b", Number),
        ],
    ),
    (
        "pnbd",
        &[
            ("r", Number),
            ("alpha", Number),
            ("s", Number),
            ("beta", Number),
        ],
    ),
    (
        "gamma_gamma",
        &[("p", Number), ("q", Number), ("gamma", Number)],
    ),
    // The population's medians and cut points (queries/06_fit_population.sql): scoring a
    // member against them needs no window over everyone.
    (
        "population",
        &[
            ("med_spend_per_visit", Maybe),
            ("med_visits_per_month", Maybe),
            ("med_spend_per_month", Maybe),
            ("med_rhythm_days", Maybe),
            ("r_cuts", List),
            ("f_cuts", List),
            ("m_cuts", List),
            ("clv_cuts", List),
        ],
    ),
];

const NAMES: &str = "'bgnbd', 'mbgnbd', 'pnbd', 'gamma_gamma' or 'population'";

/// One fit of each model at a time per process, so concurrent first queries do not all fit;
/// one lock per model, since the population's fit reads the other models' fits.
static FITTING: [tokio::sync::Mutex<()>; MODELS.len()] =
    [const { tokio::sync::Mutex::const_new(()) }; MODELS.len()];

#[derive(Debug, Default)]
pub struct ModelFit;

fn params_type(fields: Params) -> DataType {
    let mut f: Vec<Field> = fields
        .iter()
        .map(|(n, p)| Field::new(*n, param_type(*p), true))
        .collect();
    f.push(Field::new("log_likelihood", DataType::Float64, true));
    f.push(Field::new("n", DataType::Int64, true));
    DataType::Struct(Fields::from(f))
}

fn param_type(p: Param) -> DataType {
    match p {
        Number | Maybe => DataType::Float64,
        List => DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))),
    }
}

fn schema(fields: Params) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("as_of", DataType::Date32, false),
        Field::new(
            "fitted_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
        Field::new("parameters", params_type(fields), true),
        // The day of the fit given: as_of, or an earlier day while today's is being made.
        Field::new("fit_as_of", DataType::Date32, true),
    ]))
}

impl TableFunctionImpl for ModelFit {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let index = model_index(&args)?;
        let (name, fields) = MODELS[index];
        let action: Action = Arc::new(move |state| {
            Box::pin(async move {
                let ctx = SessionContext::new_with_state(state);
                fit_row(&ctx, &ctx, index).await
            })
        });
        Ok(Arc::new(DeferredTable::new(
            format!("model_fit('{name}')"),
            schema(fields),
            action,
        )))
    }
}

/// Which model `model_fit(...)`'s arguments name.
pub(crate) fn model_index(args: &TableFunctionArgs) -> Result<usize> {
    let model = match args.exprs() {
        [Expr::Literal(ScalarValue::Utf8(Some(m)) | ScalarValue::Utf8View(Some(m)), _)] => {
            m.to_ascii_lowercase()
        }
        _ => return plan_err!("type mismatch: model_fit takes one text literal: {NAMES}"),
    };
    MODELS.iter().position(|(n, _)| *n == model).ok_or_else(|| {
        cip_udfs::error::invalid_argument(
            "model_fit",
            format!("unknown model {model:?} (expected {NAMES})"),
        )
    })
}

/// The name of model `index`.
pub(crate) fn model_name(index: usize) -> &'static str {
    MODELS[index].0
}

/// The fit of model `index` for `store`'s as-of date as model_fit's one row: the stored one,
/// else `fit_<model>` run in `fitter` (the same session, or a cluster's) and stored through
/// `store` — or, for a client on today's date (cip.fit_fallback), the latest earlier fit
/// while today's is made in the background.
pub(crate) async fn fit_row(
    store: &SessionContext,
    fitter: &SessionContext,
    index: usize,
) -> Result<RecordBatch> {
    let (model, fields) = MODELS[index];
    let options = CipOptions::of(store.state().config_options());
    let as_of = options.as_of_date()?;
    let row = match stored(store, model, as_of, Day::On).await? {
        Some(b) => Some(b),
        None => match fit_background::may_wait(&options) {
            true => fit_now(store, fitter, index, as_of).await?,
            false => match stored(store, model, as_of, Day::Before).await? {
                Some(b) => {
                    fit_background::start(store.state(), index, as_of, day_of(&b));
                    Some(b)
                }
                None => fit_now(store, fitter, index, as_of).await?,
            },
        },
    };
    let days = |d: chrono::NaiveDate| (d - chrono::NaiveDate::default()).num_days() as i32;
    let (params, fitted_at, fit_as_of) = match row {
        Some(b) => {
            let json = b.column(0).as_string::<i32>();
            let n = b
                .column(1)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            let ll = b
                .column(2)
                .as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            let at = b
                .column(3)
                .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            let p = to_struct(
                fields,
                json.is_valid(0).then(|| json.value(0)),
                n.is_valid(0).then(|| n.value(0)),
                ll.is_valid(0).then(|| ll.value(0)),
            )?;
            (p, at.is_valid(0).then(|| at.value(0)), Some(day_of(&b)))
        }
        None => (to_struct(fields, None, None, None)?, None, None),
    };
    Ok(RecordBatch::try_new(
        schema(fields),
        vec![
            Arc::new(StringArray::from(vec![model])),
            Arc::new(Date32Array::from(vec![days(as_of)])),
            Arc::new(TimestampMicrosecondArray::from(vec![fitted_at])),
            Arc::new(params),
            Arc::new(Date32Array::from(vec![fit_as_of.map(days)])),
        ],
    )?)
}

/// Fits model `index` for `as_of` unless a concurrent query just did; the stored row.
async fn fit_now(
    store: &SessionContext,
    fitter: &SessionContext,
    index: usize,
    as_of: chrono::NaiveDate,
) -> Result<Option<RecordBatch>> {
    let (model, fields) = MODELS[index];
    let _guard = FITTING[index].lock().await;
    if let Some(b) = stored(store, model, as_of, Day::On).await? {
        return Ok(Some(b));
    }
    // The fit reads other models' fits (the population's reads three): those of this very
    // day, made now if need be — never an earlier day's.
    let waiting;
    let fitter = match fit_background::may_wait(&CipOptions::of(fitter.state().config_options())) {
        true => fitter,
        false => {
            waiting =
                SessionContext::new_with_state(fit_background::waiting(fitter.state(), as_of));
            &waiting
        }
    };
    match fit_and_store(store, fitter, model, fields, as_of).await? {
        true => stored(store, model, as_of, Day::On).await,
        false => Ok(None),
    }
}

/// Which stored fit `stored` looks for: the day's own, or the latest of an earlier day.
#[derive(Clone, Copy, PartialEq)]
enum Day {
    On,
    Before,
}

/// The latest stored fit of `model` for `as_of` (or before it): parameters, n,
/// log_likelihood, fitted_at, as_of.
async fn stored(
    ctx: &SessionContext,
    model: &str,
    as_of: chrono::NaiveDate,
    day: Day,
) -> Result<Option<RecordBatch>> {
    let on = match day {
        Day::On => "=",
        Day::Before => "<",
    };
    let sql = format!(
        "SELECT parameters, n, log_likelihood, fitted_at, as_of FROM model_fits \
         WHERE model = '{model}' AND as_of {on} DATE '{as_of}' \
         ORDER BY as_of DESC, fitted_at DESC LIMIT 1"
    );
    let rows = ctx.sql(&sql).await?.collect().await?;
    Ok(rows.into_iter().find(|b| b.num_rows() > 0))
}

/// The day of a row `stored` gave.
fn day_of(row: &RecordBatch) -> chrono::NaiveDate {
    let days = row
        .column(4)
        .as_primitive::<datafusion::arrow::datatypes::Date32Type>()
        .value(0);
    chrono::NaiveDate::default() + chrono::Duration::days(days.into())
}

/// Runs `fit_<model>` in `fitter` and stores the result through `ctx`; false (and nothing stored) when the data cannot
/// identify the model yet.
async fn fit_and_store(
    ctx: &SessionContext,
    fitter: &SessionContext,
    model: &str,
    fields: Params,
    as_of: chrono::NaiveDate,
) -> Result<bool> {
    let started = std::time::Instant::now();
    let rows = fitter
        .sql(&format!("SELECT parameters FROM fit_{model}"))
        .await?
        .collect()
        .await?;
    let Some(batch) = rows.into_iter().find(|b| b.num_rows() > 0) else {
        return Ok(false);
    };
    let s = batch.column(0).as_struct();
    if s.is_null(0) {
        return Ok(false);
    }
    let numbers = |name: &str| -> Option<Float64Array> {
        let c = s.column_by_name(name)?;
        let c = match c.data_type() {
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
                let list = datafusion::arrow::compute::cast(c, &param_type(List)).ok()?;
                let list = list.as_list::<i32>();
                list.is_valid(0).then(|| list.value(0))?
            }
            _ => c.clone(),
        };
        let c = datafusion::arrow::compute::cast(&c, &DataType::Float64).ok()?;
        Some(
            c.as_primitive::<datafusion::arrow::datatypes::Float64Type>()
                .clone(),
        )
    };
    let value = |name: &str| -> Option<f64> {
        let c = numbers(name)?;
        (c.len() == 1 && c.is_valid(0)).then(|| c.value(0))
    };
    let missing = |f: &str| DataFusionError::Execution(format!("fit_{model} returned no {f}"));
    let mut json = serde_json::Map::new();
    for (f, kind) in fields {
        let v = match kind {
            Number => serde_json::json!(value(f).ok_or_else(|| missing(f))?),
            Maybe => serde_json::json!(value(f)),
            List => serde_json::json!(numbers(f).map(|l| l.iter().collect::<Vec<_>>())),
        };
        json.insert((*f).to_string(), v);
    }
    let json = serde_json::Value::Object(json).to_string();
    let n = value("n").map(|v| v as i64);
    let ll = value("log_likelihood");
    let insert = format!(
        "INSERT INTO model_fits (model, as_of, parameters, n, log_likelihood) VALUES ('{model}', DATE '{as_of}', '{json}', {}, {})",
        n.map_or("NULL".into(), |v| v.to_string()),
        ll.filter(|v| v.is_finite()).map_or("NULL".into(), |v| format!("{v:e}")),
    );
    // The stored fit is a cache of the engine's, not the caller's write: an analyst's first
    // query of the day stores it too.
    crate::identity::Actor::new("model_fit", crate::identity::Role::Owner).install(ctx);
    ctx.sql(&insert).await?.collect().await?;
    tracing::info!(model, %as_of, n, elapsed = ?started.elapsed(), "model fitted and stored");
    Ok(true)
}

/// The parameters struct from the stored JSON; all NULL without a fit.
fn to_struct(
    fields: Params,
    json: Option<&str>,
    n: Option<i64>,
    ll: Option<f64>,
) -> Result<StructArray> {
    let DataType::Struct(struct_fields) = params_type(fields) else {
        return plan_err!("internal: parameters type");
    };
    let Some(json) = json else {
        return Ok(StructArray::new_null(struct_fields, 1));
    };
    let parsed: serde_json::Value = serde_json::from_str(json).map_err(|e| {
        DataFusionError::Execution(format!(
            "model_fits holds unreadable parameters {json:?}: {e}"
        ))
    })?;
    let mut columns: Vec<ArrayRef> = fields
        .iter()
        .map(|(f, kind)| {
            let v = parsed.get(*f);
            match kind {
                Number | Maybe => {
                    Arc::new(Float64Array::from(vec![v.and_then(|v| v.as_f64())])) as ArrayRef
                }
                List => {
                    let values: Option<Vec<Option<f64>>> = v
                        .and_then(|v| v.as_array())
                        .map(|a| a.iter().map(|x| x.as_f64()).collect());
                    Arc::new(ListArray::from_iter_primitive::<
                        datafusion::arrow::datatypes::Float64Type,
                        _,
                        _,
                    >([values]))
                }
            }
        })
        .collect();
    columns.push(Arc::new(Float64Array::from(vec![ll])));
    columns.push(Arc::new(Int64Array::from(vec![n])));
    Ok(StructArray::try_new(struct_fields, columns, None)?)
}

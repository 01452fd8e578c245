//! Parameters that drivers send with their own numeric type, bound where the query needs a
//! decimal: `WHERE amount > $1` with psycopg's int8 100 or float8 100.5, JDBC's setDouble, node
//! `pg`'s numbers. arrow-pg decodes a parameter by the client's declared type and then refuses
//! int/float → Decimal128. This handler rewrites such parameters to NUMERIC text before the
//! stock handler decodes them, which is what PostgreSQL does (implicit int/float → numeric).

use datafusion::arrow::datatypes::DataType;
use datafusion_postgres::{DfSessionService, Parser};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::Response;
use pgwire::api::stmt::StoredStatement;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use std::sync::Arc;

pub struct NumericParams {
    pub inner: Arc<DfSessionService>,
    /// The connection's session: statements whose table functions take parameters are
    /// planned again here once their values are known (function_params.rs).
    pub ctx: Arc<datafusion::prelude::SessionContext>,
    /// This connection's cancel signal, for rows still streaming when a cancel arrives.
    pub cancel: Arc<super::cancel::ConnectionCancel>,
}

type Stmt = <DfSessionService as ExtendedQueryHandler>::Statement;

#[async_trait::async_trait]
impl ExtendedQueryHandler for NumericParams {
    type Statement = Stmt;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.inner.query_parser()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo
            + ClientPortalStore
            + futures::Sink<PgWireBackendMessage>
            + Unpin
            + Send
            + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: std::fmt::Debug,
        PgWireError: From<<C as futures::Sink<PgWireBackendMessage>>::Error>,
    {
        let deadline = super::timeout::deadline(client);
        let cancel = self.cancel.for_statement(client, deadline);
        let run = async {
            if let Some(p) = self.bound_functions(portal).await? {
                self.inner.do_query(client, &p, max_rows).await
            } else {
                match normalised(portal)? {
                    Some(p) => self.inner.do_query(client, &p, max_rows).await,
                    None => self.inner.do_query(client, portal, max_rows).await,
                }
            }
        };
        let response = crate::executor::entered(run).await?;
        let limits = super::timeout::Limits { deadline, cancel };
        Ok(super::timeout::bounded(response, limits))
    }
}

impl NumericParams {
    /// The portal of a statement whose table functions take parameters, with the values
    /// written in as literals and planned afresh; None for any other statement.
    async fn bound_functions(&self, portal: &Portal<Stmt>) -> PgWireResult<Option<Portal<Stmt>>> {
        let Some((statement, _)) = &portal.statement.statement.1 else {
            return Ok(None);
        };
        if super::function_params::function_placeholders(statement).is_empty() {
            return Ok(None);
        }
        let bound = super::function_params::bind(statement, portal)?;
        let plan = self
            .ctx
            .state()
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                bound.clone(),
            )))
            .await
            .map_err(super::copy_format::api)?;
        let stored = Arc::new(StoredStatement::new(
            portal.statement.id.clone(),
            (bound.to_string(), Some((bound, plan))),
            vec![],
        ));
        let mut p = Portal::new_cursor(portal.name.clone(), stored);
        p.parameter_format = Format::UnifiedText;
        p.result_column_format = portal.result_column_format.clone();
        p.state = portal.state.clone();
        Ok(Some(p))
    }
}

/// The portal with int/float parameters bound to decimals re-sent as NUMERIC text; None when
/// nothing needs it.
fn normalised(portal: &Portal<Stmt>) -> PgWireResult<Option<Portal<Stmt>>> {
    let Some((_, plan)) = &portal.statement.statement.1 else {
        return Ok(None);
    };
    let Ok(inferred) = plan.get_parameter_types() else {
        return Ok(None);
    };
    let hints = &portal.statement.parameter_types;
    let mut rewrites = Vec::new();
    for (i, hint) in hints.iter().enumerate() {
        let Some(hint) = hint else { continue };
        let wants_decimal = matches!(
            inferred.get(&format!("${}", i + 1)),
            Some(Some(DataType::Decimal128(..) | DataType::Decimal256(..)))
        );
        let numeric_hint = [
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
        ]
        .contains(hint);
        if wants_decimal && numeric_hint {
            rewrites.push(i);
        }
    }
    if rewrites.is_empty() {
        return Ok(None);
    }
    let n = portal.parameters.len();
    let mut formats: Vec<i16> = (0..n)
        .map(|i| i16::from(!portal.parameter_format.is_text(i)))
        .collect();
    let mut parameters = portal.parameters.clone();
    let mut types = hints.clone();
    for i in rewrites {
        let Some(Some(bytes)) = portal.parameters.get(i) else {
            types[i] = Some(Type::NUMERIC);
            continue;
        };
        let hint = hints[i].clone().unwrap_or(Type::UNKNOWN);
        let text = if portal.parameter_format.is_text(i) {
            let s = std::str::from_utf8(bytes).map_err(|_| bad(i, "is not UTF-8 text"))?;
            plain_decimal(s.trim()).ok_or_else(|| bad(i, &format!("{s:?} is not a number")))?
        } else {
            binary_to_text(&hint, bytes).ok_or_else(|| bad(i, "has the wrong length"))?
        };
        parameters[i] = Some(text.into_bytes().into());
        formats[i] = 0;
        types[i] = Some(Type::NUMERIC);
    }
    let statement = Arc::new(StoredStatement::new(
        portal.statement.id.clone(),
        portal.statement.statement.clone(),
        types,
    ));
    let mut p = Portal::new_cursor(portal.name.clone(), statement);
    p.parameter_format = Format::Individual(formats);
    p.parameters = parameters;
    p.result_column_format = portal.result_column_format.clone();
    p.state = portal.state.clone();
    Ok(Some(p))
}

fn bad(i: usize, what: &str) -> PgWireError {
    super::copy_format::user_error("22P02", format!("parameter ${} {what}", i + 1))
}

/// A number written without exponent (NUMERIC's text form); None for NaN, infinities and
/// non-numbers.
fn plain_decimal(s: &str) -> Option<String> {
    if s.chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')
    {
        return s.parse::<f64>().ok().map(|_| s.to_string());
    }
    let v: f64 = s.parse().ok()?;
    v.is_finite().then(|| format!("{v}"))
}

fn binary_to_text(t: &Type, b: &[u8]) -> Option<String> {
    let text = match *t {
        Type::INT2 => i16::from_be_bytes(b.try_into().ok()?).to_string(),
        Type::INT4 => i32::from_be_bytes(b.try_into().ok()?).to_string(),
        Type::INT8 => i64::from_be_bytes(b.try_into().ok()?).to_string(),
        Type::FLOAT4 => plain_decimal(&f32::from_be_bytes(b.try_into().ok()?).to_string())?,
        Type::FLOAT8 => plain_decimal(&f64::from_be_bytes(b.try_into().ok()?).to_string())?,
        _ => return None,
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_numeric_text() {
        assert_eq!(plain_decimal("100").as_deref(), Some("100"));
        assert_eq!(plain_decimal("1e2").as_deref(), Some("100"));
        assert_eq!(plain_decimal("NaN"), None);
        assert_eq!(plain_decimal("abc"), None);
        assert_eq!(
            binary_to_text(&Type::INT8, &100i64.to_be_bytes()).as_deref(),
            Some("100")
        );
        assert_eq!(
            binary_to_text(&Type::FLOAT8, &100.5f64.to_be_bytes()).as_deref(),
            Some("100.5")
        );
        assert_eq!(binary_to_text(&Type::INT4, &[0, 1]), None);
    }
}

//! Names in statements as PostgreSQL resolves them: unquoted parts fold to lower case, an
//! unqualified relation is public's, and `cip.schema.object` is this catalog's. DDL
//! (statement/ddl.rs and its neighbours) and what a view reads (view_reads.rs) share them.

use datafusion::sql::sqlparser::ast::{Ident, ObjectName, ObjectNamePart};

/// A name as PostgreSQL resolves it: unquoted parts fold to lower case.
pub fn fold(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// `schema.object` of a (one-, two- or three-part) name; None for another catalog's.
pub fn qualified(name: &ObjectName) -> Option<(String, String)> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(fold(i)),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [object] => Some(("public".into(), object.clone())),
        [schema, object] => Some((schema.clone(), object.clone())),
        [catalog, schema, object] if catalog == "cip" => Some((schema.clone(), object.clone())),
        _ => None,
    }
}

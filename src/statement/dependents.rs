//! What depends on what among the objects users make: a saved view reads the relations its
//! statement names. DROP of a view or table that saved views read is refused with 2BP01, as
//! PostgreSQL refuses it, unless CASCADE, which drops those views too; DROP SCHEMA … CASCADE
//! takes the schema's tables with it.

use crate::catalog::user_views::Saved;
use crate::catalog::view_reads::relations;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use std::collections::BTreeSet;

/// The saved views that read any of `targets` (`schema.object`), directly or through one
/// another, dependents of dependents last (the order to drop them in reverse).
pub(super) fn dependents(saved: &Saved, targets: &[String]) -> Vec<String> {
    // Each view's statement parsed once, whatever the depth of the chains.
    let views: Vec<(&String, BTreeSet<String>)> = saved
        .views
        .iter()
        .map(|v| (&v.name, relations(&v.sql)))
        .collect();
    let mut gone: BTreeSet<String> = targets.iter().cloned().collect();
    let mut out = Vec::new();
    loop {
        let more: Vec<String> = views
            .iter()
            .filter(|(name, _)| !gone.contains(*name))
            .filter(|(_, read)| read.iter().any(|r| gone.contains(r)))
            .map(|(name, _)| (*name).clone())
            .collect();
        if more.is_empty() {
            return out;
        }
        for name in more {
            gone.insert(name.clone());
            out.push(name);
        }
    }
}

/// 2BP01 for a DROP without CASCADE of something saved views read.
pub(super) fn still_needed(kind: &str, target: &str, views: &[String]) -> CipError {
    CipError::invalid(
        sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
        format!(
            "cannot drop {kind} {target} because other objects depend on it: {}; use DROP … \
             CASCADE to drop them too",
            views.join(", ")
        ),
    )
}

/// Drop order check: the saved views that must go first — none without `cascade`, which
/// then fails with 2BP01 when there are some.
pub(super) fn to_drop_first(
    saved: &Saved,
    kind: &str,
    targets: &[String],
    cascade: bool,
) -> Result<Vec<String>> {
    let views = dependents(saved, targets);
    if !views.is_empty() && !cascade {
        return Err(still_needed(kind, &targets.join(", "), &views));
    }
    Ok(views)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::user_views::SavedView;

    fn view(name: &str, sql: &str) -> SavedView {
        SavedView {
            name: name.into(),
            sql: sql.into(),
            owner: "cip".into(),
            descriptions: Vec::new(),
        }
    }

    #[test]
    fn dependents_are_found_through_other_views() {
        let saved = Saved {
            schemas: vec!["a".into()],
            views: vec![
                view("a.v1", "CREATE OR REPLACE VIEW a.v1 AS SELECT * FROM a.t"),
                view(
                    "a.v2",
                    "CREATE OR REPLACE VIEW a.v2 AS SELECT * FROM a.v1 JOIN members m ON true",
                ),
                view(
                    "public.v3",
                    "CREATE OR REPLACE VIEW v3 AS SELECT * FROM visits",
                ),
            ],
        };
        assert_eq!(dependents(&saved, &["a.t".into()]), vec!["a.v1", "a.v2"]);
        assert_eq!(dependents(&saved, &["public.members".into()]), vec!["a.v2"]);
        assert!(dependents(&saved, &["a.v2".into()]).is_empty());
        let refused = to_drop_first(&saved, "table", &["a.t".into()], false);
        assert_eq!(
            refused.err().map(|e| e.sqlstate()),
            Some(sqlstate::DEPENDENT_OBJECTS_STILL_EXIST)
        );
    }
}

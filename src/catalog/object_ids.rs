//! The OIDs of the databases, schemas, tables and views the catalog lists, the same on every
//! connection. datafusion-pg-catalog numbers them per session, from 16384 in the order that
//! session first meets them (hash order, and whichever catalog relation it read first), so
//! `members` was 16468 on one connection and 16393 on the next; a pool whose connections
//! share a cache keyed by table OID (pgjdbc's field metadata, a BI tool's) mixed tables up.
//!
//! Here an object keeps the first OID it is given for the life of the process. Objects first
//! met together are numbered in name order, so a server that starts on the same tables gives
//! them the same OIDs again; one created later takes the next number. Numbers are not reused
//! within a process (PostgreSQL does not reuse them either), and they are dense from 16384 up,
//! which the key and default OID ranges (keys.rs, defaults.rs) count on.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// PostgreSQL's own schema OIDs, which its catalog rows (pg_type, pg_proc) and clients use.
pub const PG_CATALOG_OID: i32 = 11;
pub const PUBLIC_OID: i32 = 2200;
pub const INFORMATION_SCHEMA_OID: i32 = 13283;

/// An object with an OID, by name. Ordered databases, schemas, relations: the order objects
/// met together are numbered in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Object {
    Database(String),
    Schema(String),
    /// (schema, name).
    Relation(String, String),
}

#[derive(Debug)]
pub struct ObjectIds {
    assigned: Mutex<Assigned>,
}

#[derive(Debug)]
struct Assigned {
    by_object: HashMap<Object, i32>,
    next: i32,
}

impl Default for ObjectIds {
    fn default() -> Self {
        ObjectIds {
            assigned: Mutex::new(Assigned {
                by_object: HashMap::new(),
                next: super::keys::FIRST_OBJECT_OID,
            }),
        }
    }
}

fn fixed(object: &Object) -> Option<i32> {
    match object {
        Object::Schema(s) => match s.as_str() {
            "pg_catalog" => Some(PG_CATALOG_OID),
            "public" => Some(PUBLIC_OID),
            "information_schema" => Some(INFORMATION_SCHEMA_OID),
            _ => None,
        },
        _ => None,
    }
}

impl ObjectIds {
    /// The OIDs of `objects`: those met before keep theirs, the rest are numbered in order.
    pub fn of(&self, objects: impl IntoIterator<Item = Object>) -> HashMap<Object, i32> {
        let wanted: BTreeSet<Object> = objects.into_iter().collect();
        // A poisoned lock only means another thread panicked while numbering; the map is
        // still whole (every insert is one step).
        let mut a = self.assigned.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = HashMap::with_capacity(wanted.len());
        for object in wanted {
            let oid = match fixed(&object).or_else(|| a.by_object.get(&object).copied()) {
                Some(oid) => oid,
                None => {
                    let oid = a.next;
                    a.next = a.next.saturating_add(1);
                    a.by_object.insert(object.clone(), oid);
                    oid
                }
            };
            out.insert(object, oid);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(name: &str) -> Object {
        Object::Relation("public".into(), name.into())
    }

    #[test]
    fn objects_met_together_are_numbered_in_name_order_and_keep_their_oids() {
        let ids = ObjectIds::default();
        let first = ids.of([
            rel("visits"),
            rel("members"),
            Object::Schema("cip_x".into()),
        ]);
        assert_eq!(first[&Object::Schema("cip_x".into())], 16384);
        assert_eq!(first[&rel("members")], 16385);
        assert_eq!(first[&rel("visits")], 16386);
        let again = ids.of([rel("members"), rel("added")]);
        assert_eq!(again[&rel("members")], 16385);
        assert_eq!(again[&rel("added")], 16387);
        // The same set met in another order gets the same numbers.
        let other = ObjectIds::default();
        let second = other.of([
            Object::Schema("cip_x".into()),
            rel("members"),
            rel("visits"),
        ]);
        assert_eq!(second[&rel("visits")], 16386);
    }

    #[test]
    fn postgresql_schemas_keep_postgresql_oids() {
        let ids = ObjectIds::default();
        let got = ids.of([
            Object::Schema("public".into()),
            Object::Schema("pg_catalog".into()),
            Object::Schema("information_schema".into()),
        ]);
        assert_eq!(got[&Object::Schema("public".into())], 2200);
        assert_eq!(got[&Object::Schema("pg_catalog".into())], 11);
        assert_eq!(got[&Object::Schema("information_schema".into())], 13283);
        assert_eq!(ids.of([rel("t")])[&rel("t")], 16384);
    }
}

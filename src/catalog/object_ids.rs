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
//! which the key and default OID ranges (keys.rs, defaults.rs) count on. pg_catalog's own
//! relations take PostgreSQL's OIDs instead (pg_class 1259, pg_proc 1255, …), which the
//! catalog's fixed rows (pg_description's classoid, pg_depend's) and clients already use.

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

/// PostgreSQL 15's OIDs of the pg_catalog relations cip lists (its own catalog rows, such as
/// pg_description's `classoid` and pg_depend's, and psql's `tableoid` joins, name relations
/// by these; `SELECT oid FROM pg_class WHERE relnamespace = 11` on PostgreSQL 15).
const PG_CATALOG_RELATIONS: &[(&str, i32)] = &[
    ("pg_aggregate", 2600),
    ("pg_am", 2601),
    ("pg_amop", 2602),
    ("pg_amproc", 2603),
    ("pg_attrdef", 2604),
    ("pg_attribute", 1249),
    ("pg_auth_members", 1261),
    ("pg_authid", 1260),
    ("pg_cast", 2605),
    ("pg_class", 1259),
    ("pg_collation", 3456),
    ("pg_constraint", 2606),
    ("pg_conversion", 2607),
    ("pg_database", 1262),
    ("pg_db_role_setting", 2964),
    ("pg_default_acl", 826),
    ("pg_depend", 2608),
    ("pg_description", 2609),
    ("pg_enum", 3501),
    ("pg_event_trigger", 3466),
    ("pg_extension", 3079),
    ("pg_foreign_data_wrapper", 2328),
    ("pg_foreign_server", 1417),
    ("pg_foreign_table", 3118),
    ("pg_index", 2610),
    ("pg_indexes", 12043),
    ("pg_inherits", 2611),
    ("pg_init_privs", 3394),
    ("pg_language", 2612),
    ("pg_largeobject", 2613),
    ("pg_largeobject_metadata", 2995),
    ("pg_matviews", 12038),
    ("pg_namespace", 2615),
    ("pg_opclass", 2616),
    ("pg_operator", 2617),
    ("pg_opfamily", 2753),
    ("pg_partitioned_table", 3350),
    ("pg_policy", 3256),
    ("pg_proc", 1255),
    ("pg_publication", 6104),
    ("pg_publication_namespace", 6237),
    ("pg_publication_rel", 6106),
    ("pg_range", 3541),
    ("pg_replication_origin", 6000),
    ("pg_replication_slots", 12257),
    ("pg_rewrite", 2618),
    ("pg_roles", 12000),
    ("pg_seclabel", 3596),
    ("pg_sequence", 2224),
    ("pg_settings", 12104),
    ("pg_shdepend", 1214),
    ("pg_shdescription", 2396),
    ("pg_shseclabel", 3592),
    ("pg_stat_activity", 12222),
    ("pg_stat_gssapi", 12253),
    ("pg_stat_user_tables", 12161),
    ("pg_statistic", 2619),
    ("pg_statistic_ext", 3381),
    ("pg_statistic_ext_data", 3429),
    ("pg_subscription", 6100),
    ("pg_subscription_rel", 6102),
    ("pg_tables", 12033),
    ("pg_tablespace", 1213),
    ("pg_trigger", 2620),
    ("pg_ts_config", 3602),
    ("pg_ts_dict", 3600),
    ("pg_ts_parser", 3601),
    ("pg_ts_template", 3764),
    ("pg_type", 1247),
    ("pg_user", 12014),
    ("pg_user_mapping", 1418),
    ("pg_views", 12028),
];

/// PostgreSQL's OID of the pg_catalog relation `name`, if cip lists it.
pub fn catalog_relation_oid(name: &str) -> Option<i32> {
    PG_CATALOG_RELATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, oid)| *oid)
}

fn fixed(object: &Object) -> Option<i32> {
    match object {
        Object::Relation(schema, name) if schema == "pg_catalog" => catalog_relation_oid(name),
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

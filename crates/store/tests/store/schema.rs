//! The two hand-kept migration copies (`migrations/sqlite`, `migrations/postgres`)
//! must build one schema: the same tables, the same columns (name, nullability,
//! normalized type), the same primary keys, unique constraints and indexes.
//! Any difference fails with one line per difference.

use sonarly_testkit::{TestBackend, TestDb};
use sqlx::{AnyPool, Row};
use std::collections::{BTreeMap, BTreeSet};

/// One table as both backends can describe it.
#[derive(Debug, Default)]
struct Table {
    /// Column name → `type [not null]`, the type normalized across backends.
    columns: BTreeMap<String, String>,
    /// Index or constraint → its description. Named (`CREATE INDEX`) indexes are
    /// keyed by name; the primary key and unique constraints, whose index names
    /// each backend invents, are keyed by their columns.
    indexes: BTreeMap<String, String>,
}

type Schema = BTreeMap<String, Table>;

/// INTEGER/BIGINT/INT8 → integer, TEXT/VARCHAR → text, REAL/DOUBLE → real, BLOB/BYTEA → blob.
fn normalize_type(declared: &str) -> String {
    let t = declared.trim().to_ascii_lowercase();
    if t.contains("int") || t == "bigserial" || t == "serial" {
        "integer".into()
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        "text".into()
    } else if t.contains("real") || t.contains("double") || t.contains("float") {
        "real".into()
    } else if t.contains("blob") || t == "bytea" {
        "blob".into()
    } else if t.starts_with("bool") {
        "boolean".into()
    } else {
        t
    }
}

fn column(declared: &str, not_null: bool) -> String {
    format!("{}{}", normalize_type(declared), if not_null { " not null" } else { "" })
}

fn index(unique: bool, columns: &str, partial: bool) -> String {
    format!("{}({columns}){}", if unique { "unique " } else { "" }, if partial { " partial" } else { "" })
}

async fn pool(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::pool::PoolOptions::new().max_connections(1).connect(url).await.expect("connect for schema introspection")
}

async fn sqlite_schema(url: &str) -> Schema {
    let pool = pool(url).await;
    let mut schema = Schema::new();
    let tables = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for row in tables {
        let name: String = row.get(0);
        let mut table = Table::default();
        let cols = sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid")
            .bind(&name)
            .fetch_all(&pool)
            .await
            .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in cols {
            let col: String = c.get(0);
            let declared: String = c.get(1);
            let not_null: i64 = c.get(2);
            let pk_pos: i64 = c.get(3);
            // A primary-key column is NOT NULL on PostgreSQL; SQLite only says so when declared.
            table.columns.insert(col.clone(), column(&declared, not_null != 0 || pk_pos > 0));
            if pk_pos > 0 {
                pk.push((pk_pos, col));
            }
        }
        if !pk.is_empty() {
            pk.sort();
            let cols: Vec<_> = pk.into_iter().map(|(_, c)| c).collect();
            table.indexes.insert("primary key".into(), index(true, &cols.join(", "), false));
        }
        let list = sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)")
            .bind(&name)
            .fetch_all(&pool)
            .await
            .unwrap();
        for i in list {
            let idx: String = i.get(0);
            let unique: i64 = i.get(1);
            let origin: String = i.get(2);
            let partial: i64 = i.get(3);
            if origin == "pk" {
                continue; // described by the primary key above
            }
            let cols = sqlx::query("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                .bind(&idx)
                .fetch_all(&pool)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.get::<Option<String>, _>(0).unwrap_or_else(|| "<expression>".into()))
                .collect::<Vec<_>>()
                .join(", ");
            let key = if origin == "u" { format!("unique constraint ({cols})") } else { format!("index {idx}") };
            table.indexes.insert(key, index(unique != 0, &cols, partial != 0));
        }
        schema.insert(name, table);
    }
    pool.close().await;
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let pool = pool(url).await;
    let mut schema = Schema::new();
    let cols = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable::text \
         FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         AND c.table_name <> '_sqlx_migrations' ORDER BY c.table_name, c.ordinal_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for c in cols {
        let (table, col, declared, nullable): (String, String, String, String) =
            (c.get(0), c.get(1), c.get(2), c.get(3));
        schema.entry(table).or_default().columns.insert(col, column(&declared, nullable == "NO"));
    }
    // Key columns in index order; expressions show as `<expression>`.
    let indexes = sqlx::query(
        "SELECT t.relname::text, i.relname::text, \
                CASE WHEN ix.indisunique THEN 1 ELSE 0 END::int8, \
                CASE WHEN ix.indisprimary THEN 1 ELSE 0 END::int8, \
                CASE WHEN ix.indpred IS NOT NULL THEN 1 ELSE 0 END::int8, \
                CASE WHEN EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = ix.indexrelid) \
                     THEN 1 ELSE 0 END::int8, \
                (SELECT string_agg(COALESCE(a.attname::text, '<expression>'), ', ' ORDER BY k.ord) \
                   FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                   LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum \
                  WHERE k.ord <= ix.indnkeyatts) \
         FROM pg_index ix \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = current_schema() AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for r in indexes {
        let table: String = r.get(0);
        let idx: String = r.get(1);
        let (unique, primary, partial, constraint): (i64, i64, i64, i64) = (r.get(2), r.get(3), r.get(4), r.get(5));
        let cols: String = r.get(6);
        let key = if primary != 0 {
            "primary key".to_owned()
        } else if constraint != 0 {
            format!("unique constraint ({cols})")
        } else {
            format!("index {idx}")
        };
        schema.entry(table).or_default().indexes.insert(key, index(unique != 0, &cols, partial != 0));
    }
    pool.close().await;
    schema
}

/// One line per difference; empty when the schemas agree.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let side = |a: &Option<&String>| a.map_or("(missing)".to_owned(), |s| s.clone());
    let tables: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for name in tables {
        let (Some(s), Some(p)) = (sqlite.get(name), postgres.get(name)) else {
            let only = if sqlite.contains_key(name) { "SQLite" } else { "PostgreSQL" };
            out.push(format!("table {name}: only on {only}"));
            continue;
        };
        for (what, sm, pm) in [("column", &s.columns, &p.columns), ("", &s.indexes, &p.indexes)] {
            let keys: BTreeSet<&String> = sm.keys().chain(pm.keys()).collect();
            for key in keys {
                let (a, b) = (sm.get(key), pm.get(key));
                if a != b {
                    let label = if what.is_empty() { key.clone() } else { format!("{what} {key}") };
                    out.push(format!("{name}.{label}: SQLite {} | PostgreSQL {}", side(&a), side(&b)));
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_migrate_to_the_same_schema() {
    let sqlite = TestDb::new(TestBackend::Sqlite).await.unwrap();
    let sqlite_schema = sqlite_schema(&sqlite.url).await;
    assert!(sqlite_schema.len() > 10, "the SQLite schema was read: {:?}", sqlite_schema.keys());
    if !sonarly_testkit::postgres_available() {
        return;
    }
    let Some(postgres) = TestDb::new(TestBackend::Postgres).await else { return };
    let postgres_schema = postgres_schema(&postgres.url).await;
    let diff = differences(&sqlite_schema, &postgres_schema);
    assert!(
        diff.is_empty(),
        "the SQLite and PostgreSQL migrations build different schemas ({} differences):\n  {}",
        diff.len(),
        diff.join("\n  ")
    );
}

#[test]
fn a_difference_is_named_table_by_table() {
    let mut a = Schema::new();
    let mut b = Schema::new();
    let mut t = Table::default();
    t.columns.insert("id".into(), column("TEXT", true));
    t.indexes.insert("index t_by_id".into(), index(false, "id", false));
    a.insert("t".into(), t);
    let mut t = Table::default();
    t.columns.insert("id".into(), column("VARCHAR", false));
    b.insert("t".into(), t);
    b.insert("u".into(), Table::default());
    assert_eq!(
        differences(&a, &b),
        vec![
            "t.column id: SQLite text not null | PostgreSQL text",
            "t.index t_by_id: SQLite (id) | PostgreSQL (missing)",
            "table u: only on PostgreSQL",
        ]
    );
    assert_eq!(normalize_type("BIGINT"), normalize_type("INTEGER"));
    assert_eq!(normalize_type("bytea"), normalize_type("BLOB"));
    assert_eq!(normalize_type("double precision"), normalize_type("REAL"));
}

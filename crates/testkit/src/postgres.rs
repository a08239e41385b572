//! A throwaway PostgreSQL cluster for tests.
//!
//! The first test that asks starts one cluster for the whole test process with
//! `initdb`/`pg_ctl` (run as the `postgres` user when we are root, since initdb
//! refuses root) on a free port in a temp dir. Each test gets its own database.
//! A small watchdog shell stops the cluster and removes its directory when the
//! test process exits, however it exits.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

const BIN_DIRS: &[&str] = &["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"];

struct Cluster {
    port: u16,
    bin: PathBuf,
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

fn required() -> bool {
    std::env::var("SONARLY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true")
}

fn find_bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("SONARLY_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    BIN_DIRS.iter().map(PathBuf::from).find(|d| d.join("initdb").exists()).or_else(|| {
        let out = Command::new("sh").arg("-c").arg("command -v pg_ctl").output().ok()?;
        let path = String::from_utf8(out.stdout).ok()?;
        Path::new(path.trim()).parent().map(Path::to_path_buf).filter(|p| p.join("initdb").exists())
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

fn pg_command(cluster_bin: &Path, as_postgres_user: bool, tool: &str) -> Command {
    let exe = cluster_bin.join(tool);
    if as_postgres_user {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(exe);
        cmd
    } else {
        Command::new(exe)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

fn start_cluster() -> Result<Cluster, String> {
    let bin = find_bin_dir().ok_or("no PostgreSQL binaries (initdb, pg_ctl) found")?;
    let as_postgres_user = is_root();
    let root = tempfile::Builder::new().prefix("sonarly-pg-").tempdir().map_err(|e| e.to_string())?.keep();
    let data = root.join("data");
    if as_postgres_user {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&root).status();
        if !status.is_ok_and(|s| s.success()) {
            return Err("could not chown the cluster directory to postgres".into());
        }
    }
    let out = pg_command(&bin, as_postgres_user, "initdb")
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "-D"])
        .arg(&data)
        .output()
        .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let port = free_port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300",
        root.display()
    );
    let out = pg_command(&bin, as_postgres_user, "pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(root.join("log"))
        .args(["-w", "start"])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("pg_ctl: {e}"))?;
    if !out.status.success() {
        let log = std::fs::read_to_string(root.join("log")).unwrap_or_default();
        return Err(format!("pg_ctl start failed: {}\n{log}", String::from_utf8_lossy(&out.stderr)));
    }
    spawn_watchdog(&bin, as_postgres_user, &root, &data);
    Ok(Cluster { port, bin })
}

/// Stops the cluster when this process ends, even on a panic or a kill.
fn spawn_watchdog(bin: &Path, as_postgres_user: bool, root: &Path, data: &Path) {
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_postgres_user {
        format!("runuser -u postgres -- {} -D {} -m immediate stop", pg_ctl.display(), data.display())
    } else {
        format!("{} -D {} -m immediate stop", pg_ctl.display(), data.display())
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf {root}",
        pid = std::process::id(),
        root = root.display()
    );
    let _ = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn cluster() -> Option<&'static Cluster> {
    CLUSTER
        .get_or_init(|| match start_cluster() {
            Ok(cluster) => Some(cluster),
            Err(why) => {
                if required() {
                    panic!("SONARLY_REQUIRE_POSTGRES is set but PostgreSQL could not start: {why}");
                }
                eprintln!(
                    "\n!!!!!!!!\n!!! SKIPPING the PostgreSQL half of the tests: {why}\n\
                     !!! (set SONARLY_REQUIRE_POSTGRES=1 to make this a failure)\n!!!!!!!!\n"
                );
                None
            }
        })
        .as_ref()
}

/// True when PostgreSQL tests can run here (starts the cluster on first call).
pub fn postgres_available() -> bool {
    cluster().is_some()
}

/// A database created for one test and dropped after it.
pub(crate) struct DatabaseGuard {
    pub url: String,
    name: String,
}

pub(crate) fn fresh_database() -> Option<DatabaseGuard> {
    let cluster = cluster()?;
    let name = format!("t_{}_{}", std::process::id(), NEXT_DB.fetch_add(1, Ordering::SeqCst));
    psql(cluster, &format!("CREATE DATABASE {name}"));
    Some(DatabaseGuard { url: format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port), name })
}

fn psql(cluster: &Cluster, sql: &str) {
    // psql connects over TCP with trust auth, so it needs no user switch.
    let psql = which_psql(&cluster.bin);
    let out = Command::new(psql)
        .args(["-h", "127.0.0.1", "-p", &cluster.port.to_string(), "-U", "postgres", "-d", "postgres", "-q", "-c", sql])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "psql `{sql}` failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn which_psql(bin: &Path) -> PathBuf {
    let beside = bin.join("psql");
    if beside.exists() { beside } else { PathBuf::from("psql") }
}

impl Drop for DatabaseGuard {
    fn drop(&mut self) {
        if let Some(cluster) = cluster() {
            let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            let _ = std::panic::catch_unwind(|| psql(cluster, &sql));
        }
    }
}

// TEMPORARY experiment, not to be committed.
use rusqlite::{params_from_iter, types::Value, Connection};
use std::time::Instant;

struct V {
    name: &'static str,
    schema: String,
    blob_ids: bool,
    generated: bool,
    rows_per_stmt: usize,
    conflict: bool,
    pragmas: &'static [(&'static str, &'static str)],
    memory: bool,
}

fn run(v: &V) {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = if v.memory {
        Connection::open_in_memory().unwrap()
    } else {
        Connection::open(dir.path().join("x.db")).unwrap()
    };
    for (k, val) in v.pragmas {
        conn.pragma_update(None, k, val).unwrap();
    }
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "cache_size", "-16384").unwrap();
    conn.execute_batch(&v.schema).unwrap();
    let cols: &[&str] = if v.generated {
        &[
            "project_id",
            "id",
            "trace_id",
            "parent_id",
            "op_name",
            "op_base_name",
            "display_name",
            "thread_id",
            "turn_id",
            "started_at_us",
            "ended_at_us",
            "attributes",
            "inputs",
            "output",
            "exception",
            "summary",
            "wb_run_id",
        ]
    } else {
        &[
            "project_id",
            "id",
            "trace_id",
            "parent_id",
            "op_name",
            "op_base_name",
            "display_name",
            "thread_id",
            "turn_id",
            "started_at",
            "started_at_us",
            "ended_at",
            "ended_at_us",
            "attributes",
            "inputs",
            "output",
            "exception",
            "summary",
            "wb_run_id",
        ]
    };
    let one = format!("({})", vec!["?"; cols.len()].join(","));
    let values = vec![one; v.rows_per_stmt].join(",");
    let mut sql = format!("INSERT INTO calls ({}) VALUES {}", cols.join(","), values);
    if v.conflict {
        sql.push_str(" ON CONFLICT (id) DO UPDATE SET ended_at_us = excluded.ended_at_us");
    }
    let total = 300_000u64;
    let batch = 10_000u64;
    let attrs = r#"{"weave":{"client_version":"0.1.0","source":"rust-sdk","os_name":"Linux"}}"#;
    let base: u128 = 0x0193_0000_0000_7000_8000_0000_0000_0000;
    let t = Instant::now();
    let c0 = cpu_ns();
    for b in 0..total / batch {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        {
            let mut stmt = tx.prepare_cached(&sql).unwrap();
            let mut args: Vec<Value> = Vec::new();
            for i in 0..batch {
                let n = b * batch + i;
                let id = base + ((n as u128) << 80) + (n as u128 * 7919 % 100000);
                let tr = id + 1;
                let us = 1_795_790_038_000_000i64 + n as i64;
                let idv = |x: u128| {
                    if v.blob_ids {
                        Value::Blob(x.to_be_bytes().to_vec())
                    } else {
                        Value::Text(format!("{:032x}", x))
                    }
                };
                args.push(Value::Text("e/p".into()));
                args.push(idv(id));
                args.push(idv(tr));
                args.push(Value::Null);
                args.push(Value::Text("weave:///e/p/op/small:oP4su51JY64DSwYFKhlYkol9ggd5BmSm76qQXqz02Uw".into()));
                args.push(Value::Text("small".into()));
                args.push(Value::Null);
                args.push(Value::Null);
                args.push(Value::Null);
                if !v.generated {
                    args.push(Value::Text("2026-11-27T14:33:58.493548Z".into()));
                }
                args.push(Value::Integer(us));
                if !v.generated {
                    args.push(Value::Text("2026-11-27T14:33:58.493551Z".into()));
                }
                args.push(Value::Integer(us + 3));
                args.push(Value::Text(attrs.into()));
                args.push(Value::Text(format!(r#"{{"a":{n},"b":"hello"}}"#)));
                args.push(Value::Text(format!("{}", n + 5)));
                args.push(Value::Null);
                args.push(Value::Text(r#"{"status_counts":{"success":1,"error":0}}"#.into()));
                args.push(Value::Null);
                if (i + 1) as usize % v.rows_per_stmt == 0 {
                    stmt.execute(params_from_iter(args.drain(..))).unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let cpu = (cpu_ns() - c0) as f64 / 1e9;
    println!(
        "{}: {:.0} rows/s wall, {:.0} rows/s cpu ({:.2} us/row)",
        v.name,
        total as f64 / secs,
        total as f64 / cpu,
        cpu * 1e6 / total as f64
    );
}

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat").unwrap().split_whitespace().next().unwrap().parse().unwrap()
}

const TABLE: &str = "CREATE TABLE calls (project_id TEXT NOT NULL, id TEXT NOT NULL PRIMARY KEY, trace_id TEXT NOT NULL, parent_id TEXT, op_name TEXT NOT NULL, op_base_name TEXT NOT NULL, display_name TEXT, thread_id TEXT, turn_id TEXT, started_at TEXT NOT NULL, started_at_us INTEGER NOT NULL, ended_at TEXT, ended_at_us INTEGER, attributes TEXT NOT NULL, inputs TEXT NOT NULL, output TEXT, exception TEXT, summary TEXT NOT NULL, wb_run_id TEXT);";
const GEN_TABLE: &str = "CREATE TABLE calls (project_id TEXT NOT NULL, id TEXT NOT NULL PRIMARY KEY, trace_id TEXT NOT NULL, parent_id TEXT, op_name TEXT NOT NULL, op_base_name TEXT NOT NULL, display_name TEXT, thread_id TEXT, turn_id TEXT, started_at TEXT GENERATED ALWAYS AS (strftime('%Y-%m-%dT%H:%M:%S', started_at_us / 1000000, 'unixepoch') || printf('.%06dZ', started_at_us % 1000000)) VIRTUAL, started_at_us INTEGER NOT NULL, ended_at TEXT GENERATED ALWAYS AS (strftime('%Y-%m-%dT%H:%M:%S', ended_at_us / 1000000, 'unixepoch') || printf('.%06dZ', ended_at_us % 1000000)) VIRTUAL, ended_at_us INTEGER, attributes TEXT NOT NULL, inputs TEXT NOT NULL, output TEXT, exception TEXT, summary TEXT NOT NULL, wb_run_id TEXT);";
const INDEXES: &str = "CREATE INDEX a ON calls (trace_id); CREATE INDEX b ON calls (parent_id); CREATE INDEX c ON calls (op_base_name); CREATE INDEX d ON calls (started_at_us);";

#[test]
#[ignore]
fn scratch() {
    let full = format!("{TABLE}{INDEXES}");
    let fast: &'static [(&'static str, &'static str)] = &[("page_size", "8192"), ("wal_autocheckpoint", "5000")];
    let clustered = TABLE.replace("id TEXT NOT NULL PRIMARY KEY", "id TEXT NOT NULL").replace("wb_run_id TEXT);", "wb_run_id TEXT, PRIMARY KEY (trace_id, id)) WITHOUT ROWID;") + "CREATE INDEX i ON calls (id); CREATE INDEX c ON calls (op_base_name); CREATE INDEX d ON calls (started_at_us);";
    let vs = [
        V {
            name: "full 8k",
            schema: full.clone(),
            blob_ids: false,
            generated: false,
            rows_per_stmt: 1,
            conflict: true,
            pragmas: fast,
            memory: false,
        },
        V {
            name: "full 8k no parent idx",
            schema: full.replace("CREATE INDEX b ON calls (parent_id);", ""),
            blob_ids: false,
            generated: false,
            rows_per_stmt: 1,
            conflict: true,
            pragmas: fast,
            memory: false,
        },
        V {
            name: "clustered 8k",
            schema: clustered.clone(),
            blob_ids: false,
            generated: false,
            rows_per_stmt: 1,
            conflict: false,
            pragmas: fast,
            memory: false,
        },
        V {
            name: "full 8k again",
            schema: full.clone(),
            blob_ids: false,
            generated: false,
            rows_per_stmt: 1,
            conflict: true,
            pragmas: fast,
            memory: false,
        },
        V {
            name: "clustered 8k again",
            schema: clustered.clone(),
            blob_ids: false,
            generated: false,
            rows_per_stmt: 1,
            conflict: false,
            pragmas: fast,
            memory: false,
        },
        V {
            name: "bare 8k",
            schema: TABLE.replace("NOT NULL PRIMARY KEY", "NOT NULL"),
            blob_ids: false,
            generated: false,
            rows_per_stmt: 1,
            conflict: false,
            pragmas: fast,
            memory: false,
        },
    ];
    for v in &vs {
        run(v);
    }
}

//! Ops: each op's versions (from the `objects` table), with their source, and call
//! statistics (count, error rate, p50/p95 latency) over its most recent calls.

use super::calls::{brief_json, CallFilter, Columns};
use super::objects::{self, StoredObject};
use super::stats::CallStats;
use super::{Error, Store};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Statistics are computed over at most this many of an op's most recent calls.
pub const STATS_SAMPLE: usize = 5_000;

/// The most ops listed.
const MAX_OPS: usize = 500;

/// One op version, for the API.
fn version_json(object: &StoredObject, source: Option<String>) -> Value {
    json!({
        "project_id": object.project_id,
        "digest": object.digest,
        "ref": weave_core::refs::op_ref_uri(&object.project_id, &object.name, &object.digest),
        "created_at": object.created_at,
        "source": source,
    })
}

/// The exact number of calls of an op (counted on its index).
fn count_calls(conn: &Connection, op: &str) -> rusqlite::Result<u64> {
    let calls = super::calls_indexed_by(conn, "calls_op_base_name")?;
    conn.prepare_cached(&format!("SELECT COUNT(*) FROM {calls} WHERE op_base_name = ?1"))?
        .query_row([op], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

/// Statistics of an op's most recent calls (by insertion), overall and per version (op
/// ref).
fn sample_stats(conn: &Connection, op: &str) -> rusqlite::Result<(CallStats, BTreeMap<String, CallStats>)> {
    let calls = super::calls_indexed_by(conn, "calls_op_base_name")?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT op_name, started_at_us, ended_at_us, exception IS NOT NULL FROM {calls} \
         WHERE op_base_name = ?1 ORDER BY rowid DESC LIMIT ?2"
    ))?;
    let mut rows = stmt.query(rusqlite::params![op, STATS_SAMPLE as i64])?;
    let mut all = CallStats::default();
    let mut per_version: BTreeMap<String, CallStats> = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let op_ref: String = row.get(0)?;
        let (started, ended, failed): (i64, Option<i64>, bool) = (row.get(1)?, row.get(2)?, row.get(3)?);
        all.add(started, ended, failed);
        per_version.entry(op_ref).or_default().add(started, ended, failed);
    }
    Ok((all, per_version))
}

impl Store {
    /// Every op: name, number of versions, the latest version, its calls and statistics.
    pub fn ops(&self) -> Result<Vec<Value>, Error> {
        self.read("could not list ops", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT object_id, COUNT(*), MAX(created_at) FROM objects WHERE kind = 'op' \
                 GROUP BY object_id ORDER BY object_id LIMIT ?1",
            )?;
            let names = stmt
                .query_map([MAX_OPS as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<String>>(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut ops = Vec::with_capacity(names.len());
            for (name, versions, updated) in names {
                let (stats, _) = sample_stats(conn, &name)?;
                let mut stats_json = stats.to_json();
                stats_json["calls"] = count_calls(conn, &name)?.into();
                stats_json["sampled"] = stats.calls.into();
                ops.push(json!({"name": name, "versions": versions, "updated_at": updated, "stats": stats_json}));
            }
            Ok(ops)
        })
    }

    /// One op: its versions (oldest first) with source and per-version statistics, and
    /// its most recent calls. `None` for an op never saved nor called.
    pub fn op_detail(&self, name: &str) -> Result<Option<Value>, Error> {
        let detail = self.read("could not read an op", |conn| {
            let versions: Vec<StoredObject> =
                objects::versions(conn, name)?.into_iter().filter(|o| o.kind == "op").collect();
            let total = count_calls(conn, name)?;
            if versions.is_empty() && total == 0 {
                return Ok(None);
            }
            let (stats, per_version) = sample_stats(conn, name)?;
            let mut out_versions = Vec::with_capacity(versions.len());
            for (index, version) in versions.iter().enumerate() {
                let source = objects::op_source(conn, &version.project_id, &version.name, &version.digest)?;
                let mut v = version_json(version, source);
                let op_ref = weave_core::refs::op_ref_uri(&version.project_id, &version.name, &version.digest);
                v["index"] = index.into();
                v["stats"] = per_version.get(&op_ref).cloned().unwrap_or_default().to_json();
                out_versions.push(v);
            }
            let mut stats_json = stats.to_json();
            stats_json["calls"] = total.into();
            stats_json["sampled"] = stats.calls.into();
            Ok(Some(json!({"name": name, "versions": out_versions, "stats": stats_json})))
        })?;
        let Some(mut detail) = detail else { return Ok(None) };
        let filter = CallFilter { op: Some(name.to_string()), limit: 50, ..CallFilter::default() };
        let calls = self.list_calls(&filter, Columns::Light)?;
        detail["calls"] = Value::Array(calls.calls.iter().map(brief_json).collect());
        Ok(Some(detail))
    }

    /// The source of the op `name` at version `digest` (any project).
    pub fn op_version_source(&self, name: &str, digest: &str) -> Result<Option<String>, Error> {
        self.read("could not read an op's source", |conn| {
            let versions = objects::versions(conn, name)?;
            for version in versions.iter().filter(|v| v.digest == digest) {
                if let Some(source) = objects::op_source(conn, &version.project_id, name, digest)? {
                    return Ok(Some(source));
                }
            }
            Ok(None)
        })
    }
}

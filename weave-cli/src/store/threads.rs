//! Conversation threads (`weave::thread`): every call inside one carries its
//! `thread_id`, and the top-level calls are its turns (`turn_id` = their own id).
//!
//! The store has no index on `thread_id`: listing threads reads the whole `calls` table
//! (an index on `(thread_id, started_at_us)` would make both queries cheap).

use super::calls::{brief_json, call_from_row};
use super::{Error, Store};
use serde_json::{json, Value};

/// The most threads listed.
const MAX_THREADS: i64 = 200;

/// The most turns shown of a thread.
const MAX_TURNS: i64 = 1000;

impl Store {
    /// The threads, most recently active first: id, turns, calls, first and last start.
    pub fn threads(&self) -> Result<Vec<Value>, Error> {
        self.read("could not list threads", |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT thread_id, SUM(turn_id = id), COUNT(*), MIN(started_at_us), MAX(started_at_us) \
                 FROM calls WHERE thread_id IS NOT NULL GROUP BY thread_id ORDER BY MAX(started_at_us) DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map([MAX_THREADS], |r| {
                Ok(json!({
                    "thread_id": r.get::<_, String>(0)?,
                    "turns": r.get::<_, i64>(1)?,
                    "calls": r.get::<_, i64>(2)?,
                    "first_started_us": r.get::<_, i64>(3)?,
                    "last_started_us": r.get::<_, i64>(4)?,
                }))
            })?;
            rows.collect()
        })
    }

    /// The turns of a thread in order, each with its inputs and output.
    pub fn thread_turns(&self, thread_id: &str) -> Result<Vec<Value>, Error> {
        self.read("could not read a thread", |conn| {
            let sql = "SELECT project_id, id, trace_id, parent_id, op_name, op_base_name, display_name, thread_id, \
                turn_id, started_at_us, ended_at_us, attributes, inputs, output, exception, summary, wb_run_id \
                FROM calls WHERE thread_id = ?1 AND (turn_id = id OR turn_id IS NULL) ORDER BY started_at_us, id LIMIT ?2";
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(rusqlite::params![thread_id, MAX_TURNS], call_from_row)?;
            let mut turns = Vec::new();
            for call in rows {
                let call = call?;
                let mut turn = brief_json(&call);
                turn["inputs"] = call.inputs.clone();
                turn["output"] = call.output.clone();
                turns.push(turn);
            }
            Ok(turns)
        })
    }
}

//! Evaluation fixtures shared by the evaluation tests (in-process and against the real
//! Weave client).
#![allow(dead_code)] // each test binary uses a part of the fixtures

use serde::Serialize;
use weave::eval::{BoxError, Columns, Scorer, ScorerInput};

/// Weave's `LenScorer`-like class scorer: the output's length divided by `divisor`.
#[derive(Serialize)]
pub struct LenScorer {
    pub divisor: usize,
}

impl Scorer for LenScorer {
    type Output = usize;

    fn columns(&self) -> Columns {
        Columns::only(Vec::<String>::new())
    }

    async fn score(&self, input: ScorerInput) -> Result<usize, BoxError> {
        Ok(input.output().as_str().unwrap_or_default().len() / self.divisor)
    }
}

/// What a capture saved (objects and tables), to read refs back as the Weave client does.
pub struct Stored {
    objects: std::collections::HashMap<String, serde_json::Value>,
    tables: std::collections::HashMap<String, Vec<(String, serde_json::Value)>>,
}

impl Stored {
    /// What `tests/eval_interop/stored_form.py` printed for a project of the server.
    pub fn from_server(doc: &serde_json::Value) -> Stored {
        let objects = doc["objects"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let tables = doc["tables"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(digest, rows)| {
                let rows = rows.as_array().unwrap();
                (
                    digest.clone(),
                    rows.iter().map(|r| (r["digest"].as_str().unwrap().to_string(), r["val"].clone())).collect(),
                )
            })
            .collect();
        Stored { objects, tables }
    }

    /// The stored value of an object or op version (`weave:///…/{object|op}/{name}:{digest}`).
    pub fn object(&self, uri: &str) -> Option<&serde_json::Value> {
        self.objects.get(uri)
    }

    /// The objects and tables `cap` saved so far.
    pub fn of(cap: &weave::testing::CaptureGuard) -> Stored {
        let objects = cap.objects().into_iter().map(|o| (o.object_ref().uri(), o.value)).collect();
        let tables = cap
            .tables()
            .into_iter()
            .map(|t| (t.digest.clone(), t.row_digests.iter().cloned().zip(t.rows).collect()))
            .collect();
        Stored { objects, tables }
    }

    /// `value` with every object, table, row and key ref replaced by what it names
    /// (op refs stay refs); a ref to nothing saved panics.
    pub fn resolve(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) if s.starts_with("weave:///") && !s.contains("/op/") => self.resolve_ref(s),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), self.resolve(v))).collect()),
            other => other.clone(),
        }
    }

    fn resolve_ref(&self, uri: &str) -> serde_json::Value {
        let parts: Vec<&str> = uri.trim_start_matches("weave:///").split('/').collect();
        let (kind, name) = (parts[2], parts[3]);
        let mut current = match kind {
            "object" => {
                let base = format!("weave:///{}/{}/object/{name}", parts[0], parts[1]);
                self.objects.get(&base).unwrap_or_else(|| panic!("no object saved for {uri}")).clone()
            }
            "table" => self.table(name),
            other => panic!("unexpected ref kind {other} in {uri}"),
        };
        current = self.resolve(&current);
        for edge in parts[4..].chunks(2) {
            let value = percent_decode(edge[1]);
            current = match edge[0] {
                "attr" | "key" => current[&value].clone(),
                "index" => current[value.parse::<usize>().unwrap()].clone(),
                "id" => self.row_by_digest(&value),
                other => panic!("unexpected edge {other} in {uri}"),
            };
        }
        current
    }

    fn table(&self, digest: &str) -> serde_json::Value {
        let rows = self.tables.get(digest).unwrap_or_else(|| panic!("no table saved with digest {digest}"));
        serde_json::Value::Array(rows.iter().map(|(_, row)| row.clone()).collect())
    }

    fn row_by_digest(&self, digest: &str) -> serde_json::Value {
        self.tables
            .values()
            .flatten()
            .find(|(d, _)| d == digest)
            .map(|(_, row)| row.clone())
            .unwrap_or_else(|| panic!("no row saved with digest {digest}"))
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

//! Weave refs (`weave:///{entity}/{project}/{object|op|table|call}/...`) parsed and
//! resolved against the store: an object or op ref gives its value, a table ref its rows,
//! and the extra path walks into it: `/attr/{name}` (an object's attribute),
//! `/key/{key}` (a map's key), `/index/{n}` (a list's item) and `/id/{row digest}` (a
//! table's row). Path parts are percent-decoded. A string inside a value that is itself a
//! ref is followed when the path goes through it.

use super::objects;
use rusqlite::Connection;
use serde_json::Value;

/// What a ref names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKind {
    /// An object version (`object/{name}:{digest}`).
    Object,
    /// An op version (`op/{name}:{digest}`).
    Op,
    /// A table (`table/{digest}`).
    Table,
    /// A call (`call/{id}`).
    Call,
}

/// One step of a ref's extra path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    /// `/attr/{name}`.
    Attr(String),
    /// `/key/{key}`.
    Key(String),
    /// `/index/{n}`.
    Index(usize),
    /// `/id/{row digest}`.
    Id(String),
}

/// A parsed ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    /// `entity/project`.
    pub project_id: String,
    /// What it names.
    pub kind: RefKind,
    /// The object's or op's name; the table's digest; the call's id.
    pub name: String,
    /// The version (empty for tables and calls).
    pub digest: String,
    /// The extra path.
    pub path: Vec<PathPart>,
}

/// Parses a `weave:///` ref; `None` for anything else.
pub fn parse(uri: &str) -> Option<Ref> {
    let rest = uri.strip_prefix("weave:///")?;
    let mut parts = rest.split('/');
    let entity = decode(parts.next()?);
    let project = decode(parts.next()?);
    let kind = match parts.next()? {
        "object" => RefKind::Object,
        "op" => RefKind::Op,
        "table" => RefKind::Table,
        "call" => RefKind::Call,
        _ => return None,
    };
    let head = parts.next()?;
    let (name, digest) = match kind {
        RefKind::Object | RefKind::Op => {
            let (name, digest) = head.rsplit_once(':')?;
            (decode(name), decode(digest))
        }
        RefKind::Table | RefKind::Call => (decode(head), String::new()),
    };
    if entity.is_empty() || project.is_empty() || name.is_empty() {
        return None;
    }
    let mut path = Vec::new();
    while let Some(edge) = parts.next() {
        let value = decode(parts.next()?);
        path.push(match edge {
            "attr" => PathPart::Attr(value),
            "key" => PathPart::Key(value),
            "index" => PathPart::Index(value.parse().ok()?),
            "id" => PathPart::Id(value),
            _ => return None,
        });
    }
    Some(Ref { project_id: format!("{entity}/{project}"), kind, name, digest, path })
}

/// True for a string that is a `weave:///` ref to something a value can be read from
/// (object, table, or a path into one).
pub fn is_value_ref(text: &str) -> bool {
    matches!(parse(text), Some(r) if matches!(r.kind, RefKind::Object | RefKind::Table))
}

/// Percent-decodes a path part (invalid escapes stay as they are).
pub fn decode(part: &str) -> String {
    percent_encoding::percent_decode_str(part).decode_utf8_lossy().into_owned()
}

/// How deep refs inside refs are followed.
const MAX_DEPTH: usize = 8;

/// The most rows a table ref resolves to.
pub const MAX_TABLE_ROWS: usize = 10_000;

/// Where a walk is: a value, or a table not loaded yet (so `/id/{digest}` reads one row).
enum Node {
    Value(Value),
    Table { project_id: String, digest: String },
}

/// Resolves refs against a store connection.
pub struct Resolver<'c> {
    conn: &'c Connection,
}

impl<'c> Resolver<'c> {
    /// A resolver reading through `conn`.
    pub fn new(conn: &'c Connection) -> Resolver<'c> {
        Resolver { conn }
    }

    /// The value a ref names; `None` when what it names is not stored (or it is a call
    /// ref, or not a ref).
    pub fn resolve(&self, uri: &str) -> rusqlite::Result<Option<Value>> {
        self.resolve_depth(uri, 0)
    }

    fn resolve_depth(&self, uri: &str, depth: usize) -> rusqlite::Result<Option<Value>> {
        let Some(r) = parse(uri) else { return Ok(None) };
        let Some(node) = self.node(&r, depth)? else { return Ok(None) };
        self.value_of(node)
    }

    fn node(&self, r: &Ref, depth: usize) -> rusqlite::Result<Option<Node>> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let mut node = match r.kind {
            RefKind::Object | RefKind::Op => match objects::object_val(self.conn, &r.project_id, &r.name, &r.digest)? {
                Some(v) => Node::Value(v),
                None => return Ok(None),
            },
            RefKind::Table => Node::Table { project_id: r.project_id.clone(), digest: r.name.clone() },
            RefKind::Call => return Ok(None),
        };
        for part in &r.path {
            node = match self.step(node, part, depth)? {
                Some(next) => next,
                None => return Ok(None),
            };
        }
        Ok(Some(node))
    }

    fn step(&self, node: Node, part: &PathPart, depth: usize) -> rusqlite::Result<Option<Node>> {
        // A ref string in the way is followed first.
        let node = match node {
            Node::Value(Value::String(s)) if s.starts_with("weave:///") => match parse(&s) {
                Some(inner) => match self.node(&inner, depth + 1)? {
                    Some(n) => n,
                    None => return Ok(None),
                },
                None => Node::Value(Value::String(s)),
            },
            other => other,
        };
        Ok(match (node, part) {
            (Node::Table { project_id, .. }, PathPart::Id(row)) => {
                objects::table_row(self.conn, &project_id, row)?.map(Node::Value)
            }
            (Node::Table { project_id, digest }, PathPart::Index(i)) => {
                let digests = objects::table_digests(self.conn, &project_id, &digest)?.unwrap_or_default();
                match digests.get(*i) {
                    Some(row) => objects::table_row(self.conn, &project_id, row)?.map(Node::Value),
                    None => None,
                }
            }
            (Node::Table { .. }, _) => None,
            (Node::Value(Value::Object(mut map)), PathPart::Attr(k) | PathPart::Key(k)) => {
                map.remove(k).map(Node::Value)
            }
            (Node::Value(Value::Array(mut items)), PathPart::Index(i)) => {
                (*i < items.len()).then(|| Node::Value(items.swap_remove(*i)))
            }
            (Node::Value(Value::Array(items)), PathPart::Id(id)) => items
                .into_iter()
                .find(|item| item.get("digest").and_then(Value::as_str) == Some(id.as_str()))
                .map(Node::Value),
            _ => None,
        })
    }

    fn value_of(&self, node: Node) -> rusqlite::Result<Option<Value>> {
        Ok(match node {
            Node::Value(v) => Some(v),
            Node::Table { project_id, digest } => objects::table_rows(self.conn, &project_id, &digest, MAX_TABLE_ROWS)?
                .map(|rows| Value::Array(rows.into_iter().map(|(_, v)| v).collect())),
        })
    }

    /// `value` with every object, table, row and key ref in it replaced by what it names
    /// (op and call refs, and refs to nothing stored, stay as they are).
    pub fn deep_resolve(&self, value: &Value) -> rusqlite::Result<Value> {
        self.deep(value, 0)
    }

    fn deep(&self, value: &Value, depth: usize) -> rusqlite::Result<Value> {
        Ok(match value {
            Value::String(s) if depth < MAX_DEPTH && is_value_ref(s) => match self.resolve_depth(s, depth)? {
                // A table's rows are not inlined whole: they can be large.
                Some(Value::Array(rows)) if parse(s).is_some_and(|r| r.kind == RefKind::Table && r.path.is_empty()) => {
                    Value::String(format!("{s} ({} rows)", rows.len()))
                }
                Some(resolved) => self.deep(&resolved, depth + 1)?,
                None => value.clone(),
            },
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.deep(v, depth + 1)).collect::<Result<_, _>>()?)
            }
            Value::Object(map) => Value::Object(
                map.iter().map(|(k, v)| Ok((k.clone(), self.deep(v, depth + 1)?))).collect::<rusqlite::Result<_>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// The digest of the row a ref points into (`…/id/{digest}`), if any.
pub fn row_digest(uri: &str) -> Option<String> {
    parse(uri)?.path.into_iter().find_map(|p| match p {
        PathPart::Id(d) => Some(d),
        _ => None,
    })
}

/// The name of what a ref names (an object's or op's name), or the ref itself.
pub fn display_name(uri: &str) -> String {
    match parse(uri) {
        Some(r) if matches!(r.kind, RefKind::Object | RefKind::Op) => r.name,
        _ => uri.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE objects (project_id TEXT, object_id TEXT, digest TEXT, kind TEXT, val TEXT, created_at TEXT);
             CREATE TABLE tables (project_id TEXT, digest TEXT, row_digests TEXT);
             CREATE TABLE table_rows (project_id TEXT, digest TEXT, val TEXT);
             CREATE TABLE files (project_id TEXT, digest TEXT, name TEXT, content BLOB);",
        )
        .unwrap();
        let dataset = json!({"_type": "Dataset", "name": "qa", "rows": "weave:///e/p/table/T1"});
        let eval = json!({"_type": "Evaluation", "dataset": "weave:///e/p/object/qa:D1", "scorers": ["weave:///e/p/op/exact:S1"]});
        for (name, digest, val) in [("qa", "D1", &dataset), ("my eval", "E1", &eval)] {
            conn.execute(
                "INSERT INTO objects VALUES ('e/p', ?1, ?2, 'object', ?3, '2026-01-01T00:00:00Z')",
                rusqlite::params![name, digest, val.to_string()],
            )
            .unwrap();
        }
        conn.execute("INSERT INTO tables VALUES ('e/p', 'T1', '[\"R1\",\"R2\"]')", []).unwrap();
        conn.execute(
            "INSERT INTO table_rows VALUES ('e/p', 'R1', ?1)",
            [json!({"question": "a/b?", "meta": {"tags": ["x", "y"]}}).to_string()],
        )
        .unwrap();
        conn.execute("INSERT INTO table_rows VALUES ('e/p', 'R2', '{\"question\": \"c\"}')", []).unwrap();
        conn
    }

    #[test]
    fn refs_parse_with_their_paths_decoded() {
        let r = parse("weave:///e/p/object/qa:D1/attr/rows/id/R1/key/a%2Fb%20c/index/2").unwrap();
        assert_eq!(r.project_id, "e/p");
        assert_eq!(r.kind, RefKind::Object);
        assert_eq!((r.name.as_str(), r.digest.as_str()), ("qa", "D1"));
        assert_eq!(
            r.path,
            vec![
                PathPart::Attr("rows".into()),
                PathPart::Id("R1".into()),
                PathPart::Key("a/b c".into()),
                PathPart::Index(2)
            ]
        );
        assert_eq!(parse("weave:///e/p/table/T1").unwrap().kind, RefKind::Table);
        assert_eq!(parse("weave:///e/p/call/123").unwrap().name, "123");
        assert_eq!(parse("https://example.com/x"), None);
        assert_eq!(parse("weave:///e/p/object/no-digest"), None);
        assert_eq!(parse("weave:///e/p/object/a:b/attr"), None);
        assert_eq!(parse("weave:///e/p/object/a:b/index/x"), None);
        assert_eq!(parse("weave:///e/p/thing/a:b"), None);
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(decode("a%20b"), "a b");
        assert_eq!(decode("%E2%9C%93"), "✓");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%4"), "%4");
    }

    #[test]
    fn objects_tables_rows_and_keys_resolve() {
        let conn = store();
        let r = Resolver::new(&conn);
        assert_eq!(r.resolve("weave:///e/p/object/qa:D1").unwrap().unwrap()["name"], "qa");
        assert_eq!(r.resolve("weave:///e/p/object/my%20eval:E1").unwrap().unwrap()["_type"], "Evaluation");
        let rows = r.resolve("weave:///e/p/table/T1").unwrap().unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 2);
        assert_eq!(r.resolve("weave:///e/p/table/T1/index/1/key/question").unwrap(), Some(json!("c")));
        assert_eq!(r.resolve("weave:///e/p/object/qa:D1/attr/rows/id/R1/key/question").unwrap(), Some(json!("a/b?")));
        assert_eq!(
            r.resolve("weave:///e/p/object/qa:D1/attr/rows/id/R1/key/meta/key/tags/index/1").unwrap(),
            Some(json!("y"))
        );
        // Through the evaluation's dataset ref, into the dataset's table.
        assert_eq!(
            r.resolve("weave:///e/p/object/my%20eval:E1/attr/dataset/attr/rows/id/R2/key/question").unwrap(),
            Some(json!("c"))
        );
        assert_eq!(r.resolve("weave:///e/p/object/qa:NOPE").unwrap(), None);
        assert_eq!(r.resolve("weave:///e/p/object/qa:D1/attr/rows/id/R9").unwrap(), None);
        assert_eq!(r.resolve("weave:///e/p/table/T1/index/7").unwrap(), None);
        assert_eq!(r.resolve("weave:///e/p/call/x").unwrap(), None);
    }

    #[test]
    fn deep_resolution_replaces_refs_inside_values() {
        let conn = store();
        let r = Resolver::new(&conn);
        let value = json!({
            "example": "weave:///e/p/object/qa:D1/attr/rows/id/R2",
            "q": "weave:///e/p/object/qa:D1/attr/rows/id/R1/key/question",
            "scorer": "weave:///e/p/op/exact:S1",
            "missing": "weave:///e/p/object/zz:1",
            "n": 3
        });
        let out = r.deep_resolve(&value).unwrap();
        assert_eq!(out["example"], json!({"question": "c"}));
        assert_eq!(out["q"], "a/b?");
        assert_eq!(out["scorer"], "weave:///e/p/op/exact:S1");
        assert_eq!(out["missing"], "weave:///e/p/object/zz:1");
        assert_eq!(out["n"], 3);
        assert_eq!(row_digest("weave:///e/p/object/qa:D1/attr/rows/id/R2/key/q"), Some("R2".into()));
        assert_eq!(display_name("weave:///e/p/op/exact:S1"), "exact");
    }
}

//! Tables: rows saved once (`/table/create`) and referred to by digest, as Weave stores a
//! dataset's rows and an evaluation's results. A row is then referred to by its own
//! digest: `{object ref}/attr/rows/id/{row digest}`.

use crate::json::JsonObject;
use crate::refs::{table_digest, table_ref_uri, RefForm};
use serde_json::Value;

/// One table for the exporter to save ([`crate::export::ExportItem::Table`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TableItem {
    /// The project, `entity/project`.
    pub project_id: String,
    /// The rows, in order (JSON objects).
    pub rows: Vec<Value>,
    /// Each row's digest, as the store computes it.
    pub row_digests: Vec<String>,
    /// The table's digest (hex), as the store computes it.
    pub digest: String,
}

impl TableItem {
    /// The table of `rows` in `project_id`, digested as a store of `form` digests it.
    pub fn new(project_id: impl Into<String>, rows: Vec<Value>, form: &RefForm) -> TableItem {
        let row_digests: Vec<String> = rows.iter().map(|row| form.row_digest(row)).collect();
        let digest = table_digest(&row_digests);
        TableItem { project_id: project_id.into(), rows, row_digests, digest }
    }

    /// `weave:///{entity}/{project}/table/{digest}`.
    pub fn uri(&self) -> String {
        table_ref_uri(&self.project_id, &self.digest)
    }

    /// The table as `/table/create` sends it (without the `table` wrapper).
    pub fn wire(&self) -> JsonObject {
        let mut table = JsonObject::new();
        table.insert("project_id".into(), Value::String(self.project_id.clone()));
        table.insert("rows".into(), Value::Array(self.rows.clone()));
        table.insert("expected_digest".into(), Value::Null);
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_is_named_by_its_rows_digests() {
        let rows = vec![json!({"a": 1}), json!({"a": 2})];
        let table = TableItem::new("e/p", rows.clone(), &RefForm::AsWritten);
        assert_eq!(table.row_digests.len(), 2);
        assert_eq!(table.digest, table_digest(&table.row_digests));
        assert_eq!(table.uri(), format!("weave:///e/p/table/{}", table.digest));
        assert_eq!(TableItem::new("e/p", rows, &RefForm::AsWritten), table);
        assert_ne!(
            TableItem::new("e/p", vec![json!({"a": 2}), json!({"a": 1})], &RefForm::AsWritten).digest,
            table.digest
        );
    }
}

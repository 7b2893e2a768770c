//! Which columns of a dataset row a model or scorer receives ([`Columns`]), under which
//! names ([`ColumnMap`]), as Weave's `prepare_scorer_op_args` picks them.

use crate::{ColumnError, Row};
use serde_json::Value;
use std::collections::BTreeMap;
use weave_core::call::JsonObject;

/// Which columns of the row a model or scorer receives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Columns {
    /// Every column (Python's `**kwargs` scorer).
    #[default]
    All,
    /// Only these (a missing one is an error on that score).
    Only(Vec<String>),
}

impl Columns {
    /// Only the given columns.
    pub fn only<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Columns {
        Columns::Only(names.into_iter().map(Into::into).collect())
    }
}

/// Renames columns for a scorer: `{scorer's column name: dataset column name}` (Weave's
/// `Scorer.column_map`). A column the row has under the scorer's own name is used as is.
pub type ColumnMap = BTreeMap<String, String>;

/// The dataset column a scorer's column `name` is read from: `name` itself when the row
/// has it, else the one `map` renames it from, else `name` (missing).
pub(crate) fn source_column<'a>(name: &'a str, map: &'a ColumnMap, row: &Row) -> &'a str {
    if row.value(name).is_some() {
        return name;
    }
    map.get(name).map_or(name, String::as_str)
}

/// The columns a scorer receives from `row`, under its own names (Weave's
/// `prepare_scorer_op_args`: a column under the scorer's name wins over the map).
pub(crate) fn select_columns(columns: &Columns, map: &ColumnMap, row: &Row) -> Result<Row, ColumnError> {
    let lookup = |name: &str| -> Result<Value, ColumnError> {
        let column = source_column(name, map, row);
        row.value(column).cloned().ok_or_else(|| ColumnError::missing(column, row))
    };
    let mut selected = JsonObject::new();
    match columns {
        Columns::All => {
            selected = row.as_object().clone();
            for name in map.keys() {
                if !selected.contains_key(name) {
                    selected.insert(name.clone(), lookup(name)?);
                }
            }
        }
        Columns::Only(names) => {
            for name in names {
                selected.insert(name.clone(), lookup(name)?);
            }
        }
    }
    Ok(Row::from_object(selected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row() -> Row {
        Row::new().with("question", "q").with("answer", "a")
    }

    #[test]
    fn columns_are_selected_and_renamed_like_weave() {
        let map: ColumnMap = [("expected".to_string(), "answer".to_string())].into_iter().collect();
        let only = select_columns(&Columns::only(["expected"]), &map, &row()).unwrap();
        assert_eq!(only.as_object(), json!({"expected": "a"}).as_object().unwrap());
        let all = select_columns(&Columns::All, &map, &row()).unwrap();
        assert_eq!(all.len(), 3);
        let missing = select_columns(&Columns::only(["context"]), &ColumnMap::new(), &row());
        assert!(matches!(missing, Err(ColumnError::Missing { column, .. }) if column == "context"));
    }
}

//! Group-by with aggregates (count, mean, sum) over rows, the W&B Tables way: rows with
//! the same key value form a group; each numeric column (booleans count as 1 and 0) gets
//! its sum and mean over the rows that have it.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// An aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    /// The number of rows.
    Count,
    /// The mean of the values.
    Mean,
    /// The sum of the values.
    Sum,
}

impl Agg {
    /// `count`, `mean` (or `avg`) or `sum`.
    pub fn parse(text: &str) -> Option<Agg> {
        match text.trim().to_ascii_lowercase().as_str() {
            "count" => Some(Agg::Count),
            "mean" | "avg" | "average" => Some(Agg::Mean),
            "sum" => Some(Agg::Sum),
            _ => None,
        }
    }
}

/// One group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The key value shared by its rows.
    pub key: Value,
    /// Its rows.
    pub count: u64,
    /// Per numeric column: the sum and the number of rows that have a value.
    columns: BTreeMap<String, (f64, u64)>,
}

impl Group {
    /// `agg` of `column` over the group (`None` when no row has a value for it; `count`
    /// is the number of rows that have one).
    pub fn aggregate(&self, column: &str, agg: Agg) -> Option<f64> {
        let (sum, n) = *self.columns.get(column)?;
        match agg {
            Agg::Count => Some(n as f64),
            Agg::Sum => Some(sum),
            Agg::Mean => (n > 0).then(|| sum / n as f64),
        }
    }

    /// `{key, count, columns: {name: {count, sum, mean}}}`.
    pub fn to_json(&self) -> Value {
        let mut columns = Map::new();
        for (name, (sum, n)) in &self.columns {
            let mean = if *n > 0 { Some(sum / *n as f64) } else { None };
            columns.insert(name.clone(), json!({"count": n, "sum": sum, "mean": mean}));
        }
        json!({"key": self.key, "count": self.count, "columns": columns})
    }
}

/// A number for aggregating: numbers as they are, booleans as 1 and 0.
pub fn numeric(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Groups rows (their key, and their columns by name) by key, in the order keys sort
/// (numbers, then strings, then the rest; missing keys last).
pub fn group_by<I>(rows: I) -> Vec<Group>
where
    I: IntoIterator<Item = (Value, Vec<(String, Value)>)>,
{
    let mut groups: Vec<Group> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for (key, columns) in rows {
        let id = key.to_string();
        let i = *index.entry(id).or_insert_with(|| {
            groups.push(Group { key: key.clone(), count: 0, columns: BTreeMap::new() });
            groups.len() - 1
        });
        let group = &mut groups[i];
        group.count += 1;
        for (name, value) in columns {
            let entry = group.columns.entry(name).or_insert((0.0, 0));
            if let Some(x) = numeric(&value) {
                entry.0 += x;
                entry.1 += 1;
            }
        }
    }
    groups.sort_by(|a, b| sort_key(&a.key).partial_cmp(&sort_key(&b.key)).unwrap_or(std::cmp::Ordering::Equal));
    groups
}

fn sort_key(key: &Value) -> (u8, f64, String) {
    match key {
        Value::Number(n) => (0, n.as_f64().unwrap_or(0.0), String::new()),
        Value::Bool(b) => (1, f64::from(u8::from(*b)), String::new()),
        Value::String(s) => (2, 0.0, s.clone()),
        Value::Null => (4, 0.0, String::new()),
        other => (3, 0.0, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_count_sum_and_mean() {
        let rows = vec![
            (json!("a"), vec![("score".to_string(), json!(1.0)), ("ok".to_string(), json!(true))]),
            (json!("b"), vec![("score".to_string(), json!(4.0)), ("ok".to_string(), json!(false))]),
            (json!("a"), vec![("score".to_string(), json!(3.0)), ("ok".to_string(), json!(false))]),
            (json!("a"), vec![("score".to_string(), json!("n/a")), ("ok".to_string(), json!(true))]),
            (Value::Null, vec![]),
        ];
        let groups = group_by(rows);
        assert_eq!(groups.iter().map(|g| g.key.clone()).collect::<Vec<_>>(), [json!("a"), json!("b"), Value::Null]);
        let a = &groups[0];
        assert_eq!(a.count, 3);
        assert_eq!(a.aggregate("score", Agg::Sum), Some(4.0));
        assert_eq!(a.aggregate("score", Agg::Mean), Some(2.0));
        assert_eq!(a.aggregate("score", Agg::Count), Some(2.0));
        assert_eq!(a.aggregate("ok", Agg::Mean), Some(2.0 / 3.0));
        assert_eq!(groups[2].aggregate("score", Agg::Mean), None);
        assert_eq!(a.to_json()["columns"]["score"]["mean"], 2.0);
    }

    #[test]
    fn keys_sort_numbers_first_and_missing_last() {
        let rows = [json!("x"), json!(10), json!(2), Value::Null, json!(true)].map(|k| (k, vec![]));
        let keys: Vec<Value> = group_by(rows).into_iter().map(|g| g.key).collect();
        assert_eq!(keys, [json!(2), json!(10), json!(true), json!("x"), Value::Null]);
    }

    #[test]
    fn aggregates_parse() {
        assert_eq!(Agg::parse("MEAN"), Some(Agg::Mean));
        assert_eq!(Agg::parse("avg"), Some(Agg::Mean));
        assert_eq!(Agg::parse("sum"), Some(Agg::Sum));
        assert_eq!(Agg::parse("count"), Some(Agg::Count));
        assert_eq!(Agg::parse("max"), None);
    }
}

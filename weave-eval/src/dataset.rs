//! Datasets: a name and rows. A row is a JSON object ([`Row`]) whose columns are read by
//! name; rows come from any `Serialize` values, a JSONL file or a CSV file.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use weave_core::call::JsonObject;

/// One row of a dataset: a JSON object of columns.
///
/// ```
/// use weave_eval::Row;
/// let row = Row::new().with("question", "2+2?").with("expected", 4);
/// assert_eq!(row.get::<u32>("expected").unwrap(), 4);
/// assert_eq!(row.str("question"), Some("2+2?"));
/// assert!(row.get::<u32>("missing").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Row(JsonObject);

impl Row {
    /// An empty row.
    pub fn new() -> Row {
        Row(JsonObject::new())
    }

    /// A row from a JSON object.
    pub fn from_object(columns: JsonObject) -> Row {
        Row(columns)
    }

    /// A row from any value that serializes to a JSON object.
    pub fn from_serialize(value: &(impl Serialize + ?Sized)) -> Result<Row, DatasetError> {
        match weave_core::json::to_value(value) {
            Ok(Value::Object(map)) => Ok(Row(map)),
            Ok(other) => Err(DatasetError::NotAnObject { index: 0, found: kind_of(&other) }),
            Err(e) => Err(DatasetError::Serialize(e.to_string())),
        }
    }

    /// This row with one more column (a value that cannot be serialized becomes `null`).
    pub fn with(mut self, column: impl Into<String>, value: impl Serialize) -> Row {
        self.insert(column, value);
        self
    }

    /// Sets a column (a value that cannot be serialized becomes `null`).
    pub fn insert(&mut self, column: impl Into<String>, value: impl Serialize) {
        self.0.insert(column.into(), weave_core::json::to_value(&value).unwrap_or(Value::Null));
    }

    /// A column, deserialized into `T`.
    pub fn get<T: DeserializeOwned>(&self, column: &str) -> Result<T, ColumnError> {
        let value = self.0.get(column).ok_or_else(|| ColumnError::missing(column, &self.0))?;
        T::deserialize(value).map_err(|e| ColumnError::Type { column: column.to_string(), message: e.to_string() })
    }

    /// A column's JSON value.
    pub fn value(&self, column: &str) -> Option<&Value> {
        self.0.get(column)
    }

    /// A string column.
    pub fn str(&self, column: &str) -> Option<&str> {
        self.0.get(column).and_then(Value::as_str)
    }

    /// The columns as a JSON object.
    pub fn as_object(&self) -> &JsonObject {
        &self.0
    }

    /// The columns, by value.
    pub fn into_object(self) -> JsonObject {
        self.0
    }
}

impl Deref for Row {
    type Target = JsonObject;

    fn deref(&self) -> &JsonObject {
        &self.0
    }
}

impl From<JsonObject> for Row {
    fn from(columns: JsonObject) -> Row {
        Row(columns)
    }
}

/// A column that is missing, or does not have the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ColumnError {
    /// The row has no such column.
    Missing {
        /// The column asked for.
        column: String,
        /// The columns the row has.
        available: Vec<String>,
    },
    /// The column's value does not deserialize into the type asked for.
    Type {
        /// The column asked for.
        column: String,
        /// What serde said.
        message: String,
    },
}

impl ColumnError {
    pub(crate) fn missing(column: &str, row: &JsonObject) -> ColumnError {
        ColumnError::Missing { column: column.to_string(), available: row.keys().cloned().collect() }
    }
}

impl fmt::Display for ColumnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnError::Missing { column, available } => {
                write!(f, "column `{column}` not found (available columns: {})", available.join(", "))
            }
            ColumnError::Type { column, message } => write!(f, "column `{column}`: {message}"),
        }
    }
}

impl std::error::Error for ColumnError {}

/// Why a dataset could not be built or loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum DatasetError {
    /// A row is not a JSON object.
    NotAnObject {
        /// The row's index (0-based).
        index: usize,
        /// What it is instead (`"string"`, `"array"`, ...).
        found: &'static str,
    },
    /// A row could not be serialized.
    Serialize(String),
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A line of a JSONL file, or a record of a CSV file, is malformed.
    Parse {
        /// The file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for DatasetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetError::NotAnObject { index, found } => {
                write!(f, "row {index} is {found}, not a JSON object (rows are objects of columns)")
            }
            DatasetError::Serialize(e) => write!(f, "a row could not be serialized: {e}"),
            DatasetError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            DatasetError::Parse { path, line, message } => write!(f, "{}:{line}: {message}", path.display()),
        }
    }
}

impl std::error::Error for DatasetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DatasetError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A named collection of rows (Weave's `Dataset`).
///
/// ```
/// use weave_eval::Dataset;
/// #[derive(serde::Serialize)]
/// struct Qa { question: &'static str, expected: &'static str }
/// let dataset = Dataset::from_rows("qa", vec![Qa { question: "2+2?", expected: "4" }]).unwrap();
/// assert_eq!(dataset.len(), 1);
/// assert_eq!(dataset.rows()[0].str("expected"), Some("4"));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    name: Option<String>,
    description: Option<String>,
    rows: Vec<Row>,
}

impl Dataset {
    /// A dataset named `name` from rows of any type that serializes to JSON objects.
    pub fn from_rows<T: Serialize>(
        name: impl Into<String>,
        rows: impl IntoIterator<Item = T>,
    ) -> Result<Dataset, DatasetError> {
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(index, row)| match weave_core::json::to_value(&row) {
                Ok(Value::Object(map)) => Ok(Row(map)),
                Ok(other) => Err(DatasetError::NotAnObject { index, found: kind_of(&other) }),
                Err(e) => Err(DatasetError::Serialize(e.to_string())),
            })
            .collect::<Result<Vec<Row>, DatasetError>>()?;
        Ok(Dataset { name: Some(name.into()), description: None, rows })
    }

    /// A dataset from rows that are already [`Row`]s.
    pub fn new(name: impl Into<String>, rows: Vec<Row>) -> Dataset {
        Dataset { name: Some(name.into()), description: None, rows }
    }

    /// A dataset without a name (an evaluation of it is then named `Evaluation`).
    pub fn unnamed(rows: Vec<Row>) -> Dataset {
        Dataset { name: None, description: None, rows }
    }

    /// Loads a JSON Lines file: one JSON object per line (blank lines are skipped). The
    /// dataset is named after the file's stem.
    pub fn from_jsonl(path: impl AsRef<Path>) -> Result<Dataset, DatasetError> {
        let path = path.as_ref();
        let text = read(path)?;
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let parse_error = |message: String| DatasetError::Parse { path: path.to_path_buf(), line: i + 1, message };
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => rows.push(Row(map)),
                Ok(other) => return Err(parse_error(format!("expected a JSON object, found {}", kind_of(&other)))),
                Err(e) => return Err(parse_error(e.to_string())),
            }
        }
        Ok(Dataset { name: Some(file_stem(path)), description: None, rows })
    }

    /// Loads a CSV file (RFC 4180, read by the [`csv`] crate: a header line, comma-separated
    /// fields, quotes around fields holding commas, quotes or line breaks; LF or CRLF line
    /// ends; a UTF-8 byte order mark at the start is skipped; blank lines are skipped). Every
    /// value is a string; a quote inside an unquoted field is kept as text. A record with
    /// another number of fields than the header, or a quote left open at the end of the
    /// file, is a [`DatasetError::Parse`] naming the record's first line. The dataset is
    /// named after the file's stem.
    pub fn from_csv(path: impl AsRef<Path>) -> Result<Dataset, DatasetError> {
        let path = path.as_ref();
        let text = read(path)?;
        let rows = csv_rows(&text).map_err(|(line, message)| DatasetError::Parse {
            path: path.to_path_buf(),
            line: usize::try_from(line).unwrap_or(usize::MAX),
            message,
        })?;
        Ok(Dataset { name: Some(file_stem(path)), description: None, rows })
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Dataset {
        self.name = Some(name.into());
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Dataset {
        self.description = Some(description.into());
        self
    }

    /// The name.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds a row.
    pub fn push(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// The object as Weave stores it (`_type: "Dataset"`). The rows are inline until
    /// tables can be published (Weave stores them as a table ref).
    pub fn object_value(&self) -> Value {
        self.object_with_rows(Value::Array(self.rows.iter().map(|r| Value::Object(r.0.clone())).collect()))
    }

    fn object_with_rows(&self, rows: Value) -> Value {
        let mut fields = JsonObject::new();
        fields.insert("rows".into(), rows);
        crate::objects::object_value(
            "Dataset",
            self.name.as_deref(),
            self.description.as_deref(),
            fields,
            &["Object", "BaseModel"],
        )
    }

    /// Publishes the dataset as Weave does: its rows as a table, and the dataset object
    /// (named after the dataset, else `Dataset`) with that table's ref as `rows`. The same
    /// rows give the same version.
    pub fn publish(&self) -> Result<weave_core::object::ObjectRef, weave_core::object::PublishError> {
        let (published, _) = self.publish_with(&crate::objects::Publisher::try_current()?);
        let name = self.name.as_deref().unwrap_or("Dataset");
        published.object_ref.ok_or_else(|| weave_core::object::PublishError::InvalidName(name.to_string()))
    }

    /// Saves the dataset with `publisher`: the object (or its inline value) and each
    /// row's digest in its table.
    pub(crate) fn publish_with(
        &self,
        publisher: &crate::objects::Publisher,
    ) -> (crate::objects::Published, Vec<String>) {
        let table = publisher.table(self.rows.iter().map(|r| Value::Object(r.0.clone())).collect());
        let object = self.object_with_rows(table.value);
        (publisher.object(self.name.as_deref().unwrap_or("Dataset"), object), table.row_digests)
    }
}

impl<T: Into<Row>> FromIterator<T> for Dataset {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Dataset {
        Dataset::unnamed(iter.into_iter().map(Into::into).collect())
    }
}

fn read(path: &Path) -> Result<String, DatasetError> {
    std::fs::read_to_string(path).map_err(|error| DatasetError::Io { path: path.to_path_buf(), error })
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "dataset".to_string())
}

/// The rows of CSV text (a header line, then records); an error is the 1-based line of the
/// record at fault, and what is wrong.
fn csv_rows(text: &str) -> Result<Vec<Row>, (u64, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // The csv crate reads a quote left open as a field that runs to the end of the file.
    // So that this is an error rather than the rest of the file taken as one value, a
    // one-field record is read after the text: it is a record of its own, starting right
    // after the text and a line break, only when every quote was closed.
    let input = [text.as_bytes(), b"\n."].concat();
    let sentinel_at = text.len() as u64 + 1;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        // Records of another length are reported below, with both counts.
        .flexible(true)
        .from_reader(input.as_slice());
    let start = |record: &csv::StringRecord| RecordStart::of(&input, record);
    let error_line = |e: &csv::Error, fallback: u64| e.position().map_or(fallback, |p| p.line());
    let header = reader.headers().map_err(|e| (error_line(&e, 1), e.to_string()))?.clone();
    if start(&header).byte == sentinel_at {
        // Nothing but blank lines: no header, no rows.
        return Ok(Vec::new());
    }
    let mut records = Vec::new();
    let mut closed = false;
    let mut last_line = start(&header).line;
    for record in reader.records() {
        let record = record.map_err(|e| (error_line(&e, last_line), e.to_string()))?;
        let RecordStart { byte, line } = start(&record);
        if byte == sentinel_at {
            closed = true;
            break;
        }
        last_line = line;
        records.push((line, record));
    }
    if !closed {
        return Err((last_line, "a quoted field is not closed".to_string()));
    }
    records
        .into_iter()
        .map(|(line, record)| {
            if record.len() != header.len() {
                return Err((line, format!("{} fields, the header has {}", record.len(), header.len())));
            }
            let columns: JsonObject = header
                .iter()
                .zip(record.iter())
                .map(|(column, value)| (column.to_string(), Value::from(value)))
                .collect();
            Ok(Row(columns))
        })
        .collect()
}

/// Where a CSV record starts: its byte offset and 1-based line.
struct RecordStart {
    byte: u64,
    line: u64,
}

impl RecordStart {
    /// The csv crate places a record where the previous one ended, before the `\n` of a
    /// CRLF and any blank lines (its issues 208 and 395): the line breaks from there on
    /// are skipped and counted.
    fn of(input: &[u8], record: &csv::StringRecord) -> RecordStart {
        let (byte, line) = record.position().map_or((0, 1), |p| (p.byte(), p.line()));
        let rest = usize::try_from(byte).ok().and_then(|b| input.get(b..)).unwrap_or_default();
        let breaks = rest.iter().take_while(|&&b| b == b'\r' || b == b'\n');
        let (skipped, newlines) = breaks.fold((0, 0), |(n, l), &b| (n + 1, l + u64::from(b == b'\n')));
        RecordStart { byte: byte + skipped, line: line + newlines }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<(String, String)>> {
        let rows = csv_rows(text).unwrap_or_else(|(line, message)| panic!("{line}: {message}"));
        rows.iter()
            .map(|row| row.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("not a string").to_string())).collect())
            .collect()
    }

    fn pairs(columns: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = columns.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn csv_quotes_commas_and_line_breaks() {
        let text = "q,a\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",2\n";
        assert_eq!(
            rows(text),
            vec![pairs(&[("a", "say \"hi\""), ("q", "x, y")]), pairs(&[("a", "2"), ("q", "multi\nline")])]
        );
        // The line of a bad record is the line it starts on (after a field with a line break).
        assert_eq!(csv_rows(&format!("{text}1,2,3\n")), Err((5, "3 fields, the header has 2".to_string())));
        assert_eq!(csv_rows("q,a\n1,2\n\n3\n"), Err((4, "1 fields, the header has 2".to_string())));
    }

    #[test]
    fn csv_without_a_final_line_break_blank_lines_and_a_bom() {
        assert_eq!(rows("q,a\n1,2"), vec![pairs(&[("a", "2"), ("q", "1")])]);
        assert_eq!(rows("q,a\n1,\"2\""), vec![pairs(&[("a", "2"), ("q", "1")])]);
        assert_eq!(
            rows("\n\nq,a\r\n\r\n1,2\n\n\n3,\n"),
            vec![pairs(&[("a", "2"), ("q", "1")]), pairs(&[("a", ""), ("q", "3")])]
        );
        assert_eq!(rows("\u{feff}q,a\n1,2\n"), vec![pairs(&[("a", "2"), ("q", "1")])]);
        assert_eq!(rows("\u{feff}\"q\",a\n1,2\n"), vec![pairs(&[("a", "2"), ("q", "1")])]);
        // Every value is a string, numbers too.
        assert_eq!(csv_rows("n\n1\n").map(|rows| rows[0].value("n").cloned()), Ok(Some(Value::from("1"))));
    }

    #[test]
    fn csv_empty_files_and_header_only_files_have_no_rows() {
        for text in ["", "\n", "\r\n\n", "\u{feff}", "q,a\n", "q,a"] {
            assert_eq!(csv_rows(text), Ok(Vec::new()), "{text:?}");
        }
    }

    #[test]
    fn csv_a_quote_left_open_is_an_error() {
        let open = Err((2, "a quoted field is not closed".to_string()));
        assert_eq!(csv_rows("a\n\"open"), open);
        // In the last column, it would otherwise take the rest of the file as one value.
        assert_eq!(csv_rows("q,a\n1,\"open\n2,3\n"), open);
        assert_eq!(csv_rows("q,a\n1,\"closed\"\"\n2,3\n"), open);
        assert_eq!(csv_rows("\"q,a\n1,2\n"), Err((1, "a quoted field is not closed".to_string())));
        assert_eq!(rows("q,a\n1,\"\"\n"), vec![pairs(&[("a", ""), ("q", "1")])]);
    }

    #[test]
    fn csv_a_quote_inside_an_unquoted_field_is_text() {
        assert_eq!(rows("q,a\n5\" screen,2\n"), vec![pairs(&[("a", "2"), ("q", "5\" screen")])]);
    }
}

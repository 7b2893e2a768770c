//! The row query language of the comparison page and `weave compare --query`:
//!
//! ```text
//! correct = false AND confidence > 0.8
//! NOT (scores.exact_match = true OR run2.model_latency >= 0.5)
//! inputs.question CONTAINS 'capital' AND output != null
//! ```
//!
//! Comparisons `=` (`==`), `!=` (`<>`), `<`, `<=`, `>`, `>=` and `CONTAINS` between
//! column paths (dotted, e.g. `scores.exact.match`; a part with other characters in
//! backticks) and literals (numbers, `'strings'` or `"strings"`, `true`, `false`,
//! `null`); `AND`, `OR`, `NOT` (also `&&`, `||`, `!`) and parentheses. A path alone is
//! true when its value is truthy. How a path finds its value is up to the caller (see
//! [`Lookup`]). Grouping with aggregates is in [`group`].

mod error;
mod eval;
pub mod group;
mod lexer;
mod parser;

pub use error::ParseError;
pub use eval::{compare_values, truthy, Lookup};
pub use parser::{parse, CmpOp, Expr};

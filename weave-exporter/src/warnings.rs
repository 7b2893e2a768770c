//! When the exporter warns about a count that only grows (items dropped by a full queue or
//! a shutdown, items the fallback file's writer could not keep up with): at the first, then
//! each time the count passes 10, 100, 1000, ..., so a flood of drops prints a few lines;
//! and what the shutdown says about the calls the sink did not write.

use crate::fallback::{rotated_path, KEPT_ROTATED_FILES};
use std::path::Path;

/// True when a count that went from `before` to `after` is worth a warning: it was 0, or
/// a power of ten lies in `(before, after]`.
pub(crate) fn worth_a_warning(before: u64, after: u64) -> bool {
    before == 0 || crosses_a_power_of_ten(before, after)
}

/// True when a power of ten lies in `(before, after]`.
fn crosses_a_power_of_ten(before: u64, after: u64) -> bool {
    let mut power: u64 = 10;
    while power <= after {
        if power > before {
            return true;
        }
        match power.checked_mul(10) {
            Some(next) => power = next,
            None => break,
        }
    }
    false
}

/// What became of some calls that the sink did not write, in the counts a report gives
/// them (see [`weave_core::export::FlushReport`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotWritten<'a> {
    /// How many.
    pub(crate) calls: u64,
    /// Of them, in no fallback file (`rotated` included).
    pub(crate) lost: u64,
    /// Of `lost`, discarded by the fallback file's rotation.
    pub(crate) rotated: u64,
    /// The fallback file (`None` when the disk fallback is off).
    pub(crate) fallback: Option<&'a Path>,
    /// The size the fallback file rotates at.
    pub(crate) max_bytes: u64,
}

/// The shutdown's summary of the calls dropped (by a full queue or a shutdown): where they
/// are, said from the counts, so that a fallback file that took none of them (a full disk)
/// is not said to hold them, and calls its rotation discarded are said to be lost.
pub(crate) fn dropped_calls_summary(dropped: &NotWritten<'_>) -> String {
    let head = format!("weave: {} calls were dropped (queue full or exporter shut down)", dropped.calls);
    format!("{head}; {}", where_they_are(dropped))
}

/// The shutdown's summary of the calls the sink failed to write.
pub(crate) fn failed_calls_summary(failed: &NotWritten<'_>, sink: &str) -> String {
    format!("weave: {} calls could not be written to {sink}; {}", failed.calls, where_they_are(failed))
}

/// Where calls that the sink did not write are: in the fallback file, discarded by its
/// rotation, or in no file.
fn where_they_are(calls: &NotWritten<'_>) -> String {
    let Some(path) = calls.fallback else {
        return "they were not saved (WEAVE_ENABLE_DISK_FALLBACK is off)".to_string();
    };
    let why = "the fallback file could not keep up, or writing it failed";
    let lost = calls.lost.min(calls.calls);
    let rotated = calls.rotated.min(lost);
    let in_file = calls.calls - lost;
    let behind = lost - rotated;
    if rotated == 0 {
        return match lost {
            0 => format!("they were written to {}", path.display()),
            lost if lost == calls.calls => {
                format!("none of them could be written to {} ({why}): they are lost", path.display())
            }
            lost => format!("{in_file} of them were written to {}, {lost} are in no file ({why})", path.display()),
        };
    }
    let mut parts = vec![format!("{in_file} of them are in {} and its rotated files", path.display())];
    parts.push(format!("{rotated} were discarded by {}", rotation_cause(calls.max_bytes)));
    if behind > 0 {
        parts.push(format!("{behind} are in no file ({why})"));
    }
    parts.join(", ")
}

/// Why calls were discarded by the rotation, and the setting that keeps more.
fn rotation_cause(max_bytes: u64) -> String {
    format!(
        "fallback rotation: the fallback file keeps {KEPT_ROTATED_FILES} rotated files of at most {max_bytes} bytes \
         and deleted the oldest (raise ExporterConfig::fallback_max_bytes to keep more)"
    )
}

/// The warning when a rotation of the fallback file discarded calls: `now` with this
/// rotation, `total` so far.
pub(crate) fn rotation_warning(path: &Path, max_bytes: u64, now: u64, total: u64) -> String {
    format!(
        "weave: {now} calls in {} were discarded by {}; {total} calls were discarded by fallback rotation so far \
         (counted as lost in the exporter's report)",
        rotated_path(path, KEPT_ROTATED_FILES).display(),
        rotation_cause(max_bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::{
        crosses_a_power_of_ten as crosses, dropped_calls_summary, failed_calls_summary, rotation_warning,
        worth_a_warning, NotWritten,
    };
    use std::path::Path;

    fn not_written(calls: u64, lost: u64, rotated: u64, fallback: Option<&Path>) -> NotWritten<'_> {
        NotWritten { calls, lost, rotated, fallback, max_bytes: 1000 }
    }

    #[test]
    fn the_dropped_calls_summary_says_where_they_are_from_the_counts() {
        let file = Some(Path::new("f.jsonl"));
        assert!(dropped_calls_summary(&not_written(10, 0, 0, file)).ends_with("; they were written to f.jsonl"));
        // A full disk: the file took none of them, and the summary does not say it did.
        let full = dropped_calls_summary(&not_written(10, 10, 0, file));
        assert!(full.contains("none of them could be written to f.jsonl") && !full.contains("were written"), "{full}");
        let some = dropped_calls_summary(&not_written(10, 4, 0, file));
        assert!(some.contains("6 of them were written to f.jsonl, 4 are in no file"), "{some}");
        assert!(dropped_calls_summary(&not_written(10, 10, 0, None))
            .ends_with("they were not saved (WEAVE_ENABLE_DISK_FALLBACK is off)"));
    }

    #[test]
    fn calls_discarded_by_rotation_are_said_to_be_and_the_setting_is_named() {
        let file = Some(Path::new("f.jsonl"));
        let rotated = dropped_calls_summary(&not_written(10, 4, 3, file));
        assert!(rotated.contains("6 of them are in f.jsonl and its rotated files"), "{rotated}");
        assert!(rotated.contains("3 were discarded by fallback rotation"), "{rotated}");
        assert!(rotated.contains("ExporterConfig::fallback_max_bytes"), "{rotated}");
        assert!(rotated.contains("1 are in no file (the fallback file could not keep up"), "{rotated}");
        let failed = failed_calls_summary(&not_written(5, 5, 5, file), "the sink");
        assert!(failed.starts_with("weave: 5 calls could not be written to the sink; 0 of them"), "{failed}");
        assert!(!failed.contains("in no file"), "{failed}");
        let warning = rotation_warning(Path::new("f.jsonl"), 1000, 7, 70);
        assert!(warning.contains("7 calls in f.jsonl.3 were discarded by fallback rotation"), "{warning}");
        assert!(warning.contains("70 calls were discarded by fallback rotation so far"), "{warning}");
        assert!(warning.contains("ExporterConfig::fallback_max_bytes"), "{warning}");
    }

    #[test]
    fn drop_warnings_come_at_powers_of_ten() {
        assert!(crosses(9, 10) && crosses(5, 64) && crosses(990, 1054));
        assert!(!crosses(10, 99) && !crosses(1001, 9999) && !crosses(0, 9));
    }

    #[test]
    fn the_first_drop_is_worth_a_warning() {
        assert!(worth_a_warning(0, 1) && worth_a_warning(0, 9) && worth_a_warning(9, 10));
        assert!(!worth_a_warning(1, 9) && !worth_a_warning(10, 99) && !worth_a_warning(u64::MAX - 1, u64::MAX));
    }
}

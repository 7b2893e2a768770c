//! When the exporter warns about a count that only grows (items dropped by a full queue or
//! a shutdown, items the fallback file's writer could not keep up with): at the first, then
//! each time the count passes 10, 100, 1000, ..., so a flood of drops prints a few lines.

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

/// The shutdown's summary of the calls dropped (by a full queue or a shutdown): where they
/// are, said from the counts, so that a fallback file that took none of them (a full disk)
/// is not said to hold them. `lost` counts the dropped or failed items in no file;
/// `fallback` is the fallback file (`None` when the disk fallback is off).
pub(crate) fn dropped_calls_summary(dropped: u64, lost: u64, fallback: Option<&std::path::Path>) -> String {
    let head = format!("weave: {dropped} calls were dropped (queue full or exporter shut down)");
    let Some(path) = fallback else {
        return format!("{head}; they were not saved (WEAVE_ENABLE_DISK_FALLBACK is off)");
    };
    let why = "the fallback file could not keep up, or writing it failed";
    match lost {
        0 => format!("{head}; they were written to {}", path.display()),
        lost if lost >= dropped => {
            format!("{head}; none of them could be written to {} ({why}): they are lost", path.display())
        }
        lost => format!(
            "{head}; {} of them were written to {}, {lost} are in no file ({why})",
            dropped - lost,
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{crosses_a_power_of_ten as crosses, dropped_calls_summary, worth_a_warning};
    use std::path::Path;

    #[test]
    fn the_dropped_calls_summary_says_where_they_are_from_the_counts() {
        let file = Some(Path::new("f.jsonl"));
        assert!(dropped_calls_summary(10, 0, file).ends_with("; they were written to f.jsonl"));
        // A full disk: the file took none of them, and the summary does not say it did.
        let full = dropped_calls_summary(10, 10, file);
        assert!(full.contains("none of them could be written to f.jsonl") && !full.contains("were written"), "{full}");
        let some = dropped_calls_summary(10, 4, file);
        assert!(some.contains("6 of them were written to f.jsonl, 4 are in no file"), "{some}");
        assert!(
            dropped_calls_summary(10, 10, None).ends_with("they were not saved (WEAVE_ENABLE_DISK_FALLBACK is off)")
        );
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

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

#[cfg(test)]
mod tests {
    use super::{crosses_a_power_of_ten as crosses, worth_a_warning};

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

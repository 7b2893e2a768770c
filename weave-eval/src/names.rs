//! Default display names: `eval-YYYY-MM-DD-<adjective>-<noun>`, with Weave's word lists
//! (`flow/util.py: make_memorable_name`).

use weave_core::ids::next_random_u128;
use weave_core::time::Timestamp;

const ADJECTIVES: [&str; 36] = [
    "brave",
    "bright",
    "calm",
    "charming",
    "clever",
    "daring",
    "dazzling",
    "eager",
    "elegant",
    "eloquent",
    "fierce",
    "friendly",
    "gentle",
    "graceful",
    "happy",
    "honest",
    "imaginative",
    "innocent",
    "joyful",
    "jubilant",
    "keen",
    "kind",
    "lively",
    "loyal",
    "merry",
    "nice",
    "noble",
    "optimistic",
    "proud",
    "quiet",
    "rich",
    "sweet",
    "tender",
    "unique",
    "wise",
    "zealous",
];

const NOUNS: [&str; 38] = [
    "bear", "bird", "breeze", "cedar", "cloud", "daisy", "dawn", "dolphin", "dusk", "eagle", "fish", "flower",
    "forest", "hill", "horizon", "island", "lake", "lion", "maple", "meadow", "moon", "mountain", "oak", "ocean",
    "pine", "plateau", "rain", "river", "rose", "star", "stream", "sun", "tiger", "tree", "valley", "whale", "wind",
    "wolf",
];

fn pick<'a>(words: &[&'a str]) -> &'a str {
    words[(next_random_u128() % words.len() as u128) as usize]
}

/// A random `<adjective>-<noun>`, e.g. `clever-otter`.
pub fn memorable_name() -> String {
    format!("{}-{}", pick(&ADJECTIVES), pick(&NOUNS))
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    Timestamp::now().to_string().chars().take(10).collect()
}

/// Weave's default evaluation display name, `eval-YYYY-MM-DD-<adjective>-<noun>` (the date
/// is UTC; Python uses local time).
pub fn default_display_name() -> String {
    format!("eval-{}-{}", today(), memorable_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_names_have_weaves_shape() {
        let name = default_display_name();
        let parts: Vec<&str> = name.split('-').collect();
        assert_eq!(parts.len(), 6, "{name}");
        assert_eq!(parts[0], "eval");
        assert_eq!(parts[1].len(), 4);
        assert!(ADJECTIVES.contains(&parts[4]) && NOUNS.contains(&parts[5]), "{name}");
    }
}

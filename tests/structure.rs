//! The structure of the code: no crate has files that import each other in a circle
//! (`tests/structure/import_circles.py` reads the imports: `use` paths, `crate::`,
//! `super::` and `self::` paths, paths through child modules; a folder's `mod.rs` may import
//! its files, not the other way round).

use std::path::Path;
use std::process::Command;

/// The source folders of the workspace's crates.
const CRATE_SOURCES: [&str; 7] = [
    "src",
    "weave-core/src",
    "weave-macros/src",
    "weave-exporter/src",
    "weave-eval/src",
    "weave-llm/src",
    "weave-cli/src",
];

#[test]
fn no_crate_has_files_that_import_each_other_in_a_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .current_dir(root)
        .arg("tests/structure/import_circles.py")
        .args(CRATE_SOURCES)
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "import circles:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    // Every crate was read (a crate with no imports read would pass for the wrong reason).
    for src in CRATE_SOURCES {
        let line = report.lines().find(|l| l.starts_with(&format!("{src}:"))).unwrap_or_else(|| panic!("{report}"));
        assert!(!line.contains(" 0 imports"), "{line}");
    }
}

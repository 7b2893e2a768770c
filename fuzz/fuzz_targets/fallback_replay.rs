//! The fallback file on replay: the input is the file, replayed into a memory sink and a
//! JSON-lines sink. Garbage lines must be skipped and counted, never crash the replay.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weave_exporter::fallback::replay;
use weave_exporter::{JsonlSink, MemorySink};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("weave-fuzz-fallback-{}.jsonl", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let mut memory = MemorySink::new("entity/project");
    if let Ok(report) = replay(&path, &mut memory) {
        assert!(report.replayed + report.skipped <= report.lines, "{report:?}");
    }
    let mut jsonl = JsonlSink::writer(std::io::sink(), "entity/project", "nowhere".to_string());
    let _ = replay(&path, &mut jsonl);
    let _ = std::fs::remove_file(&path);
});

//! The browser test harness itself (`tests/browser/`): Debian's headless Chromium, driven by
//! playwright-core, opens a page served by a tiny local HTTP server, clicks, sees a dialog
//! recorded and a non-loopback request refused, saves a screenshot, and reports a failing
//! script as failed (with a failure screenshot).

#[path = "browser/mod.rs"]
mod browser;

use browser::{RunOptions, StaticServer};
use std::time::Duration;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Browser harness self-test</title></head>
<body>
<h1>Browser harness</h1>
<button id="greet" onclick="document.getElementById('out').textContent = 'hello from Chromium'">greet</button>
<button id="alert" onclick="alert('an alert'); document.getElementById('out').textContent = 'after the alert'">alert</button>
<p id="out"></p>
</body></html>"#;

fn server() -> StaticServer {
    StaticServer::serve(vec![("/", "text/html; charset=utf-8", PAGE.to_string())])
}

#[test]
fn a_script_drives_debians_chromium_against_a_local_page() {
    let server = server();
    let run = browser::run_script(&browser::script("selftest.mjs"), &server.url());
    let value = run.assert_ok();
    assert_eq!(value["title"], "Browser harness self-test");
    assert_eq!(value["out"], "after the alert");
    assert_eq!(value["external"], "refused", "only loopback is reachable");
    let agent = value["userAgent"].as_str().unwrap_or_default();
    assert!(agent.contains("Chrome/"), "{agent}");
    assert_eq!(run.dialogs().len(), 1, "the alert was recorded (and dismissed): {:?}", run.dialogs());
    assert_eq!(run.dialogs()[0]["message"], "an alert");
    assert!(run.blocked_requests().iter().any(|u| u.contains("example.invalid")), "{:?}", run.blocked_requests());
    assert!(run.page_errors().is_empty(), "{:?}", run.page_errors());
    let shots = run.screenshots();
    assert_eq!(shots.len(), 1);
    assert!(shots[0].starts_with(browser::screenshots_dir()), "{shots:?}");
    let png = std::fs::read(&shots[0]).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    assert_eq!(browser::setup().chromium, std::path::Path::new("/usr/bin/chromium"));
}

#[test]
fn a_failing_script_is_reported_with_its_error_and_a_screenshot() {
    let server = server();
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("failing.mjs");
    std::fs::write(
        &script,
        "export default async ({ page, baseUrl, assert }) => {\n\
           await page.goto(baseUrl + '/');\n\
           assert.equal(await page.textContent('h1'), 'another title');\n\
         };\n",
    )
    .expect("write the script");
    let options =
        RunOptions { name: Some("harness-failing".into()), timeout: Duration::from_secs(60), ..RunOptions::default() };
    let run = browser::run(&script, &server.url(), &options);
    assert!(!run.ok(), "{:?}", run.result);
    assert_eq!(run.status.and_then(|s| s.code()), Some(1));
    let error = run.result["error"].as_str().unwrap_or_default();
    assert!(error.contains("Browser harness") && error.contains("another title"), "{error}");
    assert!(run.screenshots().iter().any(|s| s.ends_with("harness-failing-failure.png")), "{:?}", run.result);
}

//! An exporter may look at the current call while it receives one: the runtime holds no
//! lock of the call when it hands the call over (one such lock, held, made this hang).
//! And an exporter that panics leaves the current context as it was.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use weave_core::export::{ExportItem, Exporter, FlushReport};
use weave_core::project::ProjectId;
use weave_core::runtime::{install, uninstall, Client};

/// The client is process-global: the tests here install theirs one at a time.
static ONE_CLIENT_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Renames the current call, if any, every time it receives an item.
#[derive(Default)]
struct RenamingExporter {
    items: Mutex<Vec<ExportItem>>,
}

impl Exporter for RenamingExporter {
    fn export(&self, item: ExportItem) {
        if let Some(call) = weave::current_call() {
            call.set_display_name("renamed by the exporter");
        }
        if let Ok(mut items) = self.items.lock() {
            items.push(item);
        }
    }

    fn flush(&self, _timeout: Duration) -> FlushReport {
        FlushReport { completed: true, ..FlushReport::default() }
    }

    fn shutdown(&self, _timeout: Duration) -> FlushReport {
        FlushReport { completed: true, ..FlushReport::default() }
    }
}

#[weave::op]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn an_exporter_that_touches_the_current_call_does_not_hang_the_op() {
    let _one = ONE_CLIENT_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let exporter = Arc::new(RenamingExporter::default());
    let project = ProjectId::parse("entity/project", "entity").expect("a valid project");
    let settings = weave::Settings { print_call_link: false, ..weave::Settings::default() };
    let _client = install(Client::new(project, settings, exporter.clone()));
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(add(1, 2));
    });
    let result = finished.recv_timeout(Duration::from_secs(20));
    let _ = uninstall(Duration::from_secs(5));
    assert_eq!(result, Ok(3), "the op returned (it hung while its call was exported)");
    let items = exporter.items.lock().map(|items| items.len()).unwrap_or(0);
    assert_eq!(items, 1, "the call was exported once");
}

/// Panics on every item it receives.
struct PanickingExporter;

impl Exporter for PanickingExporter {
    fn export(&self, _item: ExportItem) {
        panic!("this exporter panics");
    }

    fn flush(&self, _timeout: Duration) -> FlushReport {
        FlushReport { completed: true, ..FlushReport::default() }
    }

    fn shutdown(&self, _timeout: Duration) -> FlushReport {
        FlushReport { completed: true, ..FlushReport::default() }
    }
}

#[weave::op]
fn outer_of_a_panicking_export(a: u64) -> u64 {
    let inner = std::panic::catch_unwind(|| add(a, 1));
    assert!(inner.is_err(), "the exporter's panic reaches the caller");
    // The context was put back when the inner call's end panicked: this op is current.
    weave::current_call().map(|call| call.op_name().to_string()).map_or(0, |name| name.len() as u64)
}

#[test]
fn an_exporter_that_panics_leaves_the_context_as_it_was() {
    let _one = ONE_CLIENT_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let project = ProjectId::parse("entity/project", "entity").expect("a valid project");
    let settings = weave::Settings { print_call_link: false, ..weave::Settings::default() };
    let _client = install(Client::new(project, settings, Arc::new(PanickingExporter)));
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outer = std::panic::catch_unwind(|| outer_of_a_panicking_export(1));
        let _ = done.send((outer.is_err(), weave::current_call().is_none()));
    });
    let result = finished.recv_timeout(Duration::from_secs(20));
    let _ = uninstall(Duration::from_secs(5));
    // The outer op's own end panics in the exporter too; after it, no call is current.
    assert_eq!(result, Ok((true, true)));
}

//! [`StoreRefForm`]: how the store behind an exporter digests the refs inside values
//! ([`RefForm`]), once it is known. The local store knows at once (refs as written); the
//! Weave server sink learns its project's internal id at start-up, on the exporter's
//! worker, and code that publishes values holding refs waits for it, a bounded time.

use crate::refs::RefForm;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A [`RefForm`] that one side sets (the sink) and others wait for (publishers). Clones
/// share the value.
#[derive(Debug, Clone)]
pub struct StoreRefForm(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    value: Mutex<Option<Result<RefForm, String>>>,
    changed: Condvar,
}

impl StoreRefForm {
    /// Known at once.
    pub fn ready(form: RefForm) -> StoreRefForm {
        StoreRefForm(Arc::new(Inner { value: Mutex::new(Some(Ok(form))), changed: Condvar::new() }))
    }

    /// Not known yet: [`StoreRefForm::set`] tells it later.
    pub fn pending() -> StoreRefForm {
        StoreRefForm(Arc::new(Inner { value: Mutex::new(None), changed: Condvar::new() }))
    }

    /// Sets the form, or why it cannot be known (e.g. a server without
    /// `/service/projects_info`), and wakes the waiters.
    pub fn set(&self, form: Result<RefForm, String>) {
        *self.0.value.lock() = Some(form);
        self.0.changed.notify_all();
    }

    /// Sets why the form cannot be known now, unless it is known already (a later
    /// [`StoreRefForm::set`] still replaces it).
    pub fn fail_if_unknown(&self, why: String) {
        let mut value = self.0.value.lock();
        if value.is_none() {
            *value = Some(Err(why));
            self.0.changed.notify_all();
        }
    }

    /// The form, waiting at most `timeout` for it to be known.
    pub fn wait(&self, timeout: Duration) -> Result<RefForm, String> {
        let deadline = Instant::now().checked_add(timeout);
        let mut value = self.0.value.lock();
        loop {
            if let Some(known) = value.as_ref() {
                return known.clone();
            }
            let timed_out = match deadline {
                Some(deadline) => self.0.changed.wait_until(&mut value, deadline).timed_out(),
                None => {
                    self.0.changed.wait(&mut value);
                    false
                }
            };
            if timed_out && value.is_none() {
                return Err(format!("the store did not say how it digests refs within {timeout:?}"));
            }
        }
    }
}

impl Default for StoreRefForm {
    /// Refs as written, known at once.
    fn default() -> StoreRefForm {
        StoreRefForm::ready(RefForm::AsWritten)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_get_the_form_once_it_is_set_and_give_up_at_the_timeout() {
        let pending = StoreRefForm::pending();
        assert!(pending.wait(Duration::from_millis(10)).is_err());
        let setter = pending.clone();
        let thread = std::thread::spawn(move || setter.set(Ok(RefForm::internal("e/p", "abc"))));
        assert_eq!(pending.wait(Duration::from_secs(10)), Ok(RefForm::internal("e/p", "abc")));
        thread.join().unwrap();
        assert_eq!(StoreRefForm::default().wait(Duration::ZERO), Ok(RefForm::AsWritten));
    }
}

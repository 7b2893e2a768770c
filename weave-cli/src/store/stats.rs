//! Latency percentiles and error rates over a sample of calls.

use serde_json::{json, Value};

/// The `p`-th percentile (0–100) of sorted values, by the nearest-rank method.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Counts and latencies of a set of calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    /// Calls seen.
    pub calls: u64,
    /// Of which ended with an exception.
    pub errors: u64,
    /// Of which have not ended.
    pub running: u64,
    /// Latencies of the ended calls, milliseconds.
    latencies: Vec<f64>,
    /// The newest start, microseconds since the epoch.
    pub last_started_us: Option<i64>,
}

impl CallStats {
    /// Adds one call.
    pub fn add(&mut self, started_us: i64, ended_us: Option<i64>, failed: bool) {
        self.calls += 1;
        match ended_us {
            Some(ended) => self.latencies.push((ended - started_us).max(0) as f64 / 1000.0),
            None => self.running += 1,
        }
        if failed {
            self.errors += 1;
        }
        self.last_started_us = Some(self.last_started_us.map_or(started_us, |t| t.max(started_us)));
    }

    /// As JSON: `calls`, `errors`, `running`, `error_rate`, `p50_ms`, `p95_ms`.
    pub fn to_json(&self) -> Value {
        let mut sorted = self.latencies.clone();
        sorted.sort_by(f64::total_cmp);
        let ended = self.calls - self.running;
        json!({
            "calls": self.calls,
            "errors": self.errors,
            "running": self.running,
            "error_rate": (ended > 0).then(|| self.errors as f64 / ended as f64),
            "p50_ms": percentile(&sorted, 50.0),
            "p95_ms": percentile(&sorted, 95.0),
            "last_started_us": self.last_started_us,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 95.0), Some(95.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[1.0, 2.0], 0.0), Some(1.0));
    }

    #[test]
    fn error_rate_counts_ended_calls() {
        let mut stats = CallStats::default();
        stats.add(0, Some(2000), false);
        stats.add(0, Some(4000), true);
        stats.add(10, None, false);
        let json = stats.to_json();
        assert_eq!(json["calls"], 3);
        assert_eq!(json["error_rate"], 0.5);
        assert_eq!(json["p50_ms"], 2.0);
        assert_eq!(json["p95_ms"], 4.0);
        assert_eq!(json["last_started_us"], 10);
    }
}

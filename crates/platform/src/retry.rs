//! The one way every loop of the suite waits out a failure: delays that
//! double from a first to a longest one, each stretched by a random share
//! of itself (up to twice as long), so that replicas that failed together
//! — a database failover, a broker restart — do not retry in lockstep.
//! Built on `backon`'s exponential backoff.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// The delays before each retry of one failing step; [`Backoff::reset`]
/// once it passes.
#[derive(Debug)]
pub struct Backoff {
    schedule: ExponentialBuilder,
    delays: backon::ExponentialBackoff,
    longest: Duration,
}

impl Backoff {
    /// Delays from `first` doubling up to `longest`, each with jitter;
    /// never giving up (a caller that must stop has its own deadline or
    /// shutdown signal).
    pub fn new(first: Duration, longest: Duration) -> Self {
        let schedule = ExponentialBuilder::new()
            .with_min_delay(first)
            .with_max_delay(longest)
            .with_jitter()
            .without_max_times();
        Self {
            schedule,
            delays: schedule.build(),
            longest,
        }
    }

    /// How long to wait before the next try.
    pub fn next_delay(&mut self) -> Duration {
        // Without a limit on tries the schedule never ends; the fallback
        // is only for the type's sake.
        self.delays.next().unwrap_or(self.longest)
    }

    /// The step passed: the next failure waits the first delay again.
    pub fn reset(&mut self) {
        self.delays = self.schedule.build();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_longest_with_jitter_and_start_over_on_reset() {
        let (first, longest) = (Duration::from_millis(100), Duration::from_secs(10));
        let mut backoff = Backoff::new(first, longest);
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        for (i, delay) in delays.iter().enumerate() {
            let base = (first * 2u32.pow(i as u32)).min(longest);
            assert!(
                *delay >= base && *delay < base * 2,
                "try {i}: {delay:?} against {base:?}"
            );
        }
        backoff.reset();
        let again = backoff.next_delay();
        assert!(again >= first && again < first * 2, "{again:?}");
    }

    #[test]
    fn two_replicas_do_not_wait_alike() {
        let first = Duration::from_secs(1);
        let waits = |_| {
            let mut backoff = Backoff::new(first, Duration::from_secs(60));
            (0..5).map(|_| backoff.next_delay()).collect::<Vec<_>>()
        };
        let runs: Vec<Vec<Duration>> = (0..4).map(waits).collect();
        assert!(runs.windows(2).any(|w| w[0] != w[1]), "{runs:?}");
    }
}

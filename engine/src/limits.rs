//! Sliding-window limits on attempts: how failed sign-ins are slowed, sans-I/O.
//!
//! An [`Attempts`] holds the times of recent attempts against one key (a username, an
//! address). [`Attempts::take`] admits an attempt if fewer than `max` were made in the
//! last `seconds`, and records it; an attempt that then succeeds is given back
//! ([`Attempts::give_back`]), so what the window counts is failures (and attempts still
//! in flight, so a burst of concurrent guesses cannot slip past the limit together).
//! The shell stores an `Attempts` per key and answers a refusal with `429` and
//! `Retry-After`.

use alloc::vec::Vec;

/// At most `max` attempts per `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Window {
    /// Attempts allowed in the window.
    pub max: u32,
    /// The window's length.
    pub seconds: u64,
}

/// Failed sign-ins per username: 10 per 15 minutes.
pub const SIGN_IN_PER_USER: Window = Window {
    max: 10,
    seconds: 900,
};

/// Failed sign-ins per client address: 100 per 15 minutes.
pub const SIGN_IN_PER_ADDRESS: Window = Window {
    max: 100,
    seconds: 900,
};

/// Recent attempts against one key, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Attempts {
    /// When each counted attempt was made, Unix seconds.
    pub times: Vec<u64>,
}

impl Attempts {
    /// Admit and record an attempt at `now`, or refuse it with the seconds until one
    /// will be admitted again.
    pub fn take(&mut self, window: Window, now: u64) -> Result<(), u64> {
        self.times
            .retain(|t| t.saturating_add(window.seconds) > now && *t <= now);
        if self.times.len() >= window.max as usize {
            let oldest = self.times.first().copied().unwrap_or(now);
            return Err(oldest
                .saturating_add(window.seconds)
                .saturating_sub(now)
                .max(1));
        }
        self.times.push(now);
        Ok(())
    }

    /// Forget the attempt taken at `at`: it succeeded.
    pub fn give_back(&mut self, at: u64) {
        if let Some(i) = self.times.iter().rposition(|t| *t == at) {
            self.times.remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const W: Window = Window {
        max: 3,
        seconds: 60,
    };

    #[test]
    fn admits_up_to_max_in_the_window_then_says_when_to_retry() {
        let mut a = Attempts::default();
        for i in 0..3 {
            assert_eq!(a.take(W, NOW + i), Ok(()));
        }
        assert_eq!(
            a.take(W, NOW + 10),
            Err(50),
            "the oldest leaves the window at NOW+60"
        );
        assert_eq!(a.take(W, NOW + 59), Err(1));
        assert_eq!(a.take(W, NOW + 60), Ok(()), "one left the window");
        assert_eq!(a.times, [NOW + 1, NOW + 2, NOW + 60]);
    }

    #[test]
    fn successes_are_given_back_and_do_not_count() {
        let mut a = Attempts::default();
        for _ in 0..10 {
            a.take(W, NOW).expect("admitted");
            a.give_back(NOW);
        }
        assert!(a.times.is_empty());
        a.give_back(NOW); // nothing to give back: harmless
        assert_eq!(a.take(W, NOW), Ok(()));
    }

    #[test]
    fn a_clock_that_went_back_cannot_lock_anyone_out_for_long() {
        let mut a = Attempts {
            times: alloc::vec![NOW + 1000; 3],
        };
        assert_eq!(
            a.take(W, NOW),
            Ok(()),
            "attempts from the future are dropped"
        );
    }
}

//! Limits on attempts — sliding windows and backoff — and which ones a sign-in meets
//! ([`sign_in_limits`]), sans-I/O.
//!
//! An [`Attempts`] holds the times of recent attempts against one key (a username, an
//! address). [`Attempts::take`] admits an attempt if fewer than `max` were made in the
//! last `seconds`, and records it; an attempt that then succeeds is given back
//! ([`Attempts::give_back`]), so what the window counts is failures (and attempts still
//! in flight, so a burst of concurrent guesses cannot slip past the limit together).
//! The shell stores an `Attempts` per key and answers a refusal with `429` and
//! `Retry-After`.

use alloc::string::String;
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

/// Failed sign-ins per (username, client): 10 per 15 minutes. The client is the
/// device cookie of an earlier sign-in as that user when one is presented, otherwise
/// the address; this is the strict limit, and the only one a known client meets.
pub const SIGN_IN_PER_CLIENT: Window = Window {
    max: 10,
    seconds: 900,
};

/// Failed sign-ins per client address, whatever the names: 100 per 15 minutes (not
/// for a known client: a stranger at the same address cannot keep it out).
pub const SIGN_IN_PER_ADDRESS: Window = Window {
    max: 100,
    seconds: 900,
};

/// Failed sign-ins per username from clients it does not know, from anywhere: the
/// first 20 in 15 minutes freely, then each must wait twice as long after the last as
/// the one before it, up to 5 minutes. This slows a guesser spread over many addresses
/// and never locks the name: a known client does not meet it at all, and an unknown
/// one is let in again within minutes.
pub const SIGN_IN_PER_USER: Backoff = Backoff {
    free: 20,
    seconds: 900,
    max_wait: 300,
};

/// A loose limit: `free` attempts per `seconds`, then each attempt waits `2^k` seconds
/// after the latest (k = attempts beyond `free`, the wait at most `max_wait`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Backoff {
    /// Attempts with no wait in the window.
    pub free: u32,
    /// The window's length.
    pub seconds: u64,
    /// The longest wait between two attempts.
    pub max_wait: u64,
}

/// The limit a sign-in attempt is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Limit {
    /// A sliding window.
    Window(Window),
    /// A window then an exponential wait.
    Backoff(Backoff),
}

/// The limits a sign-in attempt as `username` is taken from, as (key, limit): a known
/// client (`device`: the id of its valid device cookie for this username) meets only
/// its own; any other meets the (username, address), address and username limits.
/// Keys carry their kind, so no username can name an address's limiter.
pub fn sign_in_limits(username: &str, address: &str, device: Option<&str>) -> Vec<(String, Limit)> {
    match device {
        Some(device) => alloc::vec![(
            alloc::format!("device:{device}\0{username}"),
            Limit::Window(SIGN_IN_PER_CLIENT),
        )],
        None => alloc::vec![
            (
                alloc::format!("client:{address}\0{username}"),
                Limit::Window(SIGN_IN_PER_CLIENT),
            ),
            (
                alloc::format!("address:{address}"),
                Limit::Window(SIGN_IN_PER_ADDRESS),
            ),
            (
                alloc::format!("user:{username}"),
                Limit::Backoff(SIGN_IN_PER_USER),
            ),
        ],
    }
}

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

    /// Admit and record an attempt at `now` under `limit`, or refuse it with the
    /// seconds until one will be admitted again.
    pub fn take_under(&mut self, limit: Limit, now: u64) -> Result<(), u64> {
        match limit {
            Limit::Window(window) => self.take(window, now),
            Limit::Backoff(backoff) => self.take_backoff(backoff, now),
        }
    }

    fn take_backoff(&mut self, b: Backoff, now: u64) -> Result<(), u64> {
        self.times
            .retain(|t| t.saturating_add(b.seconds) > now && *t <= now);
        let made = self.times.len() as u64;
        if let (Some(beyond), Some(&last)) =
            (made.checked_sub(u64::from(b.free)), self.times.last())
        {
            let wait = 1u64
                .checked_shl(beyond.min(63) as u32)
                .unwrap_or(u64::MAX)
                .min(b.max_wait);
            let since = now.saturating_sub(last);
            if since < wait {
                return Err(wait - since);
            }
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
    fn backoff_admits_the_free_attempts_then_doubles_the_wait_up_to_its_cap() {
        let b = Backoff {
            free: 3,
            seconds: 900,
            max_wait: 8,
        };
        let mut a = Attempts::default();
        for _ in 0..3 {
            assert_eq!(a.take_backoff(b, NOW), Ok(()));
        }
        // Beyond the free three: 1 s, then 2, 4, 8, 8 after the latest attempt.
        let mut t = NOW;
        for wait in [1, 2, 4, 8, 8, 8] {
            assert_eq!(a.take_backoff(b, t), Err(wait), "at {}", t - NOW);
            t += wait;
            assert_eq!(a.take_backoff(b, t), Ok(()));
        }
        // Never a lock: past the cap's wait, one more is always admitted.
        assert_eq!(a.take_backoff(b, t + 8), Ok(()));
        // And once the window has passed, the free attempts are back.
        let later = t + 8 + 900;
        for _ in 0..3 {
            assert_eq!(a.take_backoff(b, later), Ok(()));
        }
    }

    #[test]
    fn a_known_client_meets_only_its_own_limit() {
        let known = sign_in_limits("bob", "203.0.113.9", Some("dev-1"));
        assert_eq!(known.len(), 1);
        assert_eq!(known[0].1, Limit::Window(SIGN_IN_PER_CLIENT));
        let unknown = sign_in_limits("bob", "203.0.113.9", None);
        let keys: Vec<&str> = unknown.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["client:203.0.113.9\0bob", "address:203.0.113.9", "user:bob"]
        );
        assert_eq!(unknown[2].1, Limit::Backoff(SIGN_IN_PER_USER));
        // A username cannot name another kind's key.
        assert_ne!(sign_in_limits("address:x", "x", None)[2].0, "address:x");
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

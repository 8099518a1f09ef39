//! The denial log: every refused request is recorded, but no one can flood it.
//!
//! - Denials alike — one reason for one user, or one reason the license itself gives
//!   (expired, revoked, another product), whoever asked — within a minute
//!   ([`DENIAL_WINDOW_SECONDS`]) are one window: its first denial is an event at once,
//!   the rest one more event with their `count` when the window closes.
//! - A product the license does not cover is recorded as `*`, not as the name sent.
//! - At most [`MAX_OPEN_WINDOWS`] windows are open at once; beyond them a reason's
//!   denials for further users gather in one window for that reason (user `*`).
//! - At most [`DENIALS_PER_DAY`] denial events per license and UTC day; beyond that the
//!   day's denials are only counted ([`DenialLog::dropped_today`]).
//!
//! So a genuine license token sent a thousand times with invented names writes at most
//! a window's worth of events a minute, never more than the day's cap, and the stored
//! log stays a few dozen windows.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::events::{Changes, SeatDenial};
use super::log::{DENIAL_WINDOW_SECONDS, DenialLog, MAX_OPEN_WINDOWS, OTHER_PRODUCT, Window};
use super::model::SeatRequest;
use super::pool::Pool;
use crate::decision::DenyCode;

/// The window key of a reason's overflow: a control character, which no user's
/// identity holds, so it is never one user's window.
const OVERFLOW: &str = "\u{1}";

impl Pool {
    /// Record a refused request (see the module docs). Called for every refusal: the
    /// pool's own, and a license token the shell refused before asking the pool.
    pub fn refuse(
        &mut self,
        request: SeatRequest<'_>,
        denial: SeatDenial,
        now: u64,
        ch: &mut Changes,
    ) {
        self.close_denial_windows(now, ch);
        let reason = denial.as_str();
        let mut key = match denial {
            SeatDenial::License(_) => "",
            _ => request.user,
        };
        ch.denials = true;
        let log = &mut self.denial_log;
        let open = |log: &DenialLog, key: &str| {
            log.windows
                .iter()
                .position(|w| w.reason == reason && w.key == key)
        };
        let mut found = open(log, key);
        if found.is_none() && log.windows.len() >= MAX_OPEN_WINDOWS {
            key = OVERFLOW;
            found = open(log, key);
        }
        if let Some(i) = found {
            let w = &mut log.windows[i];
            w.repeats = w.repeats.saturating_add(1);
            return;
        }
        let overflow = key == OVERFLOW;
        let product = if denial == SeatDenial::License(DenyCode::WrongProduct) {
            OTHER_PRODUCT
        } else {
            request.product
        };
        let window = Window {
            reason: reason.to_string(),
            key: key.to_string(),
            opened: now,
            repeats: 0,
            product: product.to_string(),
            user: if overflow {
                OTHER_PRODUCT
            } else {
                request.user
            }
            .to_string(),
            host: if overflow { "" } else { request.host }.to_string(),
            installation: if overflow { "" } else { request.installation }.to_string(),
        };
        log.write(now, &window, 1, ch);
        log.windows.push(window);
    }

    /// Close the denial windows whose minute is over, writing one event for the
    /// denials each gathered after its first.
    pub(super) fn close_denial_windows(&mut self, now: u64, ch: &mut Changes) {
        let log = &mut self.denial_log;
        let (closed, open): (Vec<Window>, Vec<Window>) = log
            .windows
            .drain(..)
            .partition(|w| now >= w.opened + DENIAL_WINDOW_SECONDS);
        log.windows = open;
        if closed.is_empty() {
            return;
        }
        ch.denials = true;
        for w in closed.iter().filter(|w| w.repeats > 0) {
            log.write(w.opened + DENIAL_WINDOW_SECONDS, w, w.repeats, ch);
        }
    }

    /// The denial log, to store.
    pub fn denial_log(&self) -> &DenialLog {
        &self.denial_log
    }
}

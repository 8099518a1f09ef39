//! The denial log's state: the open windows of denials alike, and the day's count —
//! what a license object stores between requests. The rules that fill it are
//! `denials.rs`'s.

use alloc::string::String;
use alloc::vec::Vec;

use super::events::{Changes, SeatEventKind, Subject, event};
use crate::claims::DAY;

/// How long denials alike are gathered into one event, in seconds.
pub const DENIAL_WINDOW_SECONDS: u64 = 60;
/// Denial events a license records per UTC day.
pub const DENIALS_PER_DAY: u32 = 1_000;
/// What a denied request's product is recorded as when the license does not cover it,
/// and a denial's user when it was gathered into a reason's overflow window.
pub const OTHER_PRODUCT: &str = "*";
/// The most denial windows open at once: beyond them, denials of a reason for further
/// users gather into one window for that reason (user `*`), so invented names cannot
/// grow the stored log (at most about 150 KB with the longest names). A Monday-morning
/// rush of a few hundred users on a full license is still logged user by user.
pub const MAX_OPEN_WINDOWS: usize = 256;

/// One minute's denials alike.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(super) struct Window {
    pub(super) reason: String,
    /// The user the window is for; "" for a reason the license itself gives.
    pub(super) key: String,
    pub(super) opened: u64,
    /// Denials after the first, not yet written.
    pub(super) repeats: u32,
    pub(super) product: String,
    pub(super) user: String,
    pub(super) host: String,
    pub(super) installation: String,
}

/// The open windows and the day's count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DenialLog {
    pub(super) windows: Vec<Window>,
    /// The UTC day (Unix seconds / 86 400) the counts are for.
    day: u64,
    written: u32,
    dropped: u32,
}

impl DenialLog {
    /// When the next window closes (Unix seconds).
    pub fn next_close(&self) -> Option<u64> {
        self.windows
            .iter()
            .map(|w| w.opened + DENIAL_WINDOW_SECONDS)
            .min()
    }

    /// Denials not recorded today for the daily cap.
    pub fn dropped_today(&self, now: u64) -> u32 {
        if now / DAY == self.day {
            self.dropped
        } else {
            0
        }
    }

    /// Record a denial event standing for `count` requests, within the day's cap.
    pub(super) fn write(&mut self, at: u64, w: &Window, count: u32, ch: &mut Changes) {
        if at / DAY != self.day {
            self.day = at / DAY;
            self.written = 0;
            self.dropped = 0;
        }
        if self.written >= DENIALS_PER_DAY {
            self.dropped = self.dropped.saturating_add(count);
            return;
        }
        self.written += 1;
        let who = Subject {
            lease: None,
            product: &w.product,
            user: &w.user,
            host: &w.host,
            installation: &w.installation,
        };
        let mut e = event(at, SeatEventKind::Denied, who, Some(&w.reason));
        e.count = count;
        ch.events.push(e);
    }
}

//! [`LicenseSync`]: when a license's object talks to the rest of the system, sans-I/O.
//!
//! A license object owns its seats, but three things travel elsewhere, each on its own
//! schedule, and this module decides every one of them as a function of `now`:
//!
//! - **Reports** of who holds what, to the license's shard of the vault's roll-up: soon
//!   ([`REPORT_DELAY_MS`]) after a change of membership (a lease began or ended, a host
//!   joined or left), lazily after later expiries alone (a lease's length after the last
//!   report, since every ask for the deny state carries the holdings too), with backoff
//!   after failures. Each report carries `seq`, which grows with every change of
//!   holdings, so the shard keeps the newest.
//! - **The deny state** (blocks, disconnected products), never asked of the directory
//!   on an app's request. The directory delivers every change to the roll-up's shards,
//!   which push it to their licenses holding seats (a job of each, retried) and answer
//!   each report with the state when the license's copy is older; the directory also
//!   publishes each version to KV. A license holding seats uses the copy it was given
//!   for [`DENY_HELD_SECONDS`]; one holding none — nothing pushes to it — reads the published
//!   snapshot before it lends a seat. If that read fails, the held copy serves within
//!   [`DENY_GRACE_SECONDS`], read again at most every [`DENY_RETRY_SECONDS`]
//!   ([`deny_freshness`]).
//! - **The outbox** of seat events, to the event store: about [`SHIP_DELAY_MS`] after
//!   an event, retried with backoff ([`backoff_ms`]) until the store has them.
//!
//! The alarm is the one clock the object has: [`LicenseSync::schedule`] says when it
//! must next run (the earliest of the next session expiry, a report and a hand-over),
//! and only asks the shell to set it when that is earlier than the alarm already set.
//!
//! Times are Unix seconds (`now`) where they meet licenses and the deny state, and epoch
//! milliseconds (`now_ms`) where they meet the alarm. Nothing here reads a clock or
//! touches storage; the object's shell does both and calls in.

/// How soon after a change of who holds what the directory hears of it, in milliseconds.
pub const REPORT_DELAY_MS: u64 = 250;
/// The longest wait between two failed reports or hand-overs, in seconds.
pub const MAX_BACKOFF_SECONDS: u64 = 60;
/// How long a license object holding seats uses its copy of the deny state (pushed,
/// answered to a report, or read) before reading the published snapshot again, in
/// seconds: the bound on a change whose push is still pending or failed.
pub const DENY_HELD_SECONDS: u64 = 300;
/// How long past that the last deny state serves while the published snapshot cannot
/// be read, in seconds.
pub const DENY_GRACE_SECONDS: u64 = 300;
/// While the published snapshot cannot be read, how often it is read again, in seconds.
pub const DENY_RETRY_SECONDS: u64 = 5;
/// How stale a read of the published snapshot may be: KV's documented propagation
/// across locations (60 s), in seconds.
pub const DENY_PUBLISH_SECONDS: u64 = 60;
/// The longest a license may lend seats under a deny state older than the directory's:
/// held, then served within the grace, from a read as stale as KV's propagation.
pub const DENY_STALE_SECONDS: u64 = DENY_HELD_SECONDS + DENY_GRACE_SECONDS + DENY_PUBLISH_SECONDS;
/// How soon after an event the alarm hands it to the event store, in milliseconds.
pub const SHIP_DELAY_MS: u64 = 1000;
/// The soonest an alarm sets the next one, in milliseconds (local workerd drops an alarm
/// set for "now" from inside an alarm).
pub const MIN_REARM_MS: u64 = 1000;
/// How long an isolate trusts a license object's "not revoked" answer, in seconds: the
/// longest a revocation made through another isolate can go unseen by the online
/// validation there. A revocation, once seen, is kept for good.
pub const REVOCATION_FRESH_SECONDS: u64 = 5;

/// How long to wait after `failures` failed attempts in a row, in milliseconds: two
/// seconds after the first, doubling, at most [`MAX_BACKOFF_SECONDS`] (one second with
/// none, the delay a first attempt waits).
pub fn backoff_ms(failures: u32) -> u64 {
    (1u64 << failures.min(6)).min(MAX_BACKOFF_SECONDS) * 1000
}

/// Whether to use the deny state held, or read the published one (and whether the held
/// one may still serve if the read fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The copy held is fresh enough.
    Use,
    /// Read the published snapshot; if that fails, `fallback` says whether the copy
    /// held may still serve (true within the grace) or the request must fail.
    Read {
        /// The held copy may serve if the read fails.
        fallback: bool,
    },
}

/// The deny state's freshness rule. A license `holding` seats uses its copy until
/// `fresh_until` (the directory pushes it every change meanwhile); one holding none
/// reads the published snapshot before it lends a seat (nothing pushes to it). After a
/// failed read, the held copy serves within the grace, read again at most every
/// [`DENY_RETRY_SECONDS`] (`retry_at`). A state never delivered (`fresh_until` 0) has
/// no grace.
pub fn deny_freshness(now: u64, fresh_until: u64, retry_at: u64, holding: bool) -> Freshness {
    let in_grace = fresh_until > 0 && now < fresh_until.saturating_add(DENY_GRACE_SECONDS);
    if (holding && now < fresh_until) || (in_grace && now < retry_at) {
        Freshness::Use
    } else {
        Freshness::Read { fallback: in_grace }
    }
}

/// Whether an answer about a license's revocation, given at `asked_at`, still stands at
/// `now`: a revocation always (it is final), "not revoked" for
/// [`REVOCATION_FRESH_SECONDS`].
pub fn revocation_known(asked_at: u64, revoked: bool, now: u64) -> bool {
    revoked || now.saturating_sub(asked_at) < REVOCATION_FRESH_SECONDS
}

/// One license object's coordination state: what it reported, shipped and last heard,
/// and the alarm it set. Kept in memory by the object; only `seq` and `shipped` are
/// stored (the rest starts afresh, conservatively, after a restart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseSync {
    /// Grows with every change of holdings; reports carry it.
    seq: u64,
    /// The last `seq` the directory acknowledged.
    reported: u64,
    /// The `seq` of the last change of who holds what (not later expiries alone).
    membership: u64,
    /// When the directory last acknowledged a report (epoch ms).
    reported_at: u64,
    /// Failed reports in a row.
    report_failures: u32,
    /// The deny state is fresh until then (Unix seconds).
    deny_fresh_until: u64,
    /// While the directory cannot be reached: not asked again before then (seconds).
    deny_retry_at: u64,
    /// The alarm last set (epoch ms), while it is pending.
    alarm_at: Option<u64>,
    /// The `seq` of the last event logged.
    event_seq: u64,
    /// The `seq` of the last event the event store took.
    shipped: u64,
    /// Failed hand-overs in a row, and not to try again before then (epoch ms).
    ship_failures: u32,
    ship_retry_at: u64,
}

impl LicenseSync {
    /// The state after loading, as stored: `seq` and the `seq` of the last change of who
    /// holds what (`membership`, not a later expiry alone; 0 from stores from before it
    /// was kept, whose unacknowledged holdings then go at once as a lazy report), `shipped`, and `reported` — the last `seq` the directory acknowledged
    /// and when (epoch ms); `event_seq` the last event in the log. A change of who holds
    /// what the directory has not acknowledged is reported soon; later expiries alone
    /// wait their lazy interval from the acknowledgement; so an object the runtime
    /// evicted between two heartbeats and loads again costs the directory no call.
    /// Unshipped events are handed over.
    pub fn restore(
        (seq, membership): (u64, u64),
        event_seq: u64,
        shipped: u64,
        reported: (u64, u64),
    ) -> LicenseSync {
        LicenseSync {
            seq,
            reported: reported.0.min(seq),
            reported_at: reported.1,
            membership: membership.min(seq),
            event_seq,
            shipped,
            ..LicenseSync::default()
        }
    }

    /// The last `seq` the directory acknowledged, and when (epoch ms): stored, so a
    /// reload does not report again what it has.
    pub fn reported_seq(&self) -> (u64, u64) {
        (self.reported, self.reported_at)
    }

    /// The `seq` of the holdings now.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The `seq` of the last event logged.
    pub fn event_seq(&self) -> u64 {
        self.event_seq
    }

    /// The last event `seq` the event store took.
    pub fn shipped(&self) -> u64 {
        self.shipped
    }

    /// `events` more events were logged; returns the `seq` of the last.
    pub fn logged(&mut self, events: u64) -> u64 {
        self.event_seq += events;
        self.event_seq
    }

    /// The holdings changed (`membership`: beyond later expiries); returns the new
    /// `seq` to store.
    pub fn holdings_changed(&mut self, membership: bool) -> u64 {
        self.seq += 1;
        if membership {
            self.membership = self.seq;
        }
        self.seq
    }

    /// When later expiries alone are reported, if nothing reported them first (epoch
    /// ms): a lease's length after the last report. They move no seat and the directory
    /// shows them only as each lease's `expires_at`, so a heartbeat costs the directory
    /// no call.
    fn lazy_report_at(&self, lease_seconds: u32) -> u64 {
        self.reported_at + u64::from(lease_seconds) * 1000
    }

    /// When the alarm should next run (epoch ms): the earliest of the next session
    /// expiry (`next_expiry`, Unix seconds), a report due `report_delay_ms` after a
    /// change (later for expiries alone), and a hand-over of unshipped events.
    pub fn wake_at(
        &self,
        now_ms: u64,
        report_delay_ms: u64,
        next_expiry: Option<u64>,
        lease_seconds: u32,
    ) -> Option<u64> {
        let expiry = next_expiry.map(|t| t.saturating_mul(1000));
        let report = if self.membership > self.reported {
            Some(now_ms + report_delay_ms)
        } else if self.seq > self.reported {
            Some(
                self.lazy_report_at(lease_seconds)
                    .max(now_ms + report_delay_ms),
            )
        } else {
            None
        };
        let ship = (self.event_seq > self.shipped)
            .then(|| (now_ms + SHIP_DELAY_MS).max(self.ship_retry_at));
        [expiry, report, ship].into_iter().flatten().min()
    }

    /// After a request changed something: the alarm time the shell must set, if the one
    /// pending (if any) is later than needed. Setting an alarm is a storage write, so it
    /// is asked for only when it moves earlier.
    pub fn schedule(
        &mut self,
        now_ms: u64,
        next_expiry: Option<u64>,
        lease_seconds: u32,
    ) -> Option<u64> {
        let want = self.wake_at(now_ms, REPORT_DELAY_MS, next_expiry, lease_seconds)?;
        if self.alarm_at.is_some_and(|at| at <= want) {
            return None;
        }
        self.alarm_at = Some(want);
        Some(want)
    }

    /// The alarm is running: none is pending any more.
    pub fn alarm_started(&mut self) {
        self.alarm_at = None;
    }

    /// At the end of an alarm: when the next must run (epoch ms), backing reports off
    /// after failures, and never sooner than [`MIN_REARM_MS`].
    pub fn rearm(
        &mut self,
        now_ms: u64,
        next_expiry: Option<u64>,
        lease_seconds: u32,
    ) -> Option<u64> {
        let backoff = backoff_ms(self.report_failures);
        let want = self
            .wake_at(now_ms, backoff, next_expiry, lease_seconds)?
            .max(now_ms + MIN_REARM_MS);
        self.alarm_at = Some(want);
        Some(want)
    }

    /// Whether the alarm should report now: membership changed since the last report,
    /// or later expiries alone have waited their lazy interval.
    pub fn report_due(&self, now_ms: u64, lease_seconds: u32) -> bool {
        self.membership > self.reported
            || (self.seq > self.reported && now_ms >= self.lazy_report_at(lease_seconds))
    }

    /// The directory took the holdings as of `seq` (a report, or a pull carrying them).
    pub fn reported(&mut self, seq: u64, now_ms: u64) {
        self.reported = self.reported.max(seq);
        self.reported_at = now_ms;
    }

    /// A report succeeded: the backoff starts over.
    pub fn report_succeeded(&mut self, seq: u64, now_ms: u64) {
        self.reported(seq, now_ms);
        self.report_failures = 0;
    }

    /// A report failed: the alarm backs off further.
    pub fn report_failed(&mut self) {
        self.report_failures = self.report_failures.saturating_add(1);
    }

    /// Whether to use the deny state held at `now` or read the published one, for a
    /// license `holding` seats or not (see [`deny_freshness`]).
    pub fn deny_freshness(&self, now: u64, holding: bool) -> Freshness {
        deny_freshness(now, self.deny_fresh_until, self.deny_retry_at, holding)
    }

    /// The deny state as of `now` arrived (pushed, answered to a report, or read): held
    /// for [`DENY_HELD_SECONDS`].
    pub fn deny_delivered(&mut self, now: u64) {
        self.deny_fresh_until = now + DENY_HELD_SECONDS;
    }

    /// The published snapshot could not be read at `now`; the held copy serves
    /// meanwhile.
    pub fn deny_unreachable(&mut self, now: u64) {
        self.deny_retry_at = now + DENY_RETRY_SECONDS;
    }

    /// Whether unshipped events may be handed over now.
    pub fn ship_due(&self, now_ms: u64) -> bool {
        self.event_seq > self.shipped && now_ms >= self.ship_retry_at
    }

    /// The event store took every event up to `last`.
    pub fn shipped_up_to(&mut self, last: u64) {
        self.shipped = self.shipped.max(last);
        self.ship_failures = 0;
        self.ship_retry_at = 0;
    }

    /// A hand-over failed at `now_ms`: not tried again before the backoff.
    pub fn ship_failed(&mut self, now_ms: u64) {
        self.ship_failures = self.ship_failures.saturating_add(1);
        self.ship_retry_at = now_ms + backoff_ms(self.ship_failures);
    }
}

#[cfg(test)]
mod tests;

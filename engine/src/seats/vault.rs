//! The vault directory's rules, sans-I/O: how many users it may block, how long a
//! "revoke all" mark matters, which roll-up shard keeps a license, how many licenses a
//! change tells at once and when a report is answered with the deny state, which report
//! of a license wins, and how free seats are counted.

use super::model::MAX_LEASE_SECONDS;
use super::sync::DENY_STALE_SECONDS;
use crate::error::Error;

/// Most users one directory keeps blocked (each license holds a copy of the list).
pub const MAX_BLOCKS: u64 = 10_000;
/// Allowance for clocks that disagree between objects, in seconds.
pub const CLOCK_SKEW: u64 = 10;

/// Whether one more user may be blocked, with `blocked` blocked now (`already`: this
/// user is one of them, which changes nothing).
pub fn check_block(blocked: u64, already: bool) -> Result<(), Error> {
    if already || blocked < MAX_BLOCKS {
        Ok(())
    } else {
        Err(Error::Conflict(
            "the vault already blocks as many users as it can; unblock some first",
        ))
    }
}

/// "Revoke all" marks made before this time no longer matter at `now`: a mark matters
/// only while a lease that began before it can still be held by a license whose copy
/// of the deny state predates it — the longest lease, plus the longest a copy may be
/// stale ([`DENY_STALE_SECONDS`]), plus clock skew.
pub fn revoke_marks_expire_before(now: u64) -> u64 {
    now.saturating_sub(u64::from(MAX_LEASE_SECONDS) + DENY_STALE_SECONDS + CLOCK_SKEW)
}

/// Licenses a roll-up shard's job tells per batch (16 at a time).
pub const PUSH_BATCH: usize = 64;

/// How many objects keep the roll-up. Fixed for a deployment's life: a license always
/// reports to the same shard (changing it would need the holdings moved, as the move
/// out of the directory does).
pub const ROLLUP_SHARDS: u32 = 8;

/// The shard that keeps license `lid`'s holdings: FNV-1a of its id, modulo the shards.
pub fn rollup_shard(lid: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in lid.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % ROLLUP_SHARDS
}

/// Licenses each shard tells of a change before the API answers, beyond those holding
/// the leases it ends: a change tells about [`PUSH_BATCH`] in all before it answers, and
/// reports the rest as `pending` for the shards' jobs.
pub const DELIVER_FIRST: usize = PUSH_BATCH / ROLLUP_SHARDS as usize;

/// What a report's answer carries: the deny state when the license's copy
/// (`license_version`) is older than the directory's (`version`), else nothing.
pub fn deny_for_report(license_version: u64, version: u64) -> bool {
    license_version < version
}

/// Whether a license's report numbered `seq` replaces the one stored (numbered
/// `stored`, if any): reports arrive in any order, and an older one never wins.
pub fn report_is_current(stored: Option<u64>, seq: u64) -> bool {
    stored.is_none_or(|stored| seq >= stored)
}

/// Free seats of a product: its seats less those allocated within them (a lease beyond
/// the seats, billed as overage, takes none).
pub fn free_seats(seats: u64, allocated: u64, overage: u64) -> u64 {
    seats.saturating_sub(allocated.saturating_sub(overage))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_stop_at_the_cap_but_blocking_again_is_harmless() {
        assert!(check_block(0, false).is_ok());
        assert!(check_block(MAX_BLOCKS - 1, false).is_ok());
        assert!(matches!(
            check_block(MAX_BLOCKS, false),
            Err(Error::Conflict(_))
        ));
        assert!(check_block(MAX_BLOCKS, true).is_ok());
    }

    #[test]
    fn a_revoke_all_mark_outlives_the_longest_lease() {
        let now = 1_800_000_000;
        let cut = revoke_marks_expire_before(now);
        assert_eq!(
            now - cut,
            u64::from(MAX_LEASE_SECONDS) + DENY_STALE_SECONDS + CLOCK_SKEW
        );
        assert_eq!(revoke_marks_expire_before(5), 0);
    }

    #[test]
    fn a_report_is_answered_with_the_state_only_when_its_copy_is_older() {
        assert!(deny_for_report(0, 1));
        assert!(deny_for_report(4, 7));
        assert!(!deny_for_report(7, 7));
        assert!(!deny_for_report(8, 7), "a copy never goes back");
    }

    #[test]
    fn an_older_report_never_replaces_a_newer_one() {
        assert!(report_is_current(None, 0));
        assert!(report_is_current(Some(3), 3), "the same report again");
        assert!(report_is_current(Some(3), 4));
        assert!(!report_is_current(Some(4), 3));
    }

    #[test]
    fn overage_takes_no_free_seat() {
        assert_eq!(free_seats(5, 2, 0), 3);
        assert_eq!(free_seats(5, 7, 2), 0);
        assert_eq!(free_seats(5, 6, 2), 1);
        assert_eq!(free_seats(0, 3, 3), 0);
    }
}

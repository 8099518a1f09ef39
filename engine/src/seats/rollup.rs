//! The vault's roll-up, sharded, sans-I/O: which shard keeps a license's holdings, and
//! how the vault's reads merge the shards' answers into one.
//!
//! Each license reports to one shard (`vault::rollup_shard`), so the roll-up's write
//! load (reports) spreads over `vault::ROLLUP_SHARDS` objects. A read asks every shard and merges:
//! sums per product, a user's leases gathered from every shard, and pages merged by
//! key. A shard answers a page with its first `limit` keys after the cursor; the first
//! `limit` keys over all shards are among those, so a merged page is exact — also for
//! users, whose leases may sit in several shards (a user among the first `limit`
//! overall is among the first `limit` of every shard holding them).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use super::model::DenyState;
use super::vault::free_seats;
#[cfg(test)]
use super::vault::{ROLLUP_SHARDS, rollup_shard};
use crate::api::{ActiveUser, DirectoryStatus, HeldLease, LicenseSeats, Page, ProductSeats};

/// Most items a page of the vault lists.
pub const MAX_PAGE: u32 = 1000;

/// A page's size as asked, within 1 and [`MAX_PAGE`].
pub fn page_limit(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE)
}

/// The products over every shard: their sums, free seats counted once summed, every
/// disconnected product listed (seats or not) and marked as such.
pub fn merge_products(shards: Vec<Vec<ProductSeats>>, deny: &DenyState) -> Vec<ProductSeats> {
    let mut merged: BTreeMap<String, ProductSeats> = BTreeMap::new();
    for p in shards.into_iter().flatten() {
        match merged.get_mut(&p.product) {
            Some(m) => {
                m.seats += p.seats;
                m.licenses += p.licenses;
                m.allocated += p.allocated;
                m.overage += p.overage;
            }
            None => {
                merged.insert(p.product.clone(), p);
            }
        }
    }
    for product in &deny.disconnected {
        merged
            .entry(product.clone())
            .or_insert_with(|| ProductSeats {
                product: product.clone(),
                seats: 0,
                allocated: 0,
                free: 0,
                overage: 0,
                licenses: 0,
                connected: false,
            });
    }
    merged
        .into_values()
        .map(|mut p| {
            p.free = free_seats(p.seats, p.allocated, p.overage);
            p.connected = !deny.disconnected.contains(&p.product);
            p
        })
        .collect()
}

/// Pages from every shard as one page of at most `limit` items in key order; items of
/// the same key (a user in several shards) are folded by `fold`. Answers the items and
/// whether more follow the last one.
fn merge_pages<T>(
    pages: Vec<Page<T>>,
    limit: u32,
    key: impl Fn(&T) -> &str,
    mut fold: impl FnMut(&mut T, T),
) -> (Vec<T>, bool) {
    let mut more = pages.iter().any(|p| p.next_cursor.is_some());
    let mut items: Vec<T> = pages.into_iter().flat_map(|p| p.items).collect();
    items.sort_by(|a, b| key(a).cmp(key(b)));
    let mut merged: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match merged.last_mut() {
            Some(last) if key(last) == key(&item) => fold(last, item),
            _ => merged.push(item),
        }
    }
    let limit = page_limit(limit) as usize;
    if merged.len() > limit {
        merged.truncate(limit);
        more = true;
    }
    (merged, more)
}

/// One page of a product's licenses over every shard (a license is in one shard), with
/// `cursor` made from the last license's id when more follow.
pub fn merge_license_pages(
    pages: Vec<Page<LicenseSeats>>,
    limit: u32,
    cursor: impl Fn(&str) -> String,
) -> Page<LicenseSeats> {
    let (items, more) = merge_pages(pages, limit, |l| l.lid.as_str(), |_, _| {});
    let next_cursor = more.then(|| items.last().map(|l| cursor(&l.lid))).flatten();
    Page { items, next_cursor }
}

/// One page of the users holding seats over every shard: a user's leases summed and
/// products joined across shards, `blocked` from the deny state.
pub fn merge_user_pages(
    pages: Vec<Page<ActiveUser>>,
    limit: u32,
    deny: &DenyState,
    cursor: impl Fn(&str) -> String,
) -> Page<ActiveUser> {
    let (mut items, more) = merge_pages(
        pages,
        limit,
        |u| u.user.as_str(),
        |into, other| {
            into.leases += other.leases;
            into.products.extend(other.products);
        },
    );
    for user in &mut items {
        let products: BTreeSet<String> = core::mem::take(&mut user.products).into_iter().collect();
        user.products = products.into_iter().collect();
        user.blocked = deny.blocked.contains(&user.user);
    }
    let next_cursor = more
        .then(|| items.last().map(|u| cursor(&u.user)))
        .flatten();
    Page { items, next_cursor }
}

/// A user's leases over every shard, oldest first.
pub fn merge_leases(shards: Vec<Vec<HeldLease>>) -> Vec<HeldLease> {
    let mut leases: Vec<HeldLease> = shards.into_iter().flatten().collect();
    leases.sort_by(|a, b| (a.since, &a.lease).cmp(&(b.since, &b.lease)));
    leases
}

/// The directory's status with its shards': the backlog summed (licenses not told the
/// version their shard holds), shards still holding an older version than the
/// directory's, and calls summed by kind since the earliest count began.
pub fn merge_status(directory: DirectoryStatus, shards: Vec<DirectoryStatus>) -> DirectoryStatus {
    let mut status = directory;
    status.shards = shards.len() as u64;
    for shard in shards {
        status.behind += shard.behind;
        if shard.deny_version < status.deny_version {
            status.shards_behind += 1;
        }
        for (kind, n) in shard.calls {
            *status.calls.entry(kind).or_default() += n;
        }
        if shard.since > 0 && (status.since == 0 || shard.since < status.since) {
            status.since = shard.since;
        }
    }
    status
}

#[cfg(test)]
mod tests;

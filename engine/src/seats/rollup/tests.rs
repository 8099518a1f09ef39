use alloc::string::ToString;
use alloc::vec;

use super::*;

fn product(name: &str, seats: u64, licenses: u64, allocated: u64, overage: u64) -> ProductSeats {
    ProductSeats {
        product: name.to_string(),
        seats,
        allocated,
        free: free_seats(seats, allocated, overage),
        overage,
        licenses,
        connected: true,
    }
}

fn license(lid: &str) -> LicenseSeats {
    LicenseSeats {
        lid: lid.to_string(),
        product: "cad".to_string(),
        company: "Acme".to_string(),
        seats: 2,
        allocated: 1,
        free: 1,
        revoked: false,
        ends_at: 0,
        max_sessions: 1,
    }
}

fn user(name: &str, leases: u64, products: &[&str]) -> ActiveUser {
    ActiveUser {
        user: name.to_string(),
        leases,
        products: products.iter().map(|p| p.to_string()).collect(),
        blocked: false,
    }
}

fn page<T>(items: Vec<T>, more: bool) -> Page<T> {
    Page {
        items,
        next_cursor: more.then(|| "x".to_string()),
    }
}

fn key(k: &str) -> String {
    alloc::format!("after:{k}")
}

#[test]
fn shards_spread_licenses_and_never_move_one() {
    let mut per_shard = [0u32; ROLLUP_SHARDS as usize];
    for n in 0..8_000 {
        let lid = alloc::format!("lic_{n:08x}");
        let shard = rollup_shard(&lid);
        assert_eq!(shard, rollup_shard(&lid), "a license keeps its shard");
        per_shard[shard as usize] += 1;
    }
    // 1,000 each on average: no shard gets under 800 or over 1,200.
    assert!(
        per_shard.iter().all(|&n| (800..=1_200).contains(&n)),
        "{per_shard:?}"
    );
    assert_eq!(rollup_shard(""), 0x811c_9dc5 % ROLLUP_SHARDS);
}

#[test]
fn products_sum_over_shards_and_count_free_seats_once_summed() {
    let deny = DenyState {
        disconnected: ["viewer".to_string()].into(),
        ..DenyState::default()
    };
    let merged = merge_products(
        vec![
            vec![product("cad", 5, 1, 7, 2), product("viewer", 3, 1, 0, 0)],
            vec![product("cad", 4, 2, 1, 0)],
            vec![],
        ],
        &deny,
    );
    assert_eq!(
        merged,
        vec![
            ProductSeats {
                product: "cad".to_string(),
                seats: 9,
                allocated: 8,
                // 8 leases, 2 of them overage: 6 within 9 seats.
                free: 3,
                overage: 2,
                licenses: 3,
                connected: true,
            },
            ProductSeats {
                connected: false,
                ..product("viewer", 3, 1, 0, 0)
            },
        ]
    );
}

#[test]
fn a_disconnected_product_no_shard_knows_is_listed() {
    let deny = DenyState {
        disconnected: ["gone".to_string()].into(),
        ..DenyState::default()
    };
    let merged = merge_products(vec![vec![], vec![]], &deny);
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].product, "gone");
    assert!(!merged[0].connected);
    assert_eq!((merged[0].seats, merged[0].free), (0, 0));
}

#[test]
fn license_pages_merge_in_key_order_and_stop_at_the_limit() {
    let merged = merge_license_pages(
        vec![
            page(vec![license("a"), license("d")], false),
            page(vec![license("b"), license("c")], false),
        ],
        3,
        key,
    );
    let lids: Vec<&str> = merged.items.iter().map(|l| l.lid.as_str()).collect();
    assert_eq!(lids, ["a", "b", "c"]);
    assert_eq!(merged.next_cursor.as_deref(), Some("after:c"));

    let all = merge_license_pages(
        vec![
            page(vec![license("b")], false),
            page(vec![license("a")], false),
        ],
        3,
        key,
    );
    assert_eq!(all.items.len(), 2);
    assert_eq!(all.next_cursor, None, "nothing follows");
}

#[test]
fn a_shard_with_more_keeps_the_merged_page_open() {
    let merged = merge_license_pages(
        vec![
            page(vec![license("a"), license("b")], true),
            page(vec![], false),
        ],
        2,
        key,
    );
    assert_eq!(merged.next_cursor.as_deref(), Some("after:b"));
}

#[test]
fn a_user_in_several_shards_is_one_row_with_every_lease() {
    let deny = DenyState {
        blocked: ["bob".to_string()].into(),
        ..DenyState::default()
    };
    let merged = merge_user_pages(
        vec![
            page(
                vec![user("ann", 1, &["cad"]), user("bob", 2, &["viewer", "cad"])],
                false,
            ),
            page(
                vec![user("bob", 1, &["cad"]), user("cy", 1, &["cad"])],
                false,
            ),
        ],
        2,
        &deny,
        key,
    );
    assert_eq!(
        merged.items,
        vec![
            user("ann", 1, &["cad"]),
            ActiveUser {
                blocked: true,
                ..user("bob", 3, &["cad", "viewer"])
            },
        ]
    );
    assert_eq!(merged.next_cursor.as_deref(), Some("after:bob"));
}

#[test]
fn page_limits_are_bounded() {
    assert_eq!(page_limit(0), 1);
    assert_eq!(page_limit(50), 50);
    assert_eq!(page_limit(1_000_000), MAX_PAGE);
}

#[test]
fn status_sums_the_shards_backlog_and_calls() {
    let directory = DirectoryStatus {
        deny_version: 7,
        published_version: 7,
        since: 100,
        calls: [("disconnect".to_string(), 1)].into(),
        ..DirectoryStatus::default()
    };
    let shard = |version, behind, since, reports| DirectoryStatus {
        deny_version: version,
        behind,
        since,
        calls: [("report".to_string(), reports)].into(),
        ..DirectoryStatus::default()
    };
    let status = merge_status(directory, vec![shard(7, 3, 90, 5), shard(6, 1, 0, 2)]);
    assert_eq!(status.shards, 2);
    assert_eq!(status.shards_behind, 1);
    assert_eq!(status.behind, 4);
    assert_eq!(status.since, 90);
    assert_eq!(status.calls.get("report"), Some(&7));
    assert_eq!(status.calls.get("disconnect"), Some(&1));
}

#[test]
fn a_change_adds_what_each_shard_reached() {
    let mut change = crate::api::VaultChange::default();
    change.add(&crate::api::VaultChange {
        ended: 2,
        licenses: 3,
        unreachable: 0,
        pending: 5,
    });
    change.add(&crate::api::VaultChange {
        ended: 1,
        licenses: 1,
        unreachable: 1,
        pending: 0,
    });
    assert_eq!(
        change,
        crate::api::VaultChange {
            ended: 3,
            licenses: 4,
            unreachable: 1,
            pending: 5,
        }
    );
}

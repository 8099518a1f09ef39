//! What a license object hands others: the vault's view of its pool, and its events as
//! the event store takes them (the spans each opens and closes are the engine's rule).

use tessera_engine::api::{LicensePool, LicenseSeats};
use tessera_engine::{Pool, SpanEdge, license_span_edge};

use super::protocol::held;
use super::store::EventRow;

/// The vault's view of a pool at `now`.
pub(super) fn pool_view(pool: &Pool, now: u64) -> LicensePool {
    let terms = pool.terms();
    let snapshot = pool.snapshot();
    let revoked = pool.revocation().is_some();
    let leases = snapshot
        .holdings
        .into_iter()
        .map(|h| held(&terms.lid, &terms.company, h))
        .collect();
    LicensePool {
        lid: terms.lid.clone(),
        company: terms.company.clone(),
        revoked,
        seats: terms.seats,
        lease_seconds: terms.lease_seconds,
        ends_at: terms.ends_at(),
        products: terms
            .products
            .iter()
            .map(|p| {
                let allocated = u64::from(pool.allocated(p));
                LicenseSeats {
                    lid: terms.lid.clone(),
                    product: p.clone(),
                    company: terms.company.clone(),
                    seats: u64::from(terms.seats),
                    allocated,
                    free: u64::from(terms.seats).saturating_sub(allocated),
                    revoked,
                    ends_at: terms.ends_at(),
                    max_sessions: terms.max_sessions,
                }
            })
            .collect(),
        leases,
        max_sessions: terms.max_sessions,
        max_machines: terms.max_machines,
        activations_per_day: terms.activations_per_day,
        machines: pool.machines().len() as u64,
        denials_suppressed_today: pool.denial_log().dropped_today(now),
    }
}

/// The event store's rows for a license's events: the events with their ids, and the
/// spans they open and close (the engine's rule).
pub(super) fn outbox_batch(lid: &str, company: &str, found: Vec<EventRow>) -> crate::events::Batch {
    let mut batch = crate::events::Batch::default();
    for row in found {
        let id = format!("t:{lid}:{}", row.seq);
        let e = row.event();
        if let Some(lease) = &e.lease {
            match license_span_edge(e.kind) {
                Some(SpanEdge::Opens) => batch.opened.push(tessera_engine::OpenSpan {
                    key: lease.clone(),
                    server: String::new(),
                    product: e.product.clone(),
                    user: e.user.clone(),
                    host: e.host.clone(),
                    start: e.at,
                }),
                Some(SpanEdge::Closes) => batch.closed.push(tessera_engine::Close {
                    key: lease.clone(),
                    at: e.at,
                    by: id.clone(),
                }),
                None => {}
            }
        }
        batch.events.push(crate::events::StoredEvent {
            id,
            at: e.at,
            kind: e.kind.as_str().to_string(),
            product: e.product,
            user: e.user,
            host: e.host,
            lid: Some(lid.to_string()),
            company: Some(company.to_string()),
            lease: e.lease,
            reason: e.reason,
            server: None,
            count: e.count,
        });
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A license's outbox rows: each event with its id, a grant opening its lease's
    /// span, an end closing it by that event, a refresh or denial touching no span.
    #[test]
    fn the_outbox_opens_and_closes_spans_by_lease() {
        let row = |seq: u64, kind: &str, lease: Option<&str>| EventRow::for_test(seq, kind, lease);
        let batch = outbox_batch(
            "L1",
            "Acme",
            vec![
                row(1, "granted", Some("L1.a")),
                row(2, "refreshed", Some("L1.a")),
                row(3, "denied", None),
                row(4, "expired", Some("L1.a")),
            ],
        );
        let ids: Vec<&str> = batch.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["t:L1:1", "t:L1:2", "t:L1:3", "t:L1:4"]);
        assert_eq!(batch.opened.len(), 1);
        assert_eq!(
            (
                batch.opened[0].key.as_str(),
                batch.opened[0].server.as_str()
            ),
            ("L1.a", "")
        );
        assert_eq!(batch.closed.len(), 1);
        assert_eq!(
            (batch.closed[0].key.as_str(), batch.closed[0].by.as_str()),
            ("L1.a", "t:L1:4")
        );
        assert!(
            batch
                .events
                .iter()
                .all(|e| e.lid.as_deref() == Some("L1") && e.company.as_deref() == Some("Acme"))
        );
    }
}

//! `VaultDirectory`: the licence vault's one directory (a SQLite-backed Durable Object
//! named `vault`), the home of two things.
//!
//! 1. **The deny state**, authoritative: blocked users, disconnected products, and
//!    "revoke all" marks, with a version that grows on every change. Licence objects
//!    keep a copy and ask for it again ([`pull`]) when theirs is older than
//!    [`DENY_REFRESH_SECONDS`]; the directory remembers who asked. A change is written
//!    here first, then pushed to every licence that asked within that interval and to
//!    every licence holding a lease it ends, before the API answers. So a licence
//!    lending seats always has the current state, or gets it within the interval if a
//!    push failed (the answer counts those as `unreachable`). Deliveries are versioned:
//!    a late one never replaces a newer state, so a block is never undone.
//! 2. **A roll-up of who holds what**, for the vault's reads (free and allocated seats
//!    per product, a user's leases, active users) without asking every licence. Licence
//!    objects [`report`] their holdings after each change (their alarm, a quarter of a
//!    second later, retried until it lands); each report carries a `seq` and an older
//!    one is ignored. The roll-up lags the licences by about that much. An expired lease
//!    leaves it when its licence's alarm has expired it.
//!
//! Tables: `licences` (one row per licence: terms, revoked, the last `seq`, until when
//! its deny state is fresh), `coverage` (licence × product → seats), `holdings` (one row
//! per lease), `blocks`, `disconnected`, `revoked_before`, `meta` (the deny version).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tessera_engine::api::{
    ActiveUser, BlockView, DisconnectedView, HeldLease, LicenceSeats, Page, ProductSeats,
    VaultChange,
};
use tessera_engine::{DenyState, Holding, MAX_LEASE_SECONDS, PoolSnapshot};
use worker::{
    DurableObject, Env, Request, Response, SqlStorage, SqlStorageValue, State, durable_object,
};

use super::licence::{Applied, LicenceCall, Licences};
use super::sql::{int, rows, run, text};
use crate::error::ApiError;
use crate::platform;

/// The binding of the directory (see `wrangler.toml`).
pub(crate) const BINDING: &str = "DIRECTORY";
/// The directory's one object.
const NAME: &str = "vault";
/// How long a licence object may use its copy of the deny state before asking again.
/// A change reaches every licence that asked within this interval at once; any other
/// licence asks before it lends a seat.
pub(crate) const DENY_REFRESH_SECONDS: u64 = 30;
/// Allowance for clocks that disagree between objects, in seconds.
const CLOCK_SKEW: u64 = 10;
/// Licences told of a change at once.
const FAN_OUT: usize = 16;
/// Most users one directory keeps blocked (each licence holds a copy of the list).
pub(crate) const MAX_BLOCKS: u64 = 10_000;

/// What the directory can be asked.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum DirectoryCall {
    /// A licence's holdings, and a request for the deny state.
    Pull {
        seq: u64,
        snapshot: PoolSnapshot,
    },
    /// A licence's holdings.
    Report {
        seq: u64,
        snapshot: PoolSnapshot,
    },
    Products,
    ProductLicences {
        product: String,
        cursor: Option<String>,
        limit: u32,
    },
    Users {
        search: Option<String>,
        cursor: Option<String>,
        limit: u32,
    },
    UserLeases {
        user: String,
    },
    RevokeUser {
        user: String,
        block: bool,
        by: String,
    },
    Unblock {
        user: String,
    },
    Disconnect {
        product: String,
        by: String,
    },
    Connect {
        product: String,
    },
    Blocks,
    Disconnected,
}

/// The answer to a pull.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DenyAnswer {
    pub(crate) deny: DenyState,
    /// Seconds the licence may use it before asking again.
    pub(crate) fresh_for: u64,
}

/// The vault's directory.
#[durable_object(fetch)]
pub struct VaultDirectory {
    env: Env,
    sql: SqlStorage,
}

impl core::fmt::Debug for VaultDirectory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VaultDirectory").finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS licences (
  lid TEXT PRIMARY KEY, company TEXT NOT NULL, seats INTEGER NOT NULL, ends_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL, seq INTEGER NOT NULL, fresh_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS licences_fresh ON licences (fresh_until);
CREATE TABLE IF NOT EXISTS coverage (product TEXT NOT NULL, lid TEXT NOT NULL, PRIMARY KEY (product, lid));
CREATE TABLE IF NOT EXISTS holdings (
  lease TEXT PRIMARY KEY, lid TEXT NOT NULL, product TEXT NOT NULL, user TEXT NOT NULL,
  hosts TEXT NOT NULL, since INTEGER NOT NULL, expires_at INTEGER NOT NULL, overage INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS holdings_by_user ON holdings (user);
CREATE INDEX IF NOT EXISTS holdings_by_lid ON holdings (lid);
CREATE INDEX IF NOT EXISTS holdings_by_product ON holdings (product, lid);
CREATE TABLE IF NOT EXISTS blocks (user TEXT PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS disconnected (product TEXT PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked_before (user TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

impl DurableObject for VaultDirectory {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            worker::console_error!("directory schema: {e}");
        }
        VaultDirectory { env, sql }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        super::serve(req, |call: DirectoryCall| self.handle(call)).await
    }
}

#[derive(Deserialize)]
struct SeqRow {
    seq: u64,
}

#[derive(Deserialize)]
struct LidRow {
    lid: String,
}

#[derive(Deserialize)]
struct HoldingRow {
    lease: String,
    lid: String,
    company: String,
    product: String,
    user: String,
    hosts: String,
    since: u64,
    expires_at: u64,
    overage: u64,
}

impl HoldingRow {
    fn view(self) -> HeldLease {
        let hosts: Vec<String> = serde_json::from_str(&self.hosts).unwrap_or_default();
        super::licence::held(
            &self.lid,
            &self.company,
            Holding {
                lease: self.lease,
                product: self.product,
                user: self.user,
                hosts,
                since: self.since,
                expires_at: self.expires_at,
                overage: self.overage != 0,
            },
        )
    }
}

#[derive(Deserialize)]
struct ByRow {
    name: String,
    at: u64,
    by: String,
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// An opaque page cursor: the last key of the previous page, base64url.
fn decode_cursor(cursor: Option<&str>) -> String {
    use base64::Engine as _;
    cursor
        .and_then(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

fn encode_cursor(key: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// `%`, `_` and `\` taken literally in a LIKE pattern.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl VaultDirectory {
    async fn handle(&self, call: DirectoryCall) -> Result<serde_json::Value, ApiError> {
        let now = platform::now();
        match call {
            DirectoryCall::Pull { seq, snapshot } => {
                self.take(seq, &snapshot)?;
                run(
                    &self.sql,
                    "UPDATE licences SET fresh_until = ? WHERE lid = ?",
                    vec![int(now + DENY_REFRESH_SECONDS), text(&snapshot.lid)],
                )?;
                to_value(&DenyAnswer {
                    deny: self.deny_state()?,
                    fresh_for: DENY_REFRESH_SECONDS,
                })
            }
            DirectoryCall::Report { seq, snapshot } => {
                self.take(seq, &snapshot)?;
                to_value(&())
            }
            DirectoryCall::Products => to_value(&self.products()?),
            DirectoryCall::ProductLicences {
                product,
                cursor,
                limit,
            } => to_value(&self.product_licences(&product, cursor.as_deref(), limit)?),
            DirectoryCall::Users {
                search,
                cursor,
                limit,
            } => to_value(&self.users(search.as_deref(), cursor.as_deref(), limit)?),
            DirectoryCall::UserLeases { user } => to_value(&self.user_leases(&user)?),
            DirectoryCall::RevokeUser { user, block, by } => {
                if block {
                    let blocked = self.count("SELECT COUNT(*) AS seq FROM blocks")?;
                    let already = !rows::<SeqRow>(
                        &self.sql,
                        "SELECT 1 AS seq FROM blocks WHERE user = ?",
                        vec![text(&user)],
                    )?
                    .is_empty();
                    if !already && blocked >= MAX_BLOCKS {
                        return Err(ApiError::Conflict(
                            "the vault already blocks as many users as it can; unblock some first",
                        ));
                    }
                    run(
                        &self.sql,
                        "INSERT OR IGNORE INTO blocks (user, at, by) VALUES (?, ?, ?)",
                        vec![text(&user), int(now), text(&by)],
                    )?;
                }
                run(
                    &self.sql,
                    "INSERT OR REPLACE INTO revoked_before (user, at) VALUES (?, ?)",
                    vec![text(&user), int(now)],
                )?;
                let affected = self.lids(
                    "SELECT DISTINCT lid FROM holdings WHERE user = ?",
                    vec![text(&user)],
                )?;
                to_value(&self.change(now, affected).await?)
            }
            DirectoryCall::Unblock { user } => {
                run(
                    &self.sql,
                    "DELETE FROM blocks WHERE user = ?",
                    vec![text(&user)],
                )?;
                to_value(&self.change(now, BTreeSet::new()).await?)
            }
            DirectoryCall::Disconnect { product, by } => {
                run(
                    &self.sql,
                    "INSERT OR IGNORE INTO disconnected (product, at, by) VALUES (?, ?, ?)",
                    vec![text(&product), int(now), text(&by)],
                )?;
                let affected = self.lids(
                    "SELECT DISTINCT lid FROM holdings WHERE product = ?",
                    vec![text(&product)],
                )?;
                to_value(&self.change(now, affected).await?)
            }
            DirectoryCall::Connect { product } => {
                run(
                    &self.sql,
                    "DELETE FROM disconnected WHERE product = ?",
                    vec![text(&product)],
                )?;
                to_value(&self.change(now, BTreeSet::new()).await?)
            }
            DirectoryCall::Blocks => to_value(
                &self
                    .named(
                        "SELECT user AS name, at, by FROM blocks ORDER BY user",
                        vec![],
                    )?
                    .into_iter()
                    .map(|r| BlockView {
                        user: r.name,
                        at: r.at,
                        by: r.by,
                    })
                    .collect::<Vec<_>>(),
            ),
            DirectoryCall::Disconnected => to_value(
                &self
                    .named(
                        "SELECT product AS name, at, by FROM disconnected ORDER BY product",
                        vec![],
                    )?
                    .into_iter()
                    .map(|r| DisconnectedView {
                        product: r.name,
                        at: r.at,
                        by: r.by,
                    })
                    .collect::<Vec<_>>(),
            ),
        }
    }

    fn count(&self, query: &str) -> Result<u64, ApiError> {
        Ok(rows::<SeqRow>(&self.sql, query, vec![])?
            .first()
            .map_or(0, |r| r.seq))
    }

    fn named(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<Vec<ByRow>, ApiError> {
        rows(&self.sql, query, args)
    }

    fn lids(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<BTreeSet<String>, ApiError> {
        Ok(rows::<LidRow>(&self.sql, query, args)?
            .into_iter()
            .map(|r| r.lid)
            .collect())
    }

    /// Take a licence's report, unless a newer one is already here.
    fn take(&self, seq: u64, s: &PoolSnapshot) -> Result<(), ApiError> {
        let stored = rows::<SeqRow>(
            &self.sql,
            "SELECT seq FROM licences WHERE lid = ?",
            vec![text(&s.lid)],
        )?;
        if stored.first().is_some_and(|r| r.seq > seq) {
            return Ok(());
        }
        // `revoked` only ever goes from 0 to 1, whatever order reports arrive in.
        run(
            &self.sql,
            "INSERT INTO licences (lid, company, seats, ends_at, revoked, seq) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (lid) DO UPDATE SET company = excluded.company, seats = excluded.seats,
               ends_at = excluded.ends_at, revoked = MAX(revoked, excluded.revoked), seq = excluded.seq",
            vec![
                text(&s.lid),
                text(&s.company),
                int(u64::from(s.seats)),
                int(s.ends_at),
                int(u64::from(s.revoked)),
                int(seq),
            ],
        )?;
        run(
            &self.sql,
            "DELETE FROM coverage WHERE lid = ?",
            vec![text(&s.lid)],
        )?;
        for product in &s.products {
            run(
                &self.sql,
                "INSERT OR IGNORE INTO coverage (product, lid) VALUES (?, ?)",
                vec![text(product), text(&s.lid)],
            )?;
        }
        run(
            &self.sql,
            "DELETE FROM holdings WHERE lid = ?",
            vec![text(&s.lid)],
        )?;
        for h in &s.holdings {
            let hosts =
                serde_json::to_string(&h.hosts).map_err(|e| ApiError::Internal(e.to_string()))?;
            run(
                &self.sql,
                "INSERT OR REPLACE INTO holdings (lease, lid, product, user, hosts, since, expires_at, overage)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    text(&h.lease),
                    text(&s.lid),
                    text(&h.product),
                    text(&h.user),
                    text(&hosts),
                    int(h.since),
                    int(h.expires_at),
                    int(u64::from(h.overage)),
                ],
            )?;
        }
        Ok(())
    }

    fn deny_state(&self) -> Result<DenyState, ApiError> {
        let version = self.count("SELECT value AS seq FROM meta WHERE key = 'deny_version'")?;
        let blocked = self.named("SELECT user AS name, at, by FROM blocks", vec![])?;
        let disconnected =
            self.named("SELECT product AS name, at, by FROM disconnected", vec![])?;
        let revoked = self.named(
            "SELECT user AS name, at, '' AS by FROM revoked_before",
            vec![],
        )?;
        Ok(DenyState {
            version,
            blocked: blocked.into_iter().map(|r| r.name).collect(),
            disconnected: disconnected.into_iter().map(|r| r.name).collect(),
            revoked_before: revoked
                .into_iter()
                .map(|r| (r.name, r.at))
                .collect::<BTreeMap<_, _>>(),
        })
    }

    /// After a change of the deny state (already written): bump its version, then push
    /// it to every licence using its copy now and to `affected`, and take their new
    /// holdings.
    async fn change(
        &self,
        now: u64,
        mut affected: BTreeSet<String>,
    ) -> Result<VaultChange, ApiError> {
        // A "revoke all" mark matters only while a lease that began before it can still
        // be held without its licence asking again: the longest lease, plus the refresh.
        run(
            &self.sql,
            "DELETE FROM revoked_before WHERE at < ?",
            vec![int(now.saturating_sub(
                u64::from(MAX_LEASE_SECONDS) + DENY_REFRESH_SECONDS + CLOCK_SKEW,
            ))],
        )?;
        run(
            &self.sql,
            "INSERT INTO meta (key, value) VALUES ('deny_version', 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1",
            vec![],
        )?;
        let deny = self.deny_state()?;
        affected.extend(self.lids(
            "SELECT lid FROM licences WHERE fresh_until + ? > ?",
            vec![int(CLOCK_SKEW), int(now)],
        )?);
        let licences = Licences::new(&self.env);
        let mut outcome = VaultChange::default();
        let mut answers = futures_util::stream::iter(affected.into_iter().map(|lid| {
            let licences = &licences;
            let deny = deny.clone();
            async move {
                let answer: Result<Applied, ApiError> =
                    licences.ask(&lid, LicenceCall::Apply { deny }).await;
                (lid, answer)
            }
        }))
        .buffer_unordered(FAN_OUT);
        while let Some((lid, answer)) = answers.next().await {
            match answer {
                Ok(applied) => {
                    outcome.licenses += 1;
                    outcome.ended += applied.ended;
                    self.take(applied.seq, &applied.snapshot)?;
                    run(
                        &self.sql,
                        "UPDATE licences SET fresh_until = ? WHERE lid = ?",
                        vec![int(now + DENY_REFRESH_SECONDS), text(&lid)],
                    )?;
                }
                Err(e) => {
                    worker::console_warn!("licence {lid} did not take the deny state now: {e:?}");
                    outcome.unreachable += 1;
                }
            }
        }
        Ok(outcome)
    }

    fn products(&self) -> Result<Vec<ProductSeats>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            product: String,
            seats: u64,
            licenses: u64,
            allocated: u64,
            overage: u64,
            disconnected: u64,
        }
        let now = platform::now();
        let found: Vec<Row> = rows(
            &self.sql,
            "WITH products AS (SELECT product FROM coverage UNION SELECT product FROM holdings
                               UNION SELECT product FROM disconnected),
                  live AS (SELECT c.product, l.seats FROM coverage c JOIN licences l ON l.lid = c.lid
                           WHERE l.revoked = 0 AND l.ends_at > ?),
                  held AS (SELECT product, COUNT(*) AS n, SUM(overage) AS o FROM holdings GROUP BY product)
             SELECT p.product,
                    COALESCE((SELECT SUM(seats) FROM live WHERE live.product = p.product), 0) AS seats,
                    (SELECT COUNT(*) FROM live WHERE live.product = p.product) AS licenses,
                    COALESCE(held.n, 0) AS allocated, COALESCE(held.o, 0) AS overage,
                    EXISTS (SELECT 1 FROM disconnected d WHERE d.product = p.product) AS disconnected
             FROM products p LEFT JOIN held ON held.product = p.product
             ORDER BY p.product",
            vec![int(now)],
        )?;
        Ok(found
            .into_iter()
            .map(|r| ProductSeats {
                free: r
                    .seats
                    .saturating_sub(r.allocated.saturating_sub(r.overage)),
                product: r.product,
                seats: r.seats,
                allocated: r.allocated,
                overage: r.overage,
                licenses: r.licenses,
                connected: r.disconnected == 0,
            })
            .collect())
    }

    fn product_licences(
        &self,
        product: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<LicenceSeats>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            lid: String,
            company: String,
            seats: u64,
            ends_at: u64,
            revoked: u64,
            allocated: u64,
        }
        let limit = u64::from(limit.clamp(1, 1000));
        let after = decode_cursor(cursor);
        let found: Vec<Row> = rows(
            &self.sql,
            "SELECT l.lid, l.company, l.seats, l.ends_at, l.revoked,
                    (SELECT COUNT(*) FROM holdings h WHERE h.lid = l.lid AND h.product = c.product) AS allocated
             FROM coverage c JOIN licences l ON l.lid = c.lid
             WHERE c.product = ? AND l.lid > ? ORDER BY l.lid LIMIT ?",
            vec![text(product), text(&after), int(limit + 1)],
        )?;
        let more = found.len() as u64 > limit;
        let items: Vec<LicenceSeats> = found
            .into_iter()
            .take(limit as usize)
            .map(|r| LicenceSeats {
                free: r.seats.saturating_sub(r.allocated),
                product: product.to_string(),
                lid: r.lid,
                company: r.company,
                seats: r.seats,
                allocated: r.allocated,
                revoked: r.revoked != 0,
                ends_at: r.ends_at,
            })
            .collect();
        let next_cursor = if more {
            items.last().map(|r| encode_cursor(&r.lid))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    fn users(
        &self,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<ActiveUser>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            user: String,
            leases: u64,
            products: String,
            blocked: u64,
        }
        let limit = u64::from(limit.clamp(1, 1000));
        let after = decode_cursor(cursor);
        let pattern = like_literal(search.unwrap_or(""));
        let found: Vec<Row> = rows(
            &self.sql,
            "SELECT h.user, COUNT(*) AS leases, json_group_array(DISTINCT h.product) AS products,
                    EXISTS (SELECT 1 FROM blocks b WHERE b.user = h.user) AS blocked
             FROM holdings h WHERE h.user > ? AND h.user LIKE ? ESCAPE '\\'
             GROUP BY h.user ORDER BY h.user LIMIT ?",
            vec![text(&after), text(&pattern), int(limit + 1)],
        )?;
        let more = found.len() as u64 > limit;
        let items: Vec<ActiveUser> = found
            .into_iter()
            .take(limit as usize)
            .map(|r| ActiveUser {
                products: serde_json::from_str(&r.products).unwrap_or_default(),
                user: r.user,
                leases: r.leases,
                blocked: r.blocked != 0,
            })
            .collect();
        let next_cursor = if more {
            items.last().map(|u| encode_cursor(&u.user))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    fn user_leases(&self, user: &str) -> Result<Vec<HeldLease>, ApiError> {
        let found: Vec<HoldingRow> = rows(
            &self.sql,
            "SELECT h.lease, h.lid, COALESCE(l.company, '') AS company, h.product, h.user, h.hosts,
                    h.since, h.expires_at, h.overage
             FROM holdings h LEFT JOIN licences l ON l.lid = h.lid
             WHERE h.user = ? ORDER BY h.since, h.lease",
            vec![text(user)],
        )?;
        Ok(found.into_iter().map(HoldingRow::view).collect())
    }
}

/// The directory's stub.
fn stub(env: &Env) -> Result<worker::Stub, ApiError> {
    Ok(env
        .durable_object(BINDING)?
        .id_from_name(NAME)?
        .get_stub()?)
}

/// Ask the directory.
pub(crate) async fn ask<T: for<'de> Deserialize<'de>>(
    env: &Env,
    call: DirectoryCall,
) -> Result<T, ApiError> {
    super::call(stub(env)?, &call).await
}

/// A licence object's report of its holdings.
pub(crate) async fn report(env: &Env, seq: u64, snapshot: PoolSnapshot) -> Result<(), ApiError> {
    ask(env, DirectoryCall::Report { seq, snapshot }).await
}

/// A licence object's request for the deny state (with its holdings).
pub(crate) async fn pull(
    env: &Env,
    seq: u64,
    snapshot: PoolSnapshot,
) -> Result<DenyAnswer, ApiError> {
    ask(env, DirectoryCall::Pull { seq, snapshot }).await
}

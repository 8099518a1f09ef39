//! `LicenseObject`: one license's live state, in one SQLite-backed Durable Object per
//! `lid` — its seat terms, its revocation, its leases and its seat events.
//!
//! The object is a thin shell: it loads the engine's [`Pool`] once (then keeps it in
//! memory), asks the engine, writes exactly the engine's [`Changes`] with synchronous
//! SQL (`store.rs`; no `.await` between deciding and writing, so one request's
//! check-and-write commits as one), and does what the engine's [`LicenseSync`] schedules:
//! set the alarm, report who holds what to its roll-up shard, read the deny state,
//! hand seat events over to the event store. Two requests can never both take the last
//! seat: the decision and the write happen in one synchronous run.
//!
//! - `protocol.rs`: the calls, the answers, and the worker's client ([`Licenses`]).
//! - `store.rs`: the tables and every statement.
//! - `views.rs`: the vault's view of the pool, and the events as the event store takes
//!   them.
//!
//! The event log is also an outbox: the alarm hands events over to the event store
//! (D1, [`events`](crate::events)) in order, in batches, and only then marks them
//! shipped. Each event's id there is `t:<lid>:<seq>`, written with `INSERT OR IGNORE`,
//! so a hand-over repeated after a lost answer or a restart stores nothing twice; a
//! failed one is retried with backoff and nothing unshipped is ever pruned.
//!
//! The alarm also expires sessions when their time comes (the seat frees itself with no
//! request to the license) and reports to its roll-up shard; every request expires what is
//! due first too (alarms are at least once, and local workerd drops some). Before a
//! checkout or heartbeat, the object makes sure its copy of the vault's deny state is
//! fresh by the engine's rule, reading the directory's published snapshot (KV) when it
//! is not — never calling the directory on an app's request. The roll-up's shards push
//! every change to the objects holding seats and answer each report with a newer state,
//! so a block applies where seats are in use without any app request asking.

pub(crate) mod protocol;
mod store;
mod views;

use std::cell::RefCell;

use tessera_engine::Store as _;
use tessera_engine::sync::{Freshness, LicenseSync};
use tessera_engine::{
    ActivationRefused, Changes, DenyCode, Gone as PoolGone, MachineDetails, Pool, SeatDenial,
    SeatEventKind, SeatRequest,
};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use self::protocol::{Activated, Applied, Beat, Envelope, Granted, Heartbeat, LicenseCall};
use self::store::Store;
use self::views::{outbox_batch, pool_view};
use crate::error::{ApiError, Gone};
use crate::objects::directory::protocol as directory;
use crate::objects::rollup::protocol as rollup;
use crate::objects::shell::{answer, opaque_debug, serve};
use crate::platform;
use crate::proof::Seen;

/// Events per hand-over, and hand-overs per alarm.
const SHIP_BATCH: u64 = 500;
const SHIP_BATCHES_PER_ALARM: usize = 8;

/// The loaded state of the object.
struct Live {
    pool: Pool,
    /// Whether the terms are the license's (false: stand-ins until it is opened).
    known: bool,
    sync: LicenseSync,
}

/// One license's live state.
#[durable_object(alarm)]
pub struct LicenseObject {
    state: State,
    env: Env,
    store: Store,
    live: RefCell<Option<Live>>,
    /// The license id, once known (to load the state again after a failed write).
    lid: RefCell<String>,
}

opaque_debug!(LicenseObject);

impl DurableObject for LicenseObject {
    fn new(state: State, env: Env) -> Self {
        let store = Store::open(state.storage().sql());
        LicenseObject {
            state,
            env,
            store,
            live: RefCell::new(None),
            lid: RefCell::new(String::new()),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |envelope: Envelope| self.handle(envelope)).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        if let Err(e) = self.wake().await {
            worker::console_error!("license alarm: {e:?}");
        }
        Response::ok("")
    }
}

impl LicenseObject {
    async fn handle(&self, envelope: Envelope) -> Result<serde_json::Value, ApiError> {
        let now = platform::now();
        self.load(&envelope.lid)?;
        match envelope.call {
            LicenseCall::Open { terms } => {
                self.set_terms(terms)?;
                // The vault counts a license's seats from the moment it is issued.
                self.report().await?;
                answer(&())
            }
            LicenseCall::Revocation => answer(&self.with(|l| l.pool.revocation().cloned())?),
            #[cfg(feature = "bench")]
            LicenseCall::BenchWrite => answer(&self.store.bench_write(now)?),
            LicenseCall::Revoke { by } => {
                self.change(|pool, ch| pool.revoke(&by, now, ch))?;
                self.report().await?;
                answer(&self.with(|l| l.pool.revocation().cloned())?)
            }
            LicenseCall::Checkout {
                terms,
                product,
                user,
                host,
                installation,
                lease_id,
                refused,
                proof,
            } => {
                let request = SeatRequest {
                    product: &product,
                    user: &user,
                    host: &host,
                    installation: &installation,
                };
                self.admit(terms, &proof, refused, request, now)?;
                self.fresh_deny(now).await?;
                let checkout =
                    self.change(|pool, ch| pool.checkout(request, &lease_id, now, ch))?;
                let c = checkout.map_err(ApiError::Seat)?;
                answer(&Granted {
                    beat: self.beat(c.lease, c.session)?,
                    created: c.created,
                })
            }
            LicenseCall::Heartbeat {
                lease,
                product,
                user,
                installation,
                generation,
                key,
                proof,
            } => {
                self.store.remember_proof(&proof, now)?;
                self.fresh_deny(now).await?;
                let request = SeatRequest {
                    product: &product,
                    user: &user,
                    host: "",
                    installation: &installation,
                };
                let beat = self.change(|pool, ch| {
                    pool.heartbeat(&lease, request, generation, key.as_deref(), now, ch)
                })?;
                answer(&match beat {
                    Ok(c) => Heartbeat::Beat(Box::new(self.beat(c.lease, c.session)?)),
                    Err(PoolGone::CloneDetected) => Heartbeat::Gone {
                        why: Gone::CloneDetected,
                    },
                    Err(PoolGone::Ended) => {
                        let reason = self.store.end_reason(&lease, &installation)?;
                        let why = match reason.as_deref() {
                            Some("CLONE_DETECTED") => Gone::CloneDetected,
                            _ => Gone::Revoked,
                        };
                        Heartbeat::Gone { why }
                    }
                })
            }
            LicenseCall::Release {
                lease,
                product,
                user,
                installation,
                proof,
            } => {
                self.store.remember_proof(&proof, now)?;
                let request = SeatRequest {
                    product: &product,
                    user: &user,
                    host: "",
                    installation: &installation,
                };
                self.change(|pool, ch| pool.release(&lease, request, now, ch))?;
                answer(&())
            }
            LicenseCall::Activate {
                terms,
                installation,
                name,
                platform,
                fingerprint,
                machine_id,
                refused,
                proof,
            } => {
                let request = SeatRequest {
                    product: "",
                    user: "",
                    host: &name,
                    installation: &installation,
                };
                self.admit(terms, &proof, refused, request, now)?;
                let details = MachineDetails {
                    name: &name,
                    platform: &platform,
                    fingerprint: &fingerprint,
                };
                let activated = self.change(|pool, ch| {
                    pool.activate(&installation, details, &machine_id, now, ch)
                })?;
                match activated {
                    Ok(a) => answer(&Activated {
                        machine: a.machine,
                        created: a.created,
                    }),
                    Err(ActivationRefused::Denied(denial)) => Err(ApiError::Seat(denial)),
                    Err(ActivationRefused::TooManyActivations { retry_after }) => {
                        Err(ApiError::TooManyActivations(retry_after))
                    }
                }
            }
            LicenseCall::Deactivate {
                machine,
                installation,
                proof,
            } => {
                if let Some(proof) = &proof {
                    self.store.remember_proof(proof, now)?;
                }
                // A machine deactivates only itself; an administrator any machine.
                let owner = self.with(|l| {
                    l.pool
                        .machine_by_id(&machine)
                        .map(|m| m.installation.clone())
                })?;
                if owner.is_none() || installation.is_some_and(|i| owner.as_deref() != Some(&*i)) {
                    return Err(ApiError::NotFound("machine".into()));
                }
                let gone = self.change(|pool, ch| pool.deactivate(&machine, now, ch))?;
                self.report().await?;
                answer(&gone)
            }
            LicenseCall::Machines { cursor, limit } => {
                let page = self.with(|l| self.store.machines(&l.pool, cursor.as_deref(), limit))?;
                answer(&page)
            }
            LicenseCall::RevokeLease { lease, user } => {
                let ended = self.change(|pool, ch| pool.revoke_lease(&lease, &user, now, ch))?;
                if ended.is_some() {
                    self.report().await?;
                }
                answer(&ended.is_some())
            }
            LicenseCall::Apply { deny } => {
                let ended = self.change(|pool, ch| {
                    pool.apply_deny(deny, now, ch);
                    ch.events
                        .iter()
                        .filter(|e| e.kind == SeatEventKind::Revoked)
                        .count() as u64
                })?;
                // Pushed by its roll-up shard, which pushes every change while this
                // license holds seats.
                self.with_mut(|l| l.sync.deny_delivered(now))?;
                let (seq, snapshot, version) =
                    self.with(|l| (l.sync.seq(), l.pool.snapshot(), l.pool.deny().version))?;
                answer(&Applied {
                    ended,
                    seq,
                    snapshot,
                    version,
                })
            }
            LicenseCall::State => {
                self.change(|pool, ch| pool.sweep(now, ch))?;
                answer(&self.with(|l| pool_view(&l.pool, now))?)
            }
            LicenseCall::Events {
                kind,
                before,
                limit,
            } => answer(&self.store.events(kind, before, limit)?),
        }
    }

    /// A lease and one host's session, with how often to heartbeat.
    fn beat(
        &self,
        lease: tessera_engine::Lease,
        session: tessera_engine::Session,
    ) -> Result<Beat, ApiError> {
        Ok(Beat {
            lease,
            session,
            heartbeat_seconds: self.with(|l| l.pool.terms().heartbeat_seconds())?,
        })
    }

    /// Read the loaded state, loading it again first if a failed write dropped it
    /// (perhaps while this request awaited something).
    fn with<T>(&self, f: impl FnOnce(&Live) -> T) -> Result<T, ApiError> {
        self.reload()?;
        let live = self.live.borrow();
        live.as_ref()
            .map(f)
            .ok_or_else(|| ApiError::Internal("license state not loaded".into()))
    }

    /// Change the loaded state (see [`with`](Self::with)).
    fn with_mut<T>(&self, f: impl FnOnce(&mut Live) -> T) -> Result<T, ApiError> {
        self.reload()?;
        let mut live = self.live.borrow_mut();
        live.as_mut()
            .map(f)
            .ok_or_else(|| ApiError::Internal("license state not loaded".into()))
    }

    fn reload(&self) -> Result<(), ApiError> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let lid = self.lid.borrow().clone();
        self.load(&lid)
    }

    /// Load the pool from SQL, once per object lifetime (or after a failed write).
    fn load(&self, lid: &str) -> Result<(), ApiError> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let loaded = self.store.load(lid)?;
        let known = loaded.pool.terms.is_some();
        let sync = LicenseSync::restore(
            (loaded.seq, loaded.membership),
            loaded.event_seq,
            loaded.shipped,
            loaded.reported,
        );
        let unshipped = sync.event_seq() > sync.shipped();
        *self.lid.borrow_mut() = lid.to_string();
        *self.live.borrow_mut() = Some(Live {
            pool: Pool::restore(lid, loaded.pool),
            known,
            sync,
        });
        // Events logged before a restart and not yet handed over: the alarm takes them.
        if unshipped {
            self.schedule()?;
        }
        Ok(())
    }

    /// The start of a call the app's license token vouches for: the license's terms
    /// are set when the object first hears of it, the proof is spent (a replay is
    /// refused), and a refusal the worker found in the license itself is logged as a
    /// denial and answered.
    fn admit(
        &self,
        terms: tessera_engine::SeatTerms,
        proof: &Seen,
        refused: Option<DenyCode>,
        request: SeatRequest<'_>,
        now: u64,
    ) -> Result<(), ApiError> {
        if !self.with(|l| l.known)? {
            self.set_terms(terms)?;
        }
        self.store.remember_proof(proof, now)?;
        if let Some(code) = refused {
            let denial = SeatDenial::License(code);
            self.change(|pool, ch| pool.refuse(request, denial, now, ch))?;
            return Err(ApiError::Seat(denial));
        }
        Ok(())
    }

    fn set_terms(&self, terms: tessera_engine::SeatTerms) -> Result<(), ApiError> {
        self.store.set_terms(&terms)?;
        self.with_mut(|l| {
            l.pool.set_terms(terms);
            l.known = true;
        })
    }

    /// Run one engine operation and write what it changed, synchronously: no other
    /// request runs between the decision and the write. A failed write drops the
    /// in-memory state: it is loaded again from what was stored before its next use.
    fn change<T>(&self, op: impl FnOnce(&mut Pool, &mut Changes) -> T) -> Result<T, ApiError> {
        let mut ch = Changes::default();
        let out = self.with_mut(|l| op(&mut l.pool, &mut ch))?;
        if ch.is_empty() {
            return Ok(out);
        }
        let written = self.with_mut(|l| {
            let event_seq = l.sync.event_seq();
            l.sync.logged(ch.events.len() as u64);
            let seq = ch
                .holdings_changed()
                .then(|| l.sync.holdings_changed(ch.membership_changed()));
            self.store.persist(&l.pool, &ch, event_seq, seq)
        })?;
        if let Err(e) = written {
            *self.live.borrow_mut() = None;
            return Err(e);
        }
        self.schedule()?;
        Ok(out)
    }

    /// Make sure the alarm runs when the schedule wants it. Setting it is a storage
    /// operation, done in the background: the answer does not wait for it, and a request
    /// that fails to set it still has its seat (the next request sets it again).
    fn schedule(&self) -> Result<(), ApiError> {
        let now_ms = worker::Date::now().as_millis();
        let Some(at) = self.with_mut(|l| {
            let (expiry, lease) = (l.pool.next_due(), l.pool.terms().lease_seconds);
            l.sync.schedule(now_ms, expiry, lease)
        })?
        else {
            return Ok(());
        };
        let storage = self.state.storage();
        self.state.wait_until(async move {
            if let Err(e) = storage.set_alarm(alarm_time(at)).await {
                worker::console_error!("license alarm not set: {e}");
            }
        });
        Ok(())
    }

    /// The alarm: expire what is due, report to the roll-up, hand events over, prune
    /// the log, and set the next alarm.
    async fn wake(&self) -> Result<(), ApiError> {
        let now = platform::now();
        let lid = self.store.lid()?.ok_or_else(|| {
            ApiError::Internal("an alarm for a license object with no lid".into())
        })?;
        self.load(&lid)?;
        self.with_mut(|l| l.sync.alarm_started())?;
        self.change(|pool, ch| pool.sweep(now, ch))?;
        let now_ms = worker::Date::now().as_millis();
        if self.with(|l| l.sync.report_due(now_ms, l.pool.terms().lease_seconds))? {
            self.report().await?;
        }
        if self.with(|l| l.sync.ship_due(now_ms))? {
            self.ship().await?;
        }
        self.store.prune(self.with(|l| l.sync.shipped())?)?;
        let now_ms = worker::Date::now().as_millis();
        let next = self.with_mut(|l| {
            let (expiry, lease) = (l.pool.next_due(), l.pool.terms().lease_seconds);
            l.sync.rearm(now_ms, expiry, lease)
        })?;
        if let Some(at) = next {
            self.state.storage().set_alarm(alarm_time(at)).await?;
        }
        Ok(())
    }

    /// Hand unshipped events over to the event store, oldest first, a batch at a time;
    /// each batch is marked shipped only once the store has it. On failure the schedule
    /// backs off (2 s after the first failure, doubling to 60 s).
    async fn ship(&self) -> Result<(), ApiError> {
        let (lid, company) = self.with(|l| {
            let terms = l.pool.terms();
            (terms.lid.clone(), terms.company.clone())
        })?;
        for _ in 0..SHIP_BATCHES_PER_ALARM {
            let found = self
                .store
                .unshipped(self.with(|l| l.sync.shipped())?, SHIP_BATCH)?;
            let Some(last) = found.last().map(|r| r.seq) else {
                return Ok(());
            };
            let batch = outbox_batch(&lid, &company, found);
            let written = match crate::events::Store::open(&self.env).await {
                Ok(store) => store.append(&batch).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                worker::console_warn!("seat events not handed over (will retry): {e:?}");
                let now_ms = worker::Date::now().as_millis();
                return self.with_mut(|l| l.sync.ship_failed(now_ms));
            }
            self.store.mark_shipped(last)?;
            self.with_mut(|l| l.sync.shipped_up_to(last))?;
        }
        Ok(())
    }

    /// Report who holds what, and the deny state's version, to the license's roll-up
    /// shard; take the newer state it answers with. On failure, the alarm retries.
    async fn report(&self) -> Result<(), ApiError> {
        let (seq, snapshot, version) =
            self.with(|l| (l.sync.seq(), l.pool.snapshot(), l.pool.deny().version))?;
        match rollup::report(&self.env, seq, snapshot, version).await {
            Ok(newer) => {
                if let Some(deny) = newer {
                    let now = platform::now();
                    self.change(|pool, ch| pool.apply_deny(deny, now, ch))?;
                    self.with_mut(|l| l.sync.deny_delivered(now))?;
                }
                let now_ms = worker::Date::now().as_millis();
                self.with_mut(|l| l.sync.report_succeeded(seq, now_ms))?;
                self.store
                    .mark_reported(self.with(|l| l.sync.reported_seq())?)
            }
            Err(e) => {
                worker::console_warn!("license report to its roll-up shard failed: {e:?}");
                self.with_mut(|l| l.sync.report_failed())
            }
        }
    }

    /// Make sure the deny state is fresh (the engine's rule), reading the directory's
    /// published snapshot when it is not. If the read fails, the last state serves within
    /// the grace; after it, seats are refused until a read succeeds.
    async fn fresh_deny(&self, now: u64) -> Result<(), ApiError> {
        let holding = self.with(|l| l.pool.leases().next().is_some())?;
        let fallback = match self.with(|l| l.sync.deny_freshness(now, holding))? {
            Freshness::Use => return Ok(()),
            Freshness::Read { fallback } => fallback,
        };
        let read = async {
            let json = crate::kv::Kv::from_env(&self.env)?
                .get(directory::DENY_KEY)
                .await?;
            // Nothing published yet: no change was ever made, version 0.
            json.map_or(Ok(tessera_engine::DenyState::default()), |j| {
                serde_json::from_str(&j)
                    .map_err(|e| ApiError::Internal(format!("{}: {e}", directory::DENY_KEY)))
            })
        };
        let deny = match read.await {
            Ok(deny) => deny,
            Err(e) if fallback => {
                worker::console_warn!("deny state not read, using the last one: {e:?}");
                return self.with_mut(|l| l.sync.deny_unreachable(now));
            }
            Err(e) => return Err(e),
        };
        self.change(|pool, ch| pool.apply_deny(deny, now, ch))?;
        self.with_mut(|l| l.sync.deny_delivered(now))
    }
}

/// An alarm at `at` (epoch ms).
fn alarm_time(at: u64) -> worker::ScheduledTime {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    worker::ScheduledTime::new(date)
}

//! Storage as the engine sees it: string values under string keys, and each license's
//! live state.
//!
//! The engine's services (`licensing.rs`) read and write records through [`Store`];
//! the worker implements it over Workers KV, tests use [`MemoryStore`]. Nothing counted
//! goes through a `Store`: KV loses concurrent read-modify-writes, so seats and
//! revocation live behind [`LiveState`] (one Durable Object per license in the worker,
//! [`MemoryLiveState`] in tests).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::error::Error;
use crate::seats::{Revocation, SeatTerms};

/// A key-value store. Implementations map their failures to [`Error::Store`].
///
/// The futures need not be `Send`: every shell runs one request on one thread
/// (Workers isolates, wasm, single-threaded tests).
#[allow(async_fn_in_trait)]
pub trait Store {
    /// The value under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<String>, Error>;
    /// Set `key` to `value`.
    async fn put(&self, key: &str, value: &str) -> Result<(), Error>;
    /// Remove `key`; removing an absent key is not an error.
    async fn delete(&self, key: &str) -> Result<(), Error>;
    /// Every key that starts with `prefix`, in lexicographic order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error>;
    /// Up to `limit` keys that start with `prefix`, in lexicographic order, from where
    /// `cursor` (a previous page's) left off; and the cursor of the next page, if any.
    async fn list_page(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<String>, Option<String>), Error>;
}

/// An in-memory [`Store`] for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: RefCell<BTreeMap<String, String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Every entry, for assertions on what was (or was not) stored.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.entries.borrow().clone()
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        Ok(self.entries.borrow().get(key).cloned())
    }

    async fn put(&self, key: &str, value: &str) -> Result<(), Error> {
        self.entries
            .borrow_mut()
            .insert(key.to_string(), value.to_string());
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        Ok(self
            .entries
            .borrow()
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }

    async fn list_page(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        // The cursor is the last key of the previous page.
        let after = cursor.unwrap_or(prefix);
        let mut keys: Vec<String> = self
            .entries
            .borrow()
            .range(after.to_string()..)
            .map(|(k, _)| k.clone())
            .filter(|k| cursor.is_none_or(|c| k.as_str() > c))
            .take_while(|k| k.starts_with(prefix))
            .take(limit as usize + 1)
            .collect();
        let more = keys.len() > limit as usize;
        keys.truncate(limit as usize);
        let next = if more { keys.last().cloned() } else { None };
        Ok((keys, next))
    }
}

/// Each license's authoritative live state: its seat terms and whether it is revoked.
/// Revocation is written only here and never undone.
#[allow(async_fn_in_trait)]
pub trait LiveState {
    /// Start (or restate) a license's seat terms.
    async fn open(&self, terms: &SeatTerms) -> Result<(), Error>;
    /// The license's revocation, if it was revoked.
    async fn revocation(&self, lid: &str) -> Result<Option<Revocation>, Error>;
    /// Revoke the license; if it already was, the first revocation stands and is returned.
    async fn revoke(&self, lid: &str, by: &str, now: u64) -> Result<Revocation, Error>;
}

/// Where the keyring notes which key signed a token valid until when: a key stays
/// published (and is not retired) while a token it signed may still be presented. The
/// note is made *before* the signature, so a failed note signs nothing.
#[allow(async_fn_in_trait)]
pub trait KeyUses {
    /// Key `kid` is about to sign a token that expires at `exp`.
    async fn used(&self, kid: &str, exp: u64) -> Result<(), Error>;
}

/// An in-memory [`KeyUses`] for tests: every note, and a switch that makes the next
/// ones fail.
#[derive(Debug, Default)]
pub struct MemoryKeyUses {
    /// The notes made, in order.
    pub notes: RefCell<Vec<(String, u64)>>,
    /// While set, every note fails with [`Error::Store`].
    pub failing: core::cell::Cell<bool>,
}

impl KeyUses for MemoryKeyUses {
    async fn used(&self, kid: &str, exp: u64) -> Result<(), Error> {
        if self.failing.get() {
            return Err(Error::Store("the key-use log is unreachable".to_string()));
        }
        self.notes.borrow_mut().push((kid.to_string(), exp));
        Ok(())
    }
}

/// A license in a [`MemoryLiveState`]: its terms once opened, its revocation if any.
type MemoryLicense = (Option<SeatTerms>, Option<Revocation>);

/// An in-memory [`LiveState`] for tests.
#[derive(Debug, Default)]
pub struct MemoryLiveState {
    licenses: RefCell<BTreeMap<String, MemoryLicense>>,
}

impl MemoryLiveState {
    /// No license at all.
    pub fn new() -> MemoryLiveState {
        MemoryLiveState::default()
    }

    /// The terms a license was opened with.
    pub fn terms(&self, lid: &str) -> Option<SeatTerms> {
        self.licenses.borrow().get(lid).and_then(|(t, _)| t.clone())
    }
}

impl LiveState for MemoryLiveState {
    async fn open(&self, terms: &SeatTerms) -> Result<(), Error> {
        self.licenses
            .borrow_mut()
            .entry(terms.lid.clone())
            .or_default()
            .0 = Some(terms.clone());
        Ok(())
    }

    async fn revocation(&self, lid: &str) -> Result<Option<Revocation>, Error> {
        Ok(self.licenses.borrow().get(lid).and_then(|(_, r)| r.clone()))
    }

    async fn revoke(&self, lid: &str, by: &str, now: u64) -> Result<Revocation, Error> {
        let mut licenses = self.licenses.borrow_mut();
        let entry = licenses.entry(lid.to_string()).or_default();
        Ok(entry
            .1
            .get_or_insert_with(|| Revocation {
                at: now,
                by: by.to_string(),
            })
            .clone())
    }
}

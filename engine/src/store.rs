//! Storage as the engine sees it: string values under string keys.
//!
//! The engine's services (`licensing.rs`) read and write records through [`Store`];
//! the worker implements it over Workers KV, tests use [`MemoryStore`]. Nothing counted
//! goes through a `Store`: KV loses concurrent read-modify-writes, so seats and other
//! counters belong to Durable Objects.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::error::Error;

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
}

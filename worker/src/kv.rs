//! The engine's [`Store`] over Workers KV.
//!
//! KV is eventually consistent across locations and loses concurrent
//! read-modify-writes of one key; it holds read-mostly records only (issued licenses,
//! applied licenses). Nothing counted lives here, and nothing a credential check reads:
//! users, tokens and rotated keys are the accounts object's.

use tessera_engine::{Error, Store};
use worker::{Env, kv::KvStore};

use crate::error::ApiError;

/// The KV binding every record lives in (see `wrangler.toml`).
pub(crate) const KV_BINDING: &str = "TESSERA_KV";

/// Workers KV as an engine store.
pub(crate) struct Kv(pub(crate) KvStore);

impl Kv {
    pub(crate) fn from_env(env: &Env) -> Result<Kv, ApiError> {
        Ok(Kv(env.kv(KV_BINDING)?))
    }
}

fn store_error(e: impl core::fmt::Display) -> Error {
    Error::Store(e.to_string())
}

impl Store for Kv {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        self.0.get(key).text().await.map_err(store_error)
    }

    async fn put(&self, key: &str, value: &str) -> Result<(), Error> {
        self.0
            .put(key, value)
            .map_err(store_error)?
            .execute()
            .await
            .map_err(store_error)
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.0.delete(key).await.map_err(store_error)
    }

    async fn list_page(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        let mut builder = self
            .0
            .list()
            .prefix(prefix.to_string())
            .limit(u64::from(limit));
        if let Some(c) = cursor {
            builder = builder.cursor(c.to_string());
        }
        let page = builder.execute().await.map_err(store_error)?;
        let next = if page.list_complete {
            None
        } else {
            page.cursor
        };
        Ok((page.keys.into_iter().map(|k| k.name).collect(), next))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let mut builder = self.0.list().prefix(prefix.to_string());
            if let Some(c) = cursor.take() {
                builder = builder.cursor(c);
            }
            let page = builder.execute().await.map_err(store_error)?;
            keys.extend(page.keys.into_iter().map(|k| k.name));
            if page.list_complete || page.cursor.is_none() {
                return Ok(keys);
            }
            cursor = page.cursor;
        }
    }
}

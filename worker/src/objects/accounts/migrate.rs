//! Moving the accounts an earlier version kept in Workers KV (`user:*`, `token:*`,
//! `token-used:*`, `vault-token`, `signing-key:*`) into the accounts object, once, on its
//! first start; then removing them (and KV's old secret-hash index) from KV.

use tessera_engine::TokenStatus;
use worker::{Env, SqlStorage};

use super::protocol::{StoredToken, StoredVault, User};
use crate::error::ApiError;
use crate::objects::shell::parse;
use crate::objects::shell::sql::{count, int, run, text};

/// Move the accounts an earlier version kept in KV (`user:*`, `token:*`,
/// `token-used:*`, `vault-token`) here, once, and remove them from KV.
pub(super) async fn import_from_kv(sql: &SqlStorage, env: &Env) -> Result<(), ApiError> {
    let imported = count(
        sql,
        "SELECT COUNT(*) AS n FROM meta WHERE key = 'imported'",
        vec![],
    )?;
    if imported > 0 {
        return Ok(());
    }
    let kv = env.kv(crate::kv::KV_BINDING)?;
    let mut moved = Vec::new();
    for prefix in [
        "user:",
        "token:",
        "token-used:",
        "vault-token",
        "signing-key:",
    ] {
        let keys = kv.list().prefix(prefix.to_string()).execute().await?.keys;
        for key in keys {
            let Some(value) = kv.get(&key.name).text().await? else {
                continue;
            };
            match prefix {
                "user:" => {
                    let user: User = parse("user", &value)?;
                    run(
                        sql,
                        "INSERT OR IGNORE INTO users (id, username, role, disabled, body) VALUES (?, ?, ?, ?, ?)",
                        vec![
                            text(&user.id),
                            text(&user.username),
                            text(user.role.as_str()),
                            int(u64::from(user.disabled)),
                            text(&value),
                        ],
                    )?;
                }
                "token:" => {
                    let stored: StoredToken = parse("token", &value)?;
                    let hash =
                        (stored.token.status != TokenStatus::Deleted).then(|| text(&stored.hash));
                    run(
                        sql,
                        "INSERT OR IGNORE INTO tokens (id, hash, creator_id, created_at, body) VALUES (?, ?, ?, ?, ?)",
                        vec![
                            text(&stored.token.id),
                            hash.into(),
                            text(&stored.creator_id),
                            int(stored.token.created_at),
                            text(&value),
                        ],
                    )?;
                }
                "signing-key:" => {
                    let entry: tessera_engine::RotatedKey = parse("signing key", &value)?;
                    run(
                        sql,
                        "INSERT OR IGNORE INTO keys (kid, entry) VALUES (?, ?)",
                        vec![text(&entry.kid), text(&value)],
                    )?;
                }
                "token-used:" => {
                    let id = key.name.trim_start_matches("token-used:");
                    let at: u64 = value.parse().unwrap_or(0);
                    run(
                        sql,
                        "INSERT OR IGNORE INTO token_use (id, at) VALUES (?, ?)",
                        vec![text(id), int(at)],
                    )?;
                }
                _ => {
                    let stored: StoredVault = parse("vault token", &value)?;
                    run(
                        sql,
                        "INSERT OR IGNORE INTO vault (one, hash, body) VALUES (1, ?, ?)",
                        vec![text(&stored.hash), text(&value)],
                    )?;
                }
            }
            moved.push(key.name);
        }
    }
    run(
        sql,
        "INSERT INTO meta (key, value) VALUES ('imported', '1')",
        vec![],
    )?;
    for key in moved {
        kv.delete(&key).await?;
    }
    // Indexes from secret hashes to tokens were KV's only.
    for key in kv
        .list()
        .prefix("token-hash:".to_string())
        .execute()
        .await?
        .keys
    {
        kv.delete(&key.name).await?;
    }
    Ok(())
}

//! What the accounts object can be asked and answers, the records it keeps, and how to
//! ask it — the only part of `accounts/` other rooms import.
//!
//! The records ([`User`], [`StoredToken`], [`StoredVault`]) live here, beside the calls
//! that carry them: the worker's `users` and `tokens` modules build them, the object
//! stores them, and neither imports the other.
//!
//! What a Bearer secret resolves to is remembered per isolate for
//! [`CREDENTIAL_SECONDS`] ([`resolve`]), so an integration calling at rate with an API
//! token or the vault token does not call the one accounts object per request. A
//! credential change made through this isolate forgets everything remembered at once;
//! one made through another applies here within that bound. Console sessions and
//! passwords are never remembered this way: a disabled person is out at the next
//! request.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use tessera_engine::{ApiToken, Role, RotatedKey, UpdateToken, UpdateUser, UserView};
use worker::Env;

use crate::error::ApiError;
use crate::objects::shell;

/// The binding (see `wrangler.toml`).
pub(crate) const BINDING: &str = "ACCOUNTS";
/// The accounts' one object.
const NAME: &str = "accounts";

/// A stored user. `password` is a `PasswordHash` record, never a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    /// Random and never reused: tokens remember it, so a user deleted and re-created
    /// under the same name does not inherit the old one's tokens.
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) role: Role,
    pub(crate) password: String,
    pub(crate) created_at: u64,
    #[serde(default)]
    pub(crate) disabled: bool,
}

impl User {
    pub(crate) fn view(&self) -> UserView {
        UserView {
            username: self.username.clone(),
            role: self.role,
            disabled: self.disabled,
            created_at: self.created_at,
        }
    }

    pub(crate) fn active_server_admin(&self) -> bool {
        self.role == Role::ServerAdmin && !self.disabled
    }
}

/// A token as stored: what the API shows, plus what only the server needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredToken {
    pub(crate) token: ApiToken,
    /// The creating user's id: a user deleted and re-created under the same name does
    /// not inherit the old user's tokens.
    pub(crate) creator_id: String,
    /// SHA-256 of the secret, hex.
    pub(crate) hash: String,
    /// Whether the secret carries a tag (`tessera_engine::SecretCheck`); records from
    /// before tags say nothing, and are untagged.
    #[serde(default)]
    pub(crate) tagged: bool,
}

/// The vault access token as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredVault {
    pub(crate) hash: String,
    pub(crate) prefix: String,
    pub(crate) created_at: u64,
    pub(crate) created_by: String,
    /// The creator's user id (records before it was kept name the creator only).
    #[serde(default)]
    pub(crate) creator_id: Option<String>,
    /// Whether the secret carries a tag.
    #[serde(default)]
    pub(crate) tagged: bool,
}

/// Who is asking about tokens: tokens are visible to their creator, and to holders of
/// `tokens:admin` who may manage the creator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Viewer {
    pub(crate) user_id: Option<String>,
    pub(crate) role: Option<Role>,
    pub(crate) tokens_admin: bool,
}

/// What the accounts object can be asked. Each answer is `Result<T, WireError>` with
/// the `T` named here; a change a rule refuses is a `WireError` with the API's code.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum AccountsCall {
    /// `Option<User>`.
    User { username: String },
    /// `Page<User>`.
    Users { cursor: Option<String>, limit: u32 },
    /// Create the first server administrator, only if there is no user at all. `bool`:
    /// whether it was created.
    Bootstrap { user: User },
    /// `bool`.
    HasUsers,
    /// `bool`: whether any live secret (a token's or the vault token's) is untagged, so
    /// an untagged secret presented is worth a lookup.
    HasUntaggedSecrets,
    /// Changes name the acting user by id: the rules use the actor's role as it is
    /// when the change is written, not as it was when the request began. `User`.
    CreateUser { actor_id: String, user: User },
    /// `User`.
    UpdateUser {
        actor_id: String,
        username: String,
        change: UpdateUser,
    },
    /// `()`.
    DeleteUser { actor_id: String, username: String },
    /// A Bearer secret's hash: its token and creator, or the vault token. [`Resolved`].
    Resolve { hash: String },
    /// `Page<ApiToken>`.
    Tokens {
        viewer: Viewer,
        all: bool,
        cursor: Option<String>,
        limit: u32,
    },
    /// `Option<ApiToken>`.
    Token { viewer: Viewer, id: String },
    /// `()`.
    CreateToken { stored: StoredToken },
    /// `ApiToken`.
    UpdateToken {
        viewer: Viewer,
        id: String,
        change: UpdateToken,
    },
    /// `ApiToken`.
    DeleteToken { viewer: Viewer, id: String },
    /// `()`.
    RecordUse { id: String, at: u64 },
    /// Start a console session for the user (by the hash of its secret). `bool`: false
    /// if the user is gone or disabled.
    CreateSession {
        hash: String,
        user_id: String,
        now: u64,
        seconds: u64,
    },
    /// The user a session belongs to, while it stands. `Option<User>`.
    Session { hash: String, now: u64 },
    /// Sign out. `()`.
    EndSession { hash: String },
    /// The rotated signing keys, the latest `exp` each signed, and the retired roots'
    /// `kid`s. `(Vec<RotatedKey>, Vec<KeyUse>, Vec<String>)`.
    Keys,
    /// `()`.
    AddKey { entry: RotatedKey },
    /// Entries sealed anew, each in place of the stored entry with its `kid`. `()`.
    ResealKeys { entries: Vec<RotatedKey> },
    /// The root key `kid` is retired: never published or signing again. `()`.
    RetireRoot { kid: String },
    /// Key `kid` signed a license token valid until `exp`. `()`.
    KeyUsed { kid: String, exp: u64 },
    /// Keys no token needs any more. `()`.
    RetireKeys { kids: Vec<String> },
    /// `VaultTokenInfo`.
    VaultInfo,
    /// `VaultTokenInfo`.
    SetVault { stored: StoredVault },
    /// `VaultTokenInfo`.
    DeleteVault,
}

/// What a Bearer secret names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Resolved {
    Api {
        stored: Box<StoredToken>,
        creator: Option<User>,
    },
    /// The vault token, and the administrator who generated it if they still exist.
    Vault {
        creator: Option<User>,
    },
    Unknown,
}

impl AccountsCall {
    /// Whether this call may change what a Bearer secret resolves to.
    fn changes_credentials(&self) -> bool {
        matches!(
            self,
            AccountsCall::CreateUser { .. }
                | AccountsCall::UpdateUser { .. }
                | AccountsCall::DeleteUser { .. }
                | AccountsCall::CreateToken { .. }
                | AccountsCall::UpdateToken { .. }
                | AccountsCall::DeleteToken { .. }
                | AccountsCall::SetVault { .. }
                | AccountsCall::DeleteVault
        )
    }
}

/// Ask the accounts object. A rule's refusal comes back as the API error it stands for.
pub(crate) async fn ask<T: for<'de> Deserialize<'de>>(
    env: &Env,
    message: AccountsCall,
) -> Result<T, ApiError> {
    if message.changes_credentials() {
        forget_credentials();
        let answer = shell::ask(env, BINDING, NAME, &message).await;
        // Again after: an answer resolved while the change travelled is not kept.
        forget_credentials();
        return answer;
    }
    shell::ask(env, BINDING, NAME, &message).await
}

fn forget_credentials() {
    GENERATION.set(GENERATION.get().wrapping_add(1));
    RESOLVED.with_borrow_mut(HashMap::clear);
}

/// How long an isolate trusts what a Bearer secret resolved to, in seconds: the longest
/// a token disabled, deleted or narrowed — or its creator disabled, deleted or demoted —
/// through another isolate keeps its old reach here. (Expiry is judged at every
/// request.)
pub(crate) const CREDENTIAL_SECONDS: u64 = 10;
/// How many resolved secrets an isolate remembers (then it forgets them all).
const RESOLVED_SECRETS: usize = 4096;

thread_local! {
    /// By the secret's hash: when it was resolved, and to what.
    static RESOLVED: RefCell<HashMap<String, (u64, Rc<Resolved>)>> = RefCell::new(HashMap::new());
    /// Grows with every credential change made through this isolate.
    static GENERATION: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// What the secret with hash `hash` names, remembered for [`CREDENTIAL_SECONDS`].
pub(crate) async fn resolve(env: &Env, hash: String, now: u64) -> Result<Rc<Resolved>, ApiError> {
    let known = RESOLVED.with_borrow(|m| {
        m.get(&hash)
            .filter(|(at, _)| now >= *at && now - *at < CREDENTIAL_SECONDS)
            .map(|(_, resolved)| Rc::clone(resolved))
    });
    if let Some(resolved) = known {
        return Ok(resolved);
    }
    let generation = GENERATION.get();
    let resolved: Rc<Resolved> =
        Rc::new(ask(env, AccountsCall::Resolve { hash: hash.clone() }).await?);
    RESOLVED.with_borrow_mut(|m| {
        // A credential change in this isolate while the answer travelled: not kept.
        if GENERATION.get() != generation {
            return;
        }
        if m.len() >= RESOLVED_SECRETS {
            m.clear();
        }
        m.insert(hash, (now, Rc::clone(&resolved)));
    });
    Ok(resolved)
}

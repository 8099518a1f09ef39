//! Who is calling, and may they.
//!
//! Two ways in:
//! - **Basic** with a user's name and password. Passwords are PBKDF2-HMAC-SHA256
//!   records (see `tessera_engine::PasswordHash`), derived in Web Crypto. A derivation
//!   costs milliseconds of CPU, so a successful check is remembered per isolate for
//!   [`CACHE_SECONDS`] for the client that proved it (its device, else its address)
//!   under SHA-256(isolate salt, client, user, password) with a digest of the stored
//!   record it matched: changing the password changes the record and so
//!   misses the cache; the cache lives in memory only and holds no password. Any other
//!   attempt first takes one from the limits on
//!   failed sign-ins (`tessera_engine::sign_in_limits`; a success gives it back), so a
//!   guesser is refused with `429` before any derivation. A client that signed in as
//!   this user before presents its device cookie ([`DEVICE_COOKIE`]) and meets only its
//!   own limit: no stranger's failures keep it out. Any other client meets the strict
//!   (username, address) and per-address limits and a loose per-username backoff.
//! - **Bearer** with an API token, an Agent token or the vault access token (see
//!   `tokens`). A user's token acts with its creator's role *as it is now*: the creator
//!   is loaded on every request, so demoting or disabling them narrows or stops the
//!   token at once.
//!
//! What the caller may do is `tessera_engine::allows(role, credential, permission)`.
//! Seed 004's licensing endpoints take Basic auth only ([`require_basic`]); a Bearer
//! token there is 401. Missing or wrong credentials are 401; a known caller whose
//! grant lacks the permission is 403.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::request::Request;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tessera_engine::{
    Credential, Module, Permission, Role, TokenScope, TokenStatus, allows, sign_in_limits,
};
use worker::Env;

use crate::error::ApiError;
use crate::objects::accounts::protocol::{self as accounts, AccountsCall, Resolved, User};
use crate::objects::limiter::protocol as limiter;
use crate::platform;
use crate::{tokens, users};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone; no credential is read.
    Public,
    /// An app: its credential is a license or lease token in the body, never one a
    /// browser attaches on its own, so cross-site use of it forges nothing.
    App,
    /// Anyone signed in, whatever they may do (`GET /api/me`).
    SignedIn,
    /// A user's password, a console session, or an API, Agent or vault token, whose
    /// grant includes the permission.
    Any(Permission),
    /// A user's password or console session only (seed 004's licensing endpoints; a
    /// token is 401), whose role includes the permission.
    User(Permission),
    /// An app presenting a token bound to its key (`Authorization: DPoP`, checked by
    /// the handler, which gets no caller), or else anyone [`Access::Any`] lets in.
    AppOr(Permission),
}

impl Access {
    /// Whether the route acts with credentials a browser may attach on its own (a
    /// cached Basic password, the session cookie): every route but the app-facing ones.
    pub(crate) fn ambient(self) -> bool {
        self != Access::App
    }

    /// Whether this request to the route does: an app's DPoP request to an
    /// [`Access::AppOr`] route carries none.
    pub(crate) fn ambient_for(self, req: &Request) -> bool {
        match self {
            Access::AppOr(_) => !crate::proof::presents_dpop(req),
            other => other.ambient(),
        }
    }

    /// Whether apps call the route (from browsers on their own origins too: the answers
    /// allow any origin, as they use no ambient credential).
    pub(crate) fn app(self) -> bool {
        matches!(self, Access::App | Access::AppOr(_))
    }

    /// The permission the route needs, if any (the OpenAPI generator states it).
    #[cfg(test)]
    pub(crate) fn permission(self) -> Option<Permission> {
        match self {
            Access::Any(p) | Access::User(p) | Access::AppOr(p) => Some(p),
            Access::Public | Access::App | Access::SignedIn => None,
        }
    }
}

/// How long a verified password is remembered in an isolate.
pub(crate) const CACHE_SECONDS: u64 = 300;
/// How many verified passwords an isolate remembers.
const CACHE_ENTRIES: usize = 256;

thread_local! {
    /// Passwords this isolate verified: SHA-256(isolate salt, user, password) → until
    /// when, and SHA-256 of the stored record they matched (a password change changes
    /// the record, and so misses).
    static VERIFIED: RefCell<HashMap<[u8; 32], Verified>> = RefCell::new(HashMap::new());
    /// A random salt of this isolate's, so the cache's keys are no fast hash of a
    /// password alone.
    static SALT: [u8; 32] = platform::random::<32>().unwrap_or_default();
}

/// A verified password in the cache: until when, and the digest of the record it matched.
type Verified = (u64, [u8; 32]);

/// How the caller signed in.
#[derive(Debug, Clone)]
pub(crate) enum Via {
    Password,
    /// The console's session: a password sign-in, exchanged for a cookie.
    Session,
    Token {
        id: String,
        scope: TokenScope,
        modules: Vec<Module>,
    },
    Vault,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The user's name (`"vault"` for the vault access token).
    pub(crate) username: String,
    /// The user's id (none for the vault token).
    pub(crate) user_id: Option<String>,
    /// The user's role now; none for the vault token.
    pub(crate) role: Option<Role>,
    pub(crate) via: Via,
}

impl Caller {
    /// Whether this caller may use `permission`.
    pub(crate) fn may(&self, permission: Permission) -> bool {
        let credential = match &self.via {
            Via::Password | Via::Session => Credential::Password,
            Via::Token {
                scope: TokenScope::Api,
                modules,
                ..
            } => Credential::ApiToken { modules },
            Via::Token {
                scope: TokenScope::Agent,
                modules,
                ..
            } => Credential::AgentToken { modules },
            Via::Vault => Credential::VaultToken,
        };
        allows(self.role, credential, permission)
    }

    /// Every permission this caller has.
    pub(crate) fn permissions(&self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.may(*p))
            .collect()
    }
}

const NO_CREDENTIALS: &str = "sign in with Basic authentication or a Bearer token";
const WRONG_CREDENTIALS: &str = "wrong username or password";
const NO_BEARER: &str =
    "this route takes Basic authentication of a user; API tokens are not accepted";
const DISABLED_USER: &str = "this user is disabled";

/// Who is calling a route with `access`, authenticated and authorised as the route table
/// declares: none for the routes that read no credential.
pub(crate) async fn authorize(
    req: &Request,
    env: &Env,
    access: Access,
) -> Result<Option<Caller>, ApiError> {
    Ok(Some(match access {
        Access::Public | Access::App => return Ok(None),
        Access::SignedIn => authenticate(req, env, true).await?,
        Access::Any(permission) => require(req, env, permission).await?,
        Access::AppOr(_) if crate::proof::presents_dpop(req) => return Ok(None),
        Access::AppOr(permission) => require(req, env, permission).await?,
        Access::User(permission) => require_basic(req, env, permission).await?,
    }))
}

/// Authenticate (Basic or Bearer) and require `permission`.
async fn require(req: &Request, env: &Env, permission: Permission) -> Result<Caller, ApiError> {
    let caller = authenticate(req, env, true).await?;
    check(caller, permission)
}

/// Authenticate with Basic only (seed 004's licensing endpoints) and require `permission`.
async fn require_basic(
    req: &Request,
    env: &Env,
    permission: Permission,
) -> Result<Caller, ApiError> {
    let caller = authenticate(req, env, false).await?;
    check(caller, permission)
}

fn check(caller: Caller, permission: Permission) -> Result<Caller, ApiError> {
    if caller.may(permission) {
        return Ok(caller);
    }
    let why = match permission.module() {
        Module::Licensing => "the licensing endpoints need a server administrator",
        _ if matches!(
            caller.via,
            Via::Token {
                scope: TokenScope::Agent,
                ..
            }
        ) =>
        {
            "an Agent token reaches only the agent endpoints"
        }
        _ if matches!(caller.via, Via::Token { .. }) => {
            "this token, or its creator's role, does not allow this"
        }
        _ => "your role does not allow this",
    };
    Err(ApiError::Forbidden(why.into()))
}

/// Who is calling; `bearer` says whether tokens are accepted.
pub(crate) async fn authenticate(
    req: &Request,
    env: &Env,
    bearer: bool,
) -> Result<Caller, ApiError> {
    let Some(header) = req.headers().get("Authorization")? else {
        // The console's session cookie: a password sign-in, exchanged for a session.
        return match session_secret(req) {
            Some(secret) => session_caller(env, &secret).await,
            None => Err(ApiError::Unauthorized(NO_CREDENTIALS)),
        };
    };
    let header = header.trim();
    if let Some(secret) = strip_scheme(header, "bearer") {
        if !bearer {
            return Err(ApiError::Unauthorized(NO_BEARER));
        }
        return bearer_caller(env, secret.trim()).await;
    }
    let (username, password) = parse_basic(header).ok_or(ApiError::Unauthorized(NO_CREDENTIALS))?;
    password_caller(req, env, &username, &password).await
}

/// A user proving their password (Basic, or signing in to the console): the limits of
/// failed sign-ins first — before the user is read, so a refused guess costs neither
/// an accounts call nor a derivation — then PBKDF2, skipped for a password this isolate
/// verified in the last [`CACHE_SECONDS`] (which also skips the limits: it already
/// proved itself).
pub(crate) async fn password_caller(
    req: &Request,
    env: &Env,
    username: &str,
    password: &str,
) -> Result<Caller, ApiError> {
    let (username, password) = (username.to_string(), password.to_string());
    // The cache is per client (its device, else its address): a guesser elsewhere
    // never meets a password the user proved here, and so meets the limits.
    let client = client_of(req, env, &username)?;
    let remembered = match remembered(&client, &username, &password) {
        Some(record) => {
            users::bootstrap(env).await?;
            users::get(env, &username)
                .await?
                .filter(|u| record_digest(u) == record)
        }
        None => None,
    };
    let user = match remembered {
        Some(user) => user,
        None => {
            let taken = take_attempt(req, env, &username, &client).await?;
            users::bootstrap(env).await?;
            let user = users::get(env, &username).await?;
            let ok = match &user {
                Some(u) => verify_password(&client, u, &password).await?,
                None => {
                    // Derive anyway, so an unknown name takes as long as a wrong password:
                    // timing does not tell which usernames exist.
                    platform::pbkdf2(&password, &[0; 16], tessera_engine::PBKDF2_ITERATIONS)
                        .await?;
                    false
                }
            };
            let Some(user) = user.filter(|_| ok) else {
                return Err(ApiError::Unauthorized(WRONG_CREDENTIALS));
            };
            taken.give_back(env).await;
            user
        }
    };
    if user.disabled {
        return Err(ApiError::Forbidden(DISABLED_USER.into()));
    }
    Ok(Caller {
        username: user.username,
        user_id: Some(user.id),
        role: Some(user.role),
        via: Via::Password,
    })
}

/// Attempts taken from the limits of failed sign-ins, as (limiter key, taken at).
struct Taken(Vec<(String, u64)>);

impl Taken {
    /// The sign-in succeeded: it does not count against any limit.
    async fn give_back(self, env: &Env) {
        for (key, at) in self.0 {
            if let Err(e) = limiter::give_back(env, &key, at).await {
                worker::console_warn!("sign-in limit not given back: {e:?}");
            }
        }
    }
}

/// The client's address as Cloudflare reports it (none off Cloudflare).
pub(crate) fn client_address(req: &Request) -> Option<String> {
    req.headers().get("CF-Connecting-IP").ok().flatten()
}

/// Take an attempt from every limit a sign-in as `username` meets, all checked before
/// any PBKDF2 work; `429` with `Retry-After` when one is spent (and the others' attempts
/// are given back: they were never made).
async fn take_attempt(
    req: &Request,
    env: &Env,
    username: &str,
    client: &Client,
) -> Result<Taken, ApiError> {
    let username = tessera_engine::identity(username);
    let address = client_address(req).unwrap_or_else(|| "unknown".into());
    let device = match client {
        Client::Device(id) => Some(id.as_str()),
        Client::Address(_) => None,
    };
    let limits = sign_in_limits(&username, &address, device);
    let answers = futures_util::future::join_all(
        limits
            .iter()
            .map(|(key, limit)| limiter::take(env, key, *limit)),
    )
    .await;
    let mut taken = Vec::new();
    let mut wait = None;
    for ((key, _), answer) in limits.into_iter().zip(answers) {
        match answer {
            Ok(Ok(at)) => taken.push((key, at)),
            Ok(Err(seconds)) => wait = wait.max(Some(seconds)),
            Err(e) => {
                Taken(taken).give_back(env).await;
                return Err(e);
            }
        }
    }
    match wait {
        None => Ok(Taken(taken)),
        Some(seconds) => {
            Taken(taken).give_back(env).await;
            Err(ApiError::TooManyRequests(seconds))
        }
    }
}

/// The name of the device cookie: proof that this client signed in as a user before.
pub(crate) const DEVICE_COOKIE: &str = "tessera_device";

/// Who is signing in, as the limits and the password cache tell clients apart.
enum Client {
    /// A client that signed in as this user before: its device cookie's id.
    Device(String),
    /// Any other: its address.
    Address(String),
}

/// The client of a sign-in as `username`: its device, if its device cookie is valid
/// for that user (in the identity form), else its address.
fn client_of(req: &Request, env: &Env, username: &str) -> Result<Client, ApiError> {
    if let Some(cookie) = cookie(req, DEVICE_COOKIE)
        && let Some(device) =
            crate::deployment::secret(env)?.device_of(&cookie, &tessera_engine::identity(username))
    {
        return Ok(Client::Device(device));
    }
    Ok(Client::Address(
        client_address(req).unwrap_or_else(|| "unknown".into()),
    ))
}

/// A new device cookie's value for a client that just signed in as `username`.
pub(crate) fn new_device_cookie(env: &Env, username: &str) -> Result<String, ApiError> {
    let nonce = platform::random::<16>()?;
    Ok(crate::deployment::secret(env)?.device_cookie(&tessera_engine::identity(username), &nonce))
}

/// The value of cookie `name`, if the request carries it.
fn cookie(req: &Request, name: &str) -> Option<String> {
    let cookies = req.headers().get("Cookie").ok().flatten()?;
    cookies.split(';').find_map(|c| {
        let (n, value) = c.trim().split_once('=')?;
        (n == name && !value.is_empty()).then(|| value.to_string())
    })
}

/// The name of the console's session cookie.
pub(crate) const SESSION_COOKIE: &str = "tessera_session";

/// The session cookie's value, if the request carries one.
pub(crate) fn session_secret(req: &Request) -> Option<String> {
    cookie(req, SESSION_COOKIE)
}

async fn session_caller(env: &Env, secret: &str) -> Result<Caller, ApiError> {
    let call = AccountsCall::Session {
        hash: platform::sha256_hex(secret),
        now: platform::now(),
    };
    let user: Option<User> = accounts::ask(env, call).await?;
    let user = user.ok_or(ApiError::Unauthorized(
        "the session has ended; sign in again",
    ))?;
    Ok(Caller {
        username: user.username,
        user_id: Some(user.id),
        role: Some(user.role),
        via: Via::Session,
    })
}

async fn bearer_caller(env: &Env, secret: &str) -> Result<Caller, ApiError> {
    let (stored, creator) = match tokens::resolve(env, secret).await? {
        Resolved::Api { stored, creator } => (*stored, creator),
        Resolved::Vault { creator } => {
            let creator = creator.map(|u| (u.role, !u.disabled));
            if !tessera_engine::vault_token_stands(creator) {
                return Err(ApiError::Unauthorized(
                    "the vault token's creator is disabled, deleted or no longer manages \
                     the vault: an administrator generates a new one",
                ));
            }
            return Ok(Caller {
                username: "vault".into(),
                user_id: None,
                role: None,
                via: Via::Vault,
            });
        }
        Resolved::Unknown => return Err(ApiError::Unauthorized("unknown or deleted token")),
    };
    let now = platform::now();
    match stored.token.status {
        TokenStatus::Active => {}
        TokenStatus::Disabled => return Err(ApiError::Unauthorized("this token is disabled")),
        TokenStatus::Deleted => return Err(ApiError::Unauthorized("unknown or deleted token")),
    }
    if stored.token.expires_at.is_some_and(|t| now >= t) {
        return Err(ApiError::Unauthorized("this token has expired"));
    }
    let creator = creator
        .filter(|u| u.id == stored.creator_id && !u.disabled)
        .ok_or(ApiError::Unauthorized(
            "this token's creator is disabled or gone",
        ))?;
    tokens::record_use(env, &stored.token.id, now).await;
    Ok(Caller {
        username: creator.username,
        user_id: Some(creator.id),
        role: Some(creator.role),
        via: Via::Token {
            id: stored.token.id,
            scope: stored.token.scope,
            modules: stored.token.modules,
        },
    })
}

fn strip_scheme<'a>(header: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = header.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest)
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let rest = strip_scheme(header, "basic")?;
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The cache key of a password for a user name from a client: SHA-256 of this
/// isolate's salt, the client, the name and the password.
fn cache_key(client: &Client, username: &str, password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(SALT.with(|s| *s));
    let client = match client {
        Client::Device(id) => format!("device:{id}"),
        Client::Address(address) => format!("address:{address}"),
    };
    for part in [client.as_bytes(), username.as_bytes(), password.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// SHA-256 of a user's stored password record.
fn record_digest(user: &User) -> [u8; 32] {
    Sha256::digest(user.password.as_bytes()).into()
}

/// The digest of the record this isolate verified this password against in the last
/// [`CACHE_SECONDS`], if it did.
fn remembered(client: &Client, username: &str, password: &str) -> Option<[u8; 32]> {
    let key = cache_key(client, username, password);
    let now = platform::now();
    VERIFIED.with_borrow(|c| {
        c.get(&key)
            .filter(|(until, _)| *until > now)
            .map(|(_, record)| *record)
    })
}

/// Derive and compare (PBKDF2 in Web Crypto); remember a success.
async fn verify_password(client: &Client, user: &User, password: &str) -> Result<bool, ApiError> {
    let key = cache_key(client, &user.username, password);
    let now = platform::now();
    let Some(record) = tessera_engine::PasswordHash::parse(&user.password) else {
        return Err(ApiError::Internal(format!(
            "unreadable password record for {}",
            user.username
        )));
    };
    let derived = platform::pbkdf2(password, &record.salt, record.iterations).await?;
    let ok = record.matches(&derived);
    if ok {
        VERIFIED.with_borrow_mut(|c| {
            if c.len() >= CACHE_ENTRIES {
                c.retain(|_, (until, _)| *until > now);
                if c.len() >= CACHE_ENTRIES {
                    c.clear();
                }
            }
            c.insert(key, (now + CACHE_SECONDS, record_digest(user)));
        });
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_credentials() {
        let header = format!("Basic {}", STANDARD.encode("admin:pa:ss"));
        assert_eq!(parse_basic(&header), Some(("admin".into(), "pa:ss".into())));
        assert_eq!(
            parse_basic(&format!("basic  {}", STANDARD.encode("a:b"))),
            Some(("a".into(), "b".into()))
        );
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(
            parse_basic(&format!("Basic {}", STANDARD.encode("no-colon"))),
            None
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(strip_scheme("bearer tsr_x", "bearer"), Some("tsr_x"));
    }
}

//! Who is calling, and may they: Basic authentication against users in KV.
//!
//! Passwords are PBKDF2-HMAC-SHA256 records (see `tessera_engine::PasswordHash`),
//! derived in Web Crypto. A derivation costs milliseconds of CPU, so a successful check
//! is remembered per isolate for [`CACHE_SECONDS`] under SHA-256(user, password,
//! stored record): changing the password changes the record and so misses the cache;
//! the cache lives in memory only and holds no password.
//!
//! Seed 004's licensing endpoints take Basic auth only; a Bearer token there is refused
//! with 401, as is every missing or wrong credential. A known user whose role lacks the
//! route's permission gets 403.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tessera_engine::{Permission, Role};
use worker::{Env, Request};

use crate::error::ApiError;
use crate::platform;
use crate::users::{self, User};

/// How long a verified credential is remembered in an isolate.
pub(crate) const CACHE_SECONDS: u64 = 300;
/// How many verified credentials an isolate remembers.
const CACHE_ENTRIES: usize = 256;

thread_local! {
    static VERIFIED: RefCell<HashMap<[u8; 32], u64>> = RefCell::new(HashMap::new());
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) username: String,
    pub(crate) role: Role,
}

const NO_CREDENTIALS: &str = "sign in with Basic authentication";
const WRONG_CREDENTIALS: &str = "wrong username or password";
const NO_BEARER: &str =
    "this route takes Basic authentication of a user; API tokens are not accepted";

/// Authenticate with Basic auth and require `permission`.
pub(crate) async fn require(
    req: &Request,
    env: &Env,
    permission: Permission,
) -> Result<Caller, ApiError> {
    let caller = authenticate(req, env).await?;
    if !caller.role.allows(permission) {
        return Err(ApiError::Forbidden(forbidden_message(permission)));
    }
    Ok(caller)
}

fn forbidden_message(permission: Permission) -> &'static str {
    match permission {
        Permission::LicensingRead | Permission::LicensingWrite | Permission::LicensingDelete => {
            "the licensing endpoints need a server administrator"
        }
        _ => "your role does not allow this",
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Authenticate with Basic auth; any role.
pub(crate) async fn authenticate(req: &Request, env: &Env) -> Result<Caller, ApiError> {
    let Some(header) = req.headers().get("Authorization")? else {
        return Err(ApiError::Unauthorized(NO_CREDENTIALS));
    };
    if header.trim_start().len() >= 7 && header.trim_start()[..7].eq_ignore_ascii_case("bearer ") {
        return Err(ApiError::Unauthorized(NO_BEARER));
    }
    let (username, password) =
        parse_basic(&header).ok_or(ApiError::Unauthorized(NO_CREDENTIALS))?;
    let kv = crate::kv::Kv::from_env(env)?;
    users::bootstrap(env, &kv).await?;
    let Some(user) = users::get(&kv, &username).await? else {
        return Err(ApiError::Unauthorized(WRONG_CREDENTIALS));
    };
    if !verify_password(&user, &password).await? {
        return Err(ApiError::Unauthorized(WRONG_CREDENTIALS));
    }
    Ok(Caller {
        username: user.username,
        role: user.role,
    })
}

async fn verify_password(user: &User, password: &str) -> Result<bool, ApiError> {
    let mut h = Sha256::new();
    for part in [
        user.username.as_bytes(),
        password.as_bytes(),
        user.password.as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let key: [u8; 32] = h.finalize().into();
    let now = platform::now();
    if VERIFIED.with_borrow(|c| c.get(&key).is_some_and(|until| *until > now)) {
        return Ok(true);
    }
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
                c.retain(|_, until| *until > now);
                if c.len() >= CACHE_ENTRIES {
                    c.clear();
                }
            }
            c.insert(key, now + CACHE_SECONDS);
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
    }
}

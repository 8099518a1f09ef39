//! This deployment's identity and signing keys.
//!
//! - Its own instance URL (seed 004's default instance) and issuer URL: the
//!   `INSTANCE_URL` and `ISSUER_URL` vars when set, otherwise the origin the request
//!   came to.
//! - Its keyring: the root key from the `SIGNING_KEY` secret (a private Ed25519 JWK, or
//!   a base64url 32-byte seed), plus rotated keys stored sealed in the accounts object
//!   (rotation is a credential operation), with the latest `exp` each key signed, so a
//!   key retires once no token needs it. A rotated key is published at once and signs
//!   from [`KEY_ACTIVATION_SECONDS`] later: longer than validators cache the JWKS
//!   (`max-age=300`) plus this isolate cache, so no validator meets a token signed by a
//!   key it could not have fetched.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::request::Request;
use tessera_engine::{
    Decision, DenyCode, Expectations, KeySet, KeyUse, Keyring, LicenseClaims, RotatedKey,
    SigningKey, check_claims, normalize_instance,
};
use worker::Env;

use crate::error::ApiError;
use crate::kv::Kv;
use crate::objects::accounts::protocol::{self as accounts, AccountsCall};
use crate::objects::license::protocol::Licenses;

/// How long after its creation a rotated key starts to sign, by default: the JWKS's
/// `max-age` (300 s) plus [`KEYRING_SECONDS`]. The `KEY_ACTIVATION_SECONDS` var
/// overrides it (tests use a few seconds).
pub(crate) const KEY_ACTIVATION_SECONDS: u64 = 300 + KEYRING_SECONDS;

fn origin(req: &Request) -> Result<String, ApiError> {
    let url = req.url()?;
    Ok(format!("{}/", url.origin().ascii_serialization()))
}

fn configured(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.is_empty())
}

/// This deployment's own instance, canonical.
pub(crate) fn own_instance(req: &Request, env: &Env) -> Result<String, ApiError> {
    let url = configured(env, "INSTANCE_URL").map_or_else(|| origin(req), Ok)?;
    normalize_instance(&url)
        .ok_or_else(|| ApiError::Internal("INSTANCE_URL is not a root URL".into()))
}

/// The issuer URL new licenses carry in `iss`.
pub(crate) fn issuer(req: &Request, env: &Env) -> Result<String, ApiError> {
    let url = configured(env, "ISSUER_URL").map_or_else(|| origin(req), Ok)?;
    normalize_instance(&url)
        .ok_or_else(|| ApiError::Internal("ISSUER_URL is not a root URL".into()))
}

fn root_key(env: &Env) -> Result<SigningKey, ApiError> {
    let secret = env
        .secret("SIGNING_KEY")
        .map(|s| s.to_string())
        .map_err(|_| ApiError::Internal("the SIGNING_KEY secret is not set".into()))?;
    let secret = secret.trim();
    if secret.starts_with('{') {
        return SigningKey::from_private_jwk(secret)
            .map_err(|e| ApiError::Internal(format!("SIGNING_KEY: {e}")));
    }
    let seed: [u8; 32] = URL_SAFE_NO_PAD
        .decode(secret)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::Internal(
                "SIGNING_KEY is neither a private JWK nor a 32-byte base64url seed".into(),
            )
        })?;
    Ok(SigningKey::from_seed(&seed))
}

/// How long an isolate reuses the keyring it loaded, in seconds.
///
/// Loading costs a KV `list` (billed, and limited on the free plan to 1 000 a day) plus a
/// read and an unsealing per rotated key; every licensing request and the JWKS need the
/// keyring. KV's `list` is itself eventually consistent for up to 60 s across locations,
/// so a key rotated elsewhere may take that long to appear either way; the isolate that
/// rotates sees its new key at once.
const KEYRING_SECONDS: u64 = 30;

/// The keyring, its public key set, and the license tokens whose signature verified
/// under that set.
pub(crate) struct Keys {
    pub(crate) ring: Keyring,
    pub(crate) set: KeySet,
    /// Verified license tokens and their claims. A signature's validity under a fixed
    /// key set never changes, so a token seen again skips the Ed25519 check (apps send
    /// the same license at every checkout); time and identity are judged at every call.
    /// It lives and dies with this key set.
    verified: RefCell<HashMap<String, LicenseClaims>>,
}

/// How many verified tokens an isolate remembers (then it forgets them all).
const VERIFIED_TOKENS: usize = 1024;

impl Keys {
    fn new(ring: Keyring) -> Result<Keys, ApiError> {
        let set = ring.key_set()?;
        Ok(Keys {
            ring,
            set,
            verified: RefCell::new(HashMap::new()),
        })
    }

    /// [`tessera_engine::verify`], remembering tokens that verified.
    pub(crate) fn verify(&self, token: &str) -> Result<LicenseClaims, DenyCode> {
        if let Some(claims) = self.verified.borrow().get(token) {
            return Ok(claims.clone());
        }
        let claims = tessera_engine::verify(token, &self.set)?;
        let mut verified = self.verified.borrow_mut();
        if verified.len() >= VERIFIED_TOKENS {
            verified.clear();
        }
        verified.insert(token.to_string(), claims.clone());
        Ok(claims)
    }

    /// [`tessera_engine::validate`] over [`Keys::verify`].
    pub(crate) fn validate(&self, token: &str, expect: &Expectations, now: u64) -> Decision {
        match self.verify(token) {
            Ok(claims) => check_claims(claims, expect, now),
            Err(code) => Decision::Deny(code),
        }
    }
}

thread_local! {
    static KEYS: RefCell<Option<(u64, Rc<Keys>)>> = const { RefCell::new(None) };
}

/// The keyring and its key set (cached per isolate, see [`KEYRING_SECONDS`]).
pub(crate) async fn keys(env: &Env) -> Result<Rc<Keys>, ApiError> {
    let now = crate::platform::now();
    let cached = KEYS.with_borrow(|c| {
        c.as_ref()
            .filter(|(at, _)| now.saturating_sub(*at) < KEYRING_SECONDS)
            .map(|(_, keys)| Rc::clone(keys))
    });
    if let Some(keys) = cached {
        return Ok(keys);
    }
    let keys = remember(load_keyring(env).await?)?;
    Ok(keys)
}

/// The keyring (cached per isolate, see [`KEYRING_SECONDS`]).
pub(crate) async fn keyring(env: &Env) -> Result<Keyring, ApiError> {
    Ok(keys(env).await?.ring.clone())
}

fn remember(ring: Keyring) -> Result<Rc<Keys>, ApiError> {
    let now = crate::platform::now();
    let keys = Rc::new(Keys::new(ring)?);
    KEYS.with_borrow_mut(|c| *c = Some((now, Rc::clone(&keys))));
    Ok(keys)
}

/// The keyring from the accounts object; keys no token needs any more are retired on
/// the way (deleted there, left out here).
async fn load_keyring(env: &Env) -> Result<Keyring, ApiError> {
    let root = root_key(env)?;
    let (rotated, uses): (Vec<RotatedKey>, Vec<KeyUse>) =
        accounts::ask(env, AccountsCall::Keys).await?;
    let ring = Keyring::open(root.clone(), rotated.clone(), &uses)?;
    let retired = ring.retirable(crate::platform::now());
    if retired.is_empty() {
        return Ok(ring);
    }
    accounts::ask::<()>(
        env,
        AccountsCall::RetireKeys {
            kids: retired.clone(),
        },
    )
    .await?;
    let kept = rotated
        .into_iter()
        .filter(|e| !retired.contains(&e.kid))
        .collect();
    Ok(Keyring::open(root, kept, &uses)?)
}

/// Rotate: a new key, published now, signing from the activation delay on.
pub(crate) async fn rotate(env: &Env) -> Result<(Keyring, RotatedKey), ApiError> {
    let mut ring = load_keyring(env).await?;
    let now = crate::platform::now();
    let delay = env
        .var("KEY_ACTIVATION_SECONDS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(KEY_ACTIVATION_SECONDS);
    let entry = ring.rotate(
        &crate::platform::random::<32>()?,
        &crate::platform::random::<12>()?,
        now,
        now.saturating_add(delay),
    )?;
    accounts::ask::<()>(
        env,
        AccountsCall::AddKey {
            entry: entry.clone(),
        },
    )
    .await?;
    remember(ring.clone())?;
    Ok((ring, entry))
}

/// Record that key `kid` signed a license token valid until `exp`: the key stays in
/// the JWKS at least that long.
pub(crate) async fn key_used(env: &Env, kid: &str, exp: u64) -> Result<(), ApiError> {
    let call = AccountsCall::KeyUsed {
        kid: kid.to_string(),
        exp,
    };
    accounts::ask(env, call).await
}

/// What the licensing and seat routes need: the store, the licenses' live state, the
/// keys, and the issuer.
pub(crate) struct LicensingContext<'a> {
    kv: Kv,
    live: Licenses<'a>,
    pub(crate) keys: Rc<Keys>,
    pub(crate) issuer: String,
}

impl<'a> LicensingContext<'a> {
    pub(crate) async fn load(
        req: &Request,
        env: &'a Env,
    ) -> Result<LicensingContext<'a>, ApiError> {
        let kv = Kv::from_env(env)?;
        let keys = keys(env).await?;
        Ok(LicensingContext {
            kv,
            live: Licenses::new(env),
            keys,
            issuer: issuer(req, env)?,
        })
    }

    pub(crate) fn service(&self) -> tessera_engine::Licensing<'_, Kv, Licenses<'a>> {
        tessera_engine::Licensing {
            store: &self.kv,
            live: &self.live,
            keys: &self.keys.set,
            signer: self.keys.ring.active(crate::platform::now()),
            issuer: &self.issuer,
        }
    }

    /// The license objects.
    pub(crate) fn live(&self) -> &Licenses<'a> {
        &self.live
    }

    /// The license token an app presents (trimmed), for its `product` (an identity) if
    /// it names one: its claims, and the code it is refused with, if it is. A license
    /// that verifies — our signature and issuer, a plausible id — is answered even when
    /// refused (expired, another product), so its license records the denial; one that
    /// does not verify has no license to tell, and is refused here.
    pub(crate) fn license_for_app(
        &self,
        token: &str,
        product: Option<&str>,
        now: u64,
    ) -> Result<(LicenseClaims, Option<DenyCode>), ApiError> {
        let token = token.trim();
        let refuse = |code| ApiError::Seat(tessera_engine::SeatDenial::License(code));
        let claims = match self.keys.verify(token) {
            Ok(claims)
                if claims.iss == self.issuer && tessera_engine::plausible_id(&claims.lid) =>
            {
                claims
            }
            Ok(claims) if claims.iss != self.issuer => return Err(refuse(DenyCode::WrongIssuer)),
            Ok(_) => return Err(refuse(DenyCode::Malformed)),
            Err(code) => return Err(refuse(code)),
        };
        // Products compare in their one identity form, as the seats do.
        let covered =
            product.is_none_or(|p| claims.prod.iter().any(|q| tessera_engine::identity(q) == p));
        let refused = if covered {
            let expect = Expectations::default().issuer(self.issuer.as_str());
            match check_claims(claims.clone(), &expect, now) {
                Decision::Allow(_) => None,
                Decision::Deny(code) => Some(code),
            }
        } else {
            Some(DenyCode::WrongProduct)
        };
        Ok((claims, refused))
    }

    /// The key new tokens (licenses and leases) are signed with.
    pub(crate) fn signer(&self) -> &SigningKey {
        self.keys.ring.active(crate::platform::now())
    }
}

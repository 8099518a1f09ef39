//! This deployment's identity, its secret and its signing keys.
//!
//! - Its secret ([`secret`]): `DEPLOYMENT_SECRET`, for the MACs the deployment checks.
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
    Decision, DenyCode, DeploymentSecret, Expectations, KeySet, KeyUse, Keyring, LicenseClaims,
    Retired, RotatedKey, SigningKey, check_claims, normalize_instance,
};
use worker::Env;

use crate::error::ApiError;
use crate::kv::Kv;
use crate::objects::accounts::protocol::{self as accounts, AccountsCall};
use crate::objects::license::protocol::Licenses;
use crate::platform::WebKey;

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

/// The deployment secret (`DEPLOYMENT_SECRET`, 32 bytes base64url): apart from every
/// signing key, it authenticates device cookies (see `tessera_engine::DeploymentSecret`).
pub(crate) fn secret(env: &Env) -> Result<DeploymentSecret, ApiError> {
    let text = env
        .secret("DEPLOYMENT_SECRET")
        .map(|s| s.to_string())
        .map_err(|_| ApiError::Internal("the DEPLOYMENT_SECRET secret is not set".into()))?;
    Ok(DeploymentSecret::parse(&text)?)
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

/// The keyring (its keys held by Web Crypto: no seed here), its public key set, and the
/// license tokens whose signature verified under that set.
pub(crate) struct Keys {
    pub(crate) ring: Keyring<WebKey>,
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
    async fn new(ring: Keyring) -> Result<Keys, ApiError> {
        let ring = crate::platform::import_keys(ring).await?;
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
    remember(load_keyring(env).await?).await
}

async fn remember(ring: Keyring) -> Result<Rc<Keys>, ApiError> {
    let now = crate::platform::now();
    let keys = Rc::new(Keys::new(ring).await?);
    KEYS.with_borrow_mut(|c| *c = Some((now, Rc::clone(&keys))));
    Ok(keys)
}

thread_local! {
    /// The entries this isolate already reported as not opening.
    static REPORTED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The keyring from the accounts object, opened under the deployment secret. On the
/// way: entries of earlier versions are stored sealed anew; entries that do not open
/// are skipped and reported (the log, the audit log once per isolate, `/api/health`);
/// keys no token needs any more are retired (deleted there, left out here).
async fn load_keyring(env: &Env) -> Result<Keyring, ApiError> {
    let root = root_key(env)?;
    let sealer = secret(env)?;
    let (rotated, uses, retired_roots): (Vec<RotatedKey>, Vec<KeyUse>, Vec<String>) =
        accounts::ask(env, AccountsCall::Keys).await?;
    let opened = Keyring::open(root, &retired_roots, &sealer, rotated, &uses, &mut || {
        crate::platform::random::<12>().ok()
    });
    let mut ring = opened.ring;
    if !opened.resealed.is_empty() {
        accounts::ask::<()>(
            env,
            AccountsCall::ResealKeys {
                entries: opened.resealed,
            },
        )
        .await?;
    }
    for kid in ring.unopened() {
        let new = REPORTED.with_borrow_mut(|r| {
            let new = !r.contains(kid);
            if new {
                r.push(kid.clone());
            }
            new
        });
        if new {
            worker::console_error!(
                "signing key {kid} does not open under DEPLOYMENT_SECRET: skipped (GET /api/keys lists it)"
            );
            // Written here, not through `audit` (which reads the caller): the actor is
            // the deployment itself.
            let entry = tessera_engine::api::AuditEntry {
                seq: 0,
                at: crate::platform::now(),
                actor: "system".into(),
                token_id: None,
                via: "system".into(),
                action: "keys.unopened".into(),
                object: Some(kid.clone()),
                address: None,
            };
            let written = match crate::events::Store::open(env).await {
                Ok(store) => store.audit(&entry).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                worker::console_error!("audit entry keys.unopened not written: {e:?}");
            }
        }
    }
    let now = crate::platform::now();
    let retired = ring.retirable(now);
    if !retired.is_empty() {
        accounts::ask::<()>(
            env,
            AccountsCall::RetireKeys {
                kids: retired.clone(),
            },
        )
        .await?;
        for kid in &retired {
            ring.retire(kid, now)?;
        }
    }
    Ok(ring)
}

/// Rotate: a new key, published now, signing from the activation delay on — or at
/// once (`activate_now`, after a compromise: validators that cached the JWKS refuse its
/// tokens until they fetch it again, at most `max-age` later).
pub(crate) async fn rotate(
    env: &Env,
    activate_now: bool,
) -> Result<(Rc<Keys>, RotatedKey), ApiError> {
    let mut ring = load_keyring(env).await?;
    let now = crate::platform::now();
    let delay = env
        .var("KEY_ACTIVATION_SECONDS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(KEY_ACTIVATION_SECONDS);
    let seed = zeroize::Zeroizing::new(crate::platform::random::<32>()?);
    let entry = ring.rotate(
        &secret(env)?,
        &seed,
        &crate::platform::random::<12>()?,
        now,
        if activate_now {
            now
        } else {
            now.saturating_add(delay)
        },
    )?;
    accounts::ask::<()>(
        env,
        AccountsCall::AddKey {
            entry: entry.clone(),
        },
    )
    .await?;
    Ok((remember(ring).await?, entry))
}

/// Retire key `kid` now (any key but the one signing, the root included): it leaves
/// the JWKS, and every token it signed stops verifying.
pub(crate) async fn retire(env: &Env, kid: &str) -> Result<Rc<Keys>, ApiError> {
    let mut ring = load_keyring(env).await?;
    let call = match ring.retire(kid, crate::platform::now())? {
        Retired::Root => AccountsCall::RetireRoot {
            kid: kid.to_string(),
        },
        Retired::Rotated => AccountsCall::RetireKeys {
            kids: vec![kid.to_string()],
        },
    };
    accounts::ask::<()>(env, call).await?;
    remember(ring).await
}

/// Where the licensing service notes, before each signature, that key `kid` signs a
/// license token valid until `exp`: the key stays in the JWKS at least that long (the
/// accounts object keeps the notes beside the keys).
pub(crate) struct KeyUseLog<'a>(&'a Env);

impl tessera_engine::KeyUses for KeyUseLog<'_> {
    async fn used(&self, kid: &str, exp: u64) -> Result<(), tessera_engine::Error> {
        let call = AccountsCall::KeyUsed {
            kid: kid.to_string(),
            exp,
        };
        accounts::ask(self.0, call)
            .await
            .map_err(|e| tessera_engine::Error::Store(format!("noting key {kid}'s use: {e:?}")))
    }
}

/// What the licensing and seat routes need: the store, the licenses' live state, the
/// keys, and the issuer.
pub(crate) struct LicensingContext<'a> {
    kv: Kv,
    live: Licenses<'a>,
    key_uses: KeyUseLog<'a>,
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
            key_uses: KeyUseLog(env),
            keys,
            issuer: issuer(req, env)?,
        })
    }

    pub(crate) fn service(
        &self,
    ) -> tessera_engine::Licensing<'_, Kv, Licenses<'a>, KeyUseLog<'a>, WebKey> {
        tessera_engine::Licensing {
            store: &self.kv,
            live: &self.live,
            key_uses: &self.key_uses,
            keys: &self.keys.set,
            signer: self.signer().ok(),
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

    /// The key new tokens (licenses and leases) are signed with; an error when none
    /// can sign (the root retired and no rotated key active).
    pub(crate) fn signer(&self) -> Result<&WebKey, ApiError> {
        Ok(self.keys.ring.active(crate::platform::now())?)
    }
}

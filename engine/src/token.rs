//! License tokens: signing, and validation from raw string to [`Decision`].
//!
//! Validation never trusts a byte before the signature over it has verified: the header
//! is read only to pick the algorithm and key, and the claims only after the key's
//! Ed25519 check (`ed25519.rs`) has verified the signature. Then [`check_claims`]
//! decides. Signing goes through `jsonwebtoken` and the EdDSA-only provider of
//! `crypto.rs`. Every failure is a [`DenyCode`], never a
//! panic.
//!
//! The header and claims are parsed here, once each, into small structs, rather than
//! by `jsonwebtoken::decode`, which parses both twice and links its full `Header` and
//! `Jwk` deserialisers: that halved the overhead over a bare verify and kept the npm
//! validator's wasm within its budget.

use std::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::claims::LicenseClaims;
use crate::decision::{Decision, DenyCode, Expectations, check_claims};
use crate::keys::KeySet;

/// The longest token accepted, in bytes. Real licenses are under 1 KiB; anything
/// larger is refused as `MALFORMED` before any decoding work is done.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The `typ` a lease token carries (RFC 8725 §3.11: explicit typing), so a lease token
/// is never taken for a license, nor a license for a lease.
pub const LEASE_TYP: &str = "lease+jwt";

/// The `typ` a machine token carries.
pub const MACHINE_TYP: &str = "machine+jwt";

/// RFC 7800 confirmation: the key a token is bound to, by its RFC 7638 thumbprint
/// (RFC 9449's `jkt`). Only the installation holding that key can use the token.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Confirmation {
    /// The key's thumbprint.
    pub jkt: String,
}

/// The claims of a lease token: one product of license `lid` lent to `user` from
/// one installation (bound by `cnf`), until `exp`. Apps hold it to keep working offline
/// until the lease ends; each heartbeat answers the next `gen`eration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaseClaims {
    /// The issuing deployment.
    pub iss: String,
    /// The lease id.
    pub jti: String,
    /// The license it is a seat of.
    pub lid: String,
    /// The product lent.
    pub prod: String,
    /// The user holding it.
    pub user: String,
    /// The host it was taken from ("" if none).
    #[serde(default)]
    pub host: String,
    /// When this token was signed.
    pub iat: u64,
    /// When the lease ends unless heartbeated.
    pub exp: u64,
    /// The installation the lease is bound to.
    pub cnf: Confirmation,
    /// The session's token generation: only the newest is accepted.
    pub r#gen: u64,
}

/// The claims of a machine token: license `lid` activated on one installation (bound by
/// `cnf`), as machine `jti`, until `exp` (the license's end). A node-locked app checks
/// it offline at start.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MachineClaims {
    /// The issuing deployment.
    pub iss: String,
    /// The machine id.
    pub jti: String,
    /// The license.
    pub lid: String,
    /// The products the license covers.
    #[serde(default)]
    pub prod: std::vec::Vec<String>,
    /// The name the machine gave.
    #[serde(default)]
    pub name: String,
    /// When this token was signed.
    pub iat: u64,
    /// When the license stops (this token with it).
    pub exp: u64,
    /// The installation the machine is.
    pub cnf: Confirmation,
}

/// Verify a lease token's signature and type and read its claims, with no time check:
/// the API tells an expired lease from a revoked one by `exp`.
pub fn verify_lease(token: &str, keys: &KeySet) -> Result<LeaseClaims, DenyCode> {
    let payload = verify_jws(token, keys, Typ::Lease)?;
    decode_json(payload)
}

/// Verify a machine token's signature and type and read its claims, with no time check.
pub fn verify_machine(token: &str, keys: &KeySet) -> Result<MachineClaims, DenyCode> {
    let payload = verify_jws(token, keys, Typ::Machine)?;
    decode_json(payload)
}

/// Judge a verified machine token at `now`: the issuer and product `expect`ed, the
/// installation it must be bound to, then `exp` (with `expect.leeway`).
pub fn judge_machine(
    claims: &MachineClaims,
    expect: &Expectations,
    now: u64,
) -> Result<(), DenyCode> {
    let product = |p: &str| claims.prod.iter().any(|q| q == p);
    judge_bound(
        expect,
        now,
        &claims.iss,
        product,
        &claims.cnf.jkt,
        claims.exp,
    )
}

/// Judge a verified lease's claims at `now`: the issuer and product `expect`ed (a lease
/// has no instance), the installation it must be bound to, then `exp` (with
/// `expect.leeway`).
pub fn judge_lease(claims: &LeaseClaims, expect: &Expectations, now: u64) -> Result<(), DenyCode> {
    let product = |p: &str| p == claims.prod;
    judge_bound(
        expect,
        now,
        &claims.iss,
        product,
        &claims.cnf.jkt,
        claims.exp,
    )
}

/// The checks of a token bound to an installation (RFC 7800 `cnf`), in their order.
fn judge_bound(
    expect: &Expectations,
    now: u64,
    iss: &str,
    product: impl Fn(&str) -> bool,
    jkt: &str,
    exp: u64,
) -> Result<(), DenyCode> {
    if expect.issuer.as_deref().is_some_and(|i| i != iss) {
        Err(DenyCode::WrongIssuer)
    } else if expect.product.as_deref().is_some_and(|p| !product(p)) {
        Err(DenyCode::WrongProduct)
    } else if expect.installation.as_deref().is_some_and(|j| j != jkt) {
        Err(DenyCode::WrongInstallation)
    } else if now >= exp.saturating_add(expect.leeway) {
        Err(DenyCode::Expired)
    } else {
        Ok(())
    }
}

/// Validate a license token at time `now` (Unix seconds) against trusted `keys` and
/// `expect`ations.
///
/// ```
/// use tessera_engine::{Expectations, KeySet, LicenseClaims, SigningKey, sign, validate, DenyCode};
/// let key = SigningKey::from_seed(&[7; 32]);
/// let mut keys = KeySet::new();
/// keys.insert_signing_key(&key).unwrap();
/// let claims = LicenseClaims { iss: "https://issuer.example".into(), exp: 200, lexp: 300, ..Default::default() };
/// let token = sign(&claims, &key).unwrap();
/// let expect = Expectations::default().issuer("https://issuer.example");
/// assert!(validate(&token, &keys, &expect, 100).is_allowed());
/// assert_eq!(validate(&token, &keys, &expect, 200).deny_code(), Some(DenyCode::Expired));
/// ```
pub fn validate(token: &str, keys: &KeySet, expect: &Expectations, now: u64) -> Decision {
    match verify(token, keys) {
        Ok(claims) => check_claims(claims, expect, now),
        Err(code) => Decision::Deny(code),
    }
}

/// Verify the signature and read the claims, with no time or identity checks: for
/// renewal (which must work on an expired token) and for showing a refused license.
pub fn verify(token: &str, keys: &KeySet) -> Result<LicenseClaims, DenyCode> {
    let payload = verify_jws(token, keys, Typ::License)?;
    decode_json(payload)
}

/// Which kind of token a verification expects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Typ {
    /// A license: `typ` absent or `JWT`.
    License,
    /// A lease: `typ` exactly [`LEASE_TYP`].
    Lease,
    /// A machine: `typ` exactly [`MACHINE_TYP`].
    Machine,
}

/// Check a compact JWS (size, header, algorithm, type, key, signature) and return its
/// payload part, still encoded. Nothing of the payload is read before this succeeds.
fn verify_jws<'t>(token: &'t str, keys: &KeySet, typ: Typ) -> Result<&'t str, DenyCode> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(DenyCode::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DenyCode::Malformed);
    };
    let header: JoseHeader = decode_json(header)?;
    if header.alg != "EdDSA" {
        return Err(DenyCode::WrongAlgorithm);
    }
    if header.crit.is_some() {
        // RFC 7515 §4.1.11: we understand no extensions, so a critical one is fatal.
        return Err(DenyCode::Malformed);
    }
    let found = match header.typ.as_deref() {
        Some(LEASE_TYP) => Typ::Lease,
        Some(MACHINE_TYP) => Typ::Machine,
        _ => Typ::License,
    };
    if found != typ {
        // A lease token is not a license, a license is not a lease token, and a machine
        // token is neither (RFC 8725 §3.11: explicit typing).
        return Err(DenyCode::Malformed);
    }
    let message = &token[..header_and_payload_len(token)];
    let key = match header.kid {
        Some(kid) => Some(keys.get(&kid).ok_or(DenyCode::UnknownKey)?),
        // No `kid`: each trusted key is tried (a JWKS holds few).
        None if keys.is_empty() => return Err(DenyCode::UnknownKey),
        None => None,
    };
    // Not base64url: malformed. Not 64 bytes: a signature no key made.
    let signature = B64.decode(signature).map_err(|_| DenyCode::Malformed)?;
    let Ok(signature) = <[u8; 64]>::try_from(signature) else {
        return Err(DenyCode::BadSignature);
    };
    let message = message.as_bytes();
    let verified = match key {
        Some(key) => key.verify(message, &signature),
        None => keys.verifiers().any(|key| key.verify(message, &signature)),
    };
    if !verified {
        return Err(DenyCode::BadSignature);
    }
    Ok(payload)
}

/// The `kid` a token's header names, unverified: for a shell that signed the token and
/// records which key did.
pub fn header_kid(token: &str) -> Option<String> {
    let header = token.split('.').next()?;
    decode_json::<JoseHeader>(header).ok()?.kid
}

/// The JOSE header members the engine reads; others are ignored.
#[derive(serde::Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    typ: Option<String>,
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, DenyCode> {
    let bytes = B64.decode(part).map_err(|_| DenyCode::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| DenyCode::Malformed)
}

/// Length of `header.payload`, the JWS signing input.
fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

//! What the engine leaves to the shell: the clock, randomness, hashing secrets, and
//! native crypto.
//!
//! PBKDF2 runs in the runtime's Web Crypto (`crypto.subtle.deriveBits`), natively, so a
//! password check costs a fraction of the same loop in wasm.
//!
//! Tokens are signed there too ([`WebKey`]): each signing key is imported once per
//! isolate as a non-extractable Ed25519 `CryptoKey`; the engine builds each token
//! ([`tessera_engine::sign_with`]) and Web Crypto signs its input natively. The seed
//! crosses once, from a buffer wiped on both sides, and the keyring the isolate keeps
//! holds only these keys ([`import_keys`]): no seed stays in wasm memory.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, Uint8Array};
use tessera_engine::{Keyring, Sign, SigningKey};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use crate::error::ApiError;

/// The request's time, Unix seconds: the `now` every engine decision gets.
pub(crate) fn now() -> u64 {
    worker::Date::now().as_millis() / 1000
}

/// SHA-256 of `secret`, lower-case hex: how secrets are looked up and objects named,
/// so no secret (and no 10 KB name) is stored or used as a key.
pub(crate) fn sha256_hex(secret: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

/// `N` bytes from the runtime's CSPRNG.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| ApiError::Internal(format!("getrandom: {e}")))?;
    Ok(bytes)
}

/// A random id: 16 bytes, base64url (22 characters).
pub(crate) fn random_id() -> Result<String, ApiError> {
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<16>()?))
}

fn js_error(what: &str) -> impl Fn(wasm_bindgen::JsValue) -> ApiError + '_ {
    move |e| ApiError::Internal(format!("{what}: {e:?}"))
}

fn subtle() -> Result<SubtleCrypto, ApiError> {
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    Ok(global.crypto().map_err(js_error("crypto"))?.subtle())
}

/// PBKDF2-HMAC-SHA256 of `password` with `salt` and `iterations`, 32 bytes.
pub(crate) async fn pbkdf2(
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<[u8; 32], ApiError> {
    let subtle = subtle()?;
    let usages = Array::of1(&"deriveBits".into());
    let key = JsFuture::from(
        subtle
            .import_key_with_str(
                "raw",
                &Uint8Array::from(password.as_bytes()),
                "PBKDF2",
                false,
                &usages,
            )
            .map_err(js_error("importKey"))?,
    )
    .await
    .map_err(js_error("importKey"))?;
    let params = web_sys::Pbkdf2Params::new(
        "PBKDF2",
        &"SHA-256".into(),
        iterations,
        &Uint8Array::from(salt),
    );
    let bits = JsFuture::from(
        subtle
            .derive_bits_with_object(&params, &key.unchecked_into(), 256)
            .map_err(js_error("deriveBits"))?,
    )
    .await
    .map_err(js_error("deriveBits"))?;
    let bytes = Uint8Array::new(&bits).to_vec();
    bytes
        .try_into()
        .map_err(|_| ApiError::Internal("deriveBits returned the wrong length".into()))
}

/// A signing key held by Web Crypto: Ed25519, non-extractable, usable only to sign.
#[derive(Debug, Clone)]
pub(crate) struct WebKey {
    kid: String,
    public: [u8; 32],
    key: CryptoKey,
}

impl Sign for WebKey {
    fn kid(&self) -> &str {
        &self.kid
    }

    fn public_bytes(&self) -> [u8; 32] {
        self.public
    }

    async fn signature(&self, input: &[u8]) -> Result<String, tessera_engine::Error> {
        use base64::Engine as _;
        let failed = |e: wasm_bindgen::JsValue| tessera_engine::Error::Signing(format!("{e:?}"));
        let subtle = subtle().map_err(|e| tessera_engine::Error::Signing(format!("{e:?}")))?;
        let promise = subtle
            .sign_with_str_and_u8_array("Ed25519", &self.key, input)
            .map_err(failed)?;
        let signature = JsFuture::from(promise).await.map_err(failed)?;
        let bytes = Uint8Array::new(&signature).to_vec();
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

thread_local! {
    /// The keys this isolate imported, by `kid` and public key: each seed crosses once.
    static IMPORTED: RefCell<HashMap<(String, [u8; 32]), CryptoKey>> =
        RefCell::new(HashMap::new());
}

/// `key` as a non-extractable Web Crypto key (imported at its first use in the isolate).
async fn import_key(key: &SigningKey) -> Result<CryptoKey, ApiError> {
    let id = (key.kid().to_string(), key.public_bytes());
    if let Some(known) = IMPORTED.with_borrow(|keys| keys.get(&id).cloned()) {
        return Ok(known);
    }
    let der = Uint8Array::from(&key.pkcs8()[..]);
    let promise =
        subtle()?.import_key_with_str("pkcs8", &der, "Ed25519", false, &Array::of1(&"sign".into()));
    // importKey copied the bytes before it returned (Web Crypto §14.3.9, step 2).
    der.fill(0, 0, der.length());
    let imported: CryptoKey = JsFuture::from(promise.map_err(js_error("importKey"))?)
        .await
        .map_err(js_error("importKey Ed25519"))?
        .unchecked_into();
    IMPORTED.with_borrow_mut(|keys| keys.insert(id, imported.clone()));
    Ok(imported)
}

/// The keyring with every key swapped for its Web Crypto key; the seeds are dropped
/// (and wiped) with the ring that held them.
pub(crate) async fn import_keys(ring: Keyring) -> Result<Keyring<WebKey>, ApiError> {
    let mut imported = HashMap::new();
    for key in ring.keys() {
        imported.insert(key.kid().to_string(), import_key(key).await?);
    }
    ring.map_keys(|key: SigningKey| {
        let crypto = imported
            .get(key.kid())
            .cloned()
            .ok_or_else(|| ApiError::Internal(format!("key {} was not imported", key.kid())))?;
        Ok(WebKey {
            kid: key.kid().to_string(),
            public: key.public_bytes(),
            key: crypto,
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            super::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

//! What the engine leaves to the shell: the clock, randomness, hashing secrets, and
//! native crypto.
//!
//! PBKDF2 runs in the runtime's Web Crypto (`crypto.subtle.deriveBits`), natively, so a
//! password check costs a fraction of the same loop in wasm.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

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

/// PBKDF2-HMAC-SHA256 of `password` with `salt` and `iterations`, 32 bytes.
pub(crate) async fn pbkdf2(
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<[u8; 32], ApiError> {
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let subtle = global.crypto().map_err(js_error("crypto"))?.subtle();
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

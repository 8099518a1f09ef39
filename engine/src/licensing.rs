//! The licensing service: issuing licenses, and the applied license of seed 004.
//!
//! Two kinds of record, both in a [`Store`]:
//!
//! - `licence:<lid>` — a [`LicenseRecord`]: an issued license, its latest token, and
//!   whether it was revoked.
//! - `applied:<instance>` — an [`AppliedLicense`]: the token applied to an instance
//!   (seed 004's `POST /api/licensing/token`), keyed by the instance's canonical URL.
//!
//! Whether a license is revoked is not a record's field to read back and write: it is
//! the license's *live state* ([`LiveState`], one Durable Object per license in the
//! worker), asked on every check and written only by [`Licensing::revoke`]. The
//! record's `state` is a copy for lists; renewal, which rewrites the record with its
//! fresh token, asks the live state again after writing and restores the copy if a
//! revocation landed in between, so a revocation is never lost, not even in a list.
//!
//! Every operation takes `now` and any fresh ids as arguments, validates all its input
//! before it writes, and writes at most once per store, so a refused request changes
//! nothing. HTTP, authentication and randomness are the worker's.

use std::string::{String, ToString};
use std::vec::Vec;

use crate::claims::LicenseClaims;
use crate::decision::{Decision, DenyCode, Expectations};
use crate::error::Error;
use crate::keys::KeySet;
use crate::records::{
    AppliedLicense, AppliedView, IssueRequest, LicenseRecord, LicenseState, LicenseStatus,
    plausible_id,
};
use crate::renewal::renew;
use crate::seats::{Revocation, SeatTerms};
use crate::signing::{Sign, SigningKey, sign_with};
use crate::store::{KeyUses, LiveState, Store};
use crate::token::{MAX_TOKEN_BYTES, validate, verify};

/// The prefix of issued licenses' records. Stored keys are data, not code: they keep
/// the British spelling the first version wrote, or every stored record would be lost.
const LICENSE_PREFIX: &str = "licence:";

fn license_key(lid: &str) -> String {
    std::format!("{LICENSE_PREFIX}{lid}")
}

fn applied_key(instance: &str) -> String {
    std::format!("applied:{instance}")
}

/// The licensing service over a store, the licenses' live state, the trusted keys,
/// the active signing key and where its uses are noted.
#[derive(Debug)]
pub struct Licensing<'a, S: Store, L: LiveState, K: KeyUses, P: Sign = SigningKey> {
    /// Where records live.
    pub store: &'a S,
    /// Where each license's revocation (and seats) live.
    pub live: &'a L,
    /// Where each signature is noted, before it is made.
    pub key_uses: &'a K,
    /// Every key tokens may be signed with.
    pub keys: &'a KeySet,
    /// The key new tokens are signed with (none: nothing can sign, and issuing or
    /// renewing is refused; reading and checking still work).
    pub signer: Option<&'a P>,
    /// This deployment's issuer URL (`iss`).
    pub issuer: &'a str,
}

impl<S: Store, L: LiveState, K: KeyUses, P: Sign> Licensing<'_, S, L, K, P> {
    async fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.store.get(key).await? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| Error::Store(std::format!("corrupt record {key}: {e}"))),
        }
    }

    async fn write<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<(), Error> {
        let json = serde_json::to_string(value).map_err(|e| Error::Store(e.to_string()))?;
        self.store.put(key, &json).await
    }

    /// Note the signer's use until `claims.exp`, then sign: a token never exists that
    /// its key's record does not cover (a key retires only once no token needs it).
    async fn sign(&self, claims: &LicenseClaims) -> Result<String, Error> {
        let signer = self.signer.ok_or(Error::Config(
            "no key can sign: the root key is retired and no rotated key is active; rotate",
        ))?;
        self.key_uses.used(signer.kid(), claims.exp).await?;
        sign_with(claims, "JWT", signer).await
    }

    fn expect(&self, instance: &str) -> Expectations {
        Expectations::default()
            .issuer(self.issuer)
            .instance(instance)
    }

    /// Issue a license: check the request, sign its first token, store the record.
    pub async fn issue(
        &self,
        request: IssueRequest,
        lid: String,
        jti: String,
        actor: &str,
        now: u64,
    ) -> Result<LicenseRecord, Error> {
        let lease_seconds = request.lease_seconds;
        let claims = request.into_claims(self.issuer, lid, jti, now)?;
        let token = self.sign(&claims).await?;
        if token.len() > MAX_TOKEN_BYTES {
            // Every verifier refuses a longer token unread: such a license could never
            // be applied or validated.
            return Err(Error::Invalid {
                field: "request",
                message: std::format!(
                    "makes a license token of {} bytes, over the {MAX_TOKEN_BYTES} every \
                     verifier accepts: shorten the products, details_url or other texts",
                    token.len()
                ),
            });
        }
        // The live state first: a record never exists without it (an orphaned live
        // state under a random id is harmless).
        self.live
            .open(&SeatTerms::from_claims(&claims, lease_seconds))
            .await?;
        let record = LicenseRecord {
            lid: claims.lid.clone(),
            state: LicenseState::Active,
            claims,
            token,
            created_at: now,
            created_by: actor.to_string(),
            revoked_at: None,
            revoked_by: None,
            lease_seconds,
        };
        self.write(&license_key(&record.lid), &record).await?;
        Ok(record)
    }

    /// Up to `limit` issued licenses in license-id order, from where `cursor` (a
    /// previous page's `next_cursor`) left off. Each page costs one listing and `limit`
    /// reads, however many licenses there are. Tokens are withheld
    /// ([`LicenseRecord::without_token`]).
    pub async fn list(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<crate::api::Page<LicenseRecord>, Error> {
        let (keys, next_cursor) = self.store.list_page(LICENSE_PREFIX, cursor, limit).await?;
        let mut items = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(record) = self.read::<LicenseRecord>(&key).await? {
                // A list shows ids and claims: a token is a seat credential.
                items.push(record.without_token());
            }
        }
        Ok(crate::api::Page { items, next_cursor })
    }

    async fn record(&self, lid: &str) -> Result<LicenseRecord, Error> {
        if !plausible_id(lid) {
            return Err(Error::NotFound("license"));
        }
        self.read(&license_key(lid))
            .await?
            .ok_or(Error::NotFound("license"))
    }

    /// Whether this deployment issued license `lid`.
    pub async fn exists(&self, lid: &str) -> Result<bool, Error> {
        Ok(plausible_id(lid) && self.store.get(&license_key(lid)).await?.is_some())
    }

    /// One issued license, its state as the live state has it.
    pub async fn get(&self, lid: &str) -> Result<LicenseRecord, Error> {
        let mut record = self.record(lid).await?;
        if record.state == LicenseState::Active
            && let Some(revocation) = self.live.revocation(lid).await?
        {
            mark_revoked(&mut record, revocation);
        }
        Ok(record)
    }

    /// Revoke a license: its live state first (which ends its seats), then the
    /// record's copy. Revoking a revoked license changes nothing.
    pub async fn revoke(&self, lid: &str, actor: &str, now: u64) -> Result<LicenseRecord, Error> {
        let mut record = self.record(lid).await?;
        let revocation = self.live.revoke(lid, actor, now).await?;
        if record.state == LicenseState::Revoked
            && record.revoked_at == Some(revocation.at)
            && record.revoked_by.as_deref() == Some(revocation.by.as_str())
        {
            return Ok(record);
        }
        mark_revoked(&mut record, revocation);
        self.write(&license_key(lid), &record).await?;
        Ok(record)
    }

    /// A fresh token for license `lid`, issued at `now` with id `jti` and signed by the
    /// active key (after a compromise, for licenses a retired key signed). The claims
    /// are a renewal's ([`renew`]): refused for a revoked or expired license.
    pub async fn reissue(&self, lid: &str, jti: String, now: u64) -> Result<LicenseRecord, Error> {
        let mut record = self.record(lid).await?;
        if record.state == LicenseState::Revoked || self.is_revoked(lid).await? {
            return Err(Error::Refused(DenyCode::Revoked));
        }
        let claims = renew(&record.claims, jti, now).map_err(Error::Refused)?;
        record.token = self.sign(&claims).await?;
        record.claims = claims;
        self.write(&license_key(lid), &record).await?;
        // A revocation between the check above and this write would have had its copy
        // overwritten: ask the live state again, and restore the copy.
        if let Some(revocation) = self.live.revocation(lid).await? {
            mark_revoked(&mut record, revocation);
            self.write(&license_key(lid), &record).await?;
        }
        Ok(record)
    }

    async fn is_revoked(&self, lid: &str) -> Result<bool, Error> {
        if !plausible_id(lid) {
            return Ok(false); // no license can have this id, so none was revoked
        }
        Ok(self.live.revocation(lid).await?.is_some())
    }

    /// Judge a token for `instance` at `now`, revocation included.
    async fn judge(&self, token: &str, instance: &str, now: u64) -> Result<Decision, Error> {
        let decision = validate(token, self.keys, &self.expect(instance), now);
        if let Decision::Allow(license) = &decision
            && self.is_revoked(&license.claims.lid).await?
        {
            return Ok(Decision::Deny(DenyCode::Revoked));
        }
        Ok(decision)
    }

    async fn store_applied(
        &self,
        instance: &str,
        token: &str,
        actor: &str,
        now: u64,
    ) -> Result<(), Error> {
        let applied = AppliedLicense {
            instance: instance.to_string(),
            token: token.to_string(),
            applied_at: now,
            applied_by: actor.to_string(),
        };
        self.write(&applied_key(instance), &applied).await
    }

    /// Seed 004 `check`: is a valid license applied to `instance` (canonical) now?
    pub async fn check(&self, instance: &str, now: u64) -> Result<bool, Error> {
        match self.read::<AppliedLicense>(&applied_key(instance)).await? {
            None => Ok(false),
            Some(applied) => Ok(self
                .judge(&applied.token, instance, now)
                .await?
                .is_allowed()),
        }
    }

    /// The applied license of `instance` (canonical) as the console shows it.
    pub async fn applied(&self, instance: &str, now: u64) -> Result<Option<AppliedView>, Error> {
        let Some(applied) = self.read::<AppliedLicense>(&applied_key(instance)).await? else {
            return Ok(None);
        };
        let decision = self.judge(&applied.token, instance, now).await?;
        let (valid, code, claims, warnings) = match decision {
            Decision::Allow(l) => (true, None, Some(l.claims), l.warnings),
            Decision::Deny(code) => (
                false,
                Some(code),
                verify(&applied.token, self.keys).ok(),
                Vec::new(),
            ),
        };
        Ok(Some(AppliedView {
            instance: applied.instance,
            valid,
            code,
            claims,
            warnings,
            applied_at: applied.applied_at,
            applied_by: applied.applied_by,
        }))
    }

    /// Seed 004 `POST /api/licensing/token`: apply `token` to `instance` (canonical).
    /// Refused, storing nothing, unless it is valid for that instance now.
    pub async fn apply(
        &self,
        instance: &str,
        token: &str,
        actor: &str,
        now: u64,
    ) -> Result<LicenseStatus, Error> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Error::Refused(DenyCode::Malformed));
        }
        let license = match self.judge(token, instance, now).await? {
            Decision::Allow(license) => license,
            Decision::Deny(code) => return Err(Error::Refused(code)),
        };
        self.store_applied(instance, token, actor, now).await?;
        Ok(LicenseStatus::new(license.claims, license.warnings, None))
    }

    /// Seed 004 `POST /api/licensing/token/renew`: a fresh token for the license
    /// applied to `instance`, applied in its place. Works on an expired *token*;
    /// refused for an expired, ended-trial or revoked *license*.
    pub async fn renew(
        &self,
        instance: &str,
        jti: String,
        actor: &str,
        now: u64,
    ) -> Result<LicenseStatus, Error> {
        let applied: AppliedLicense = self
            .read(&applied_key(instance))
            .await?
            .ok_or(Error::NotFound("applied license"))?;
        let old = verify(&applied.token, self.keys).map_err(Error::Refused)?;
        if self.is_revoked(&old.lid).await? {
            return Err(Error::Refused(DenyCode::Revoked));
        }
        let claims = renew(&old, jti, now).map_err(Error::Refused)?;
        let token = self.sign(&claims).await?;
        // The fresh token must pass the same checks as any applied token.
        let status = match validate(&token, self.keys, &self.expect(instance), now) {
            Decision::Allow(l) => LicenseStatus::new(l.claims, l.warnings, Some(token.clone())),
            Decision::Deny(code) => return Err(Error::Refused(code)),
        };
        self.store_applied(instance, &token, actor, now).await?;
        if !plausible_id(&claims.lid) {
            return Ok(status);
        }
        if let Some(mut record) = self
            .read::<LicenseRecord>(&license_key(&claims.lid))
            .await?
        {
            record.claims = claims;
            record.token = token;
            self.write(&license_key(&record.lid), &record).await?;
            // A revocation between the read above and this write would have had its
            // copy overwritten: ask the live state again, and restore the copy.
            if record.state == LicenseState::Active
                && let Some(revocation) = self.live.revocation(&record.lid).await?
            {
                mark_revoked(&mut record, revocation);
                self.write(&license_key(&record.lid), &record).await?;
            }
        }
        Ok(status)
    }

    /// Seed 004 `DELETE /api/licensing/token`: remove the applied license of
    /// `instance` (canonical), present or not.
    pub async fn remove(&self, instance: &str) -> Result<(), Error> {
        self.store.delete(&applied_key(instance)).await
    }
}

fn mark_revoked(record: &mut LicenseRecord, revocation: Revocation) {
    record.state = LicenseState::Revoked;
    record.revoked_at = Some(revocation.at);
    record.revoked_by = Some(revocation.by);
}

#[cfg(test)]
mod tests;

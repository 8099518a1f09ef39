//! Typed calls to the worker's JSON API.
//!
//! Every call returns `Result<T, ApiError>`: a non-2xx answer becomes the API's own
//! error code and message, a network or decoding failure a client-side code, so pages
//! can always show something precise and never need to `unwrap()`.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_engine::api::{
    ActiveUser, ApplyToken, AuditEntry, BlockView, DenialsReport, ErrorEnvelope, Health, HeldLease,
    LicensePool, MachineView, Me, Page, ProductSeats, RemoveToken, VaultChange,
};
use tessera_engine::{
    ApiToken, AppliedView, CreateToken, CreateUser, CreatedToken, GeneratedVaultToken,
    IssueRequest, LicenseRecord, LicenseStatus, UpdateToken, UpdateUser, UserView, VaultTokenInfo,
};

/// A failed API call, as a person should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The API's stable code, or `NETWORK` / `BAD_RESPONSE` for client-side failures.
    pub(crate) code: String,
    pub(crate) message: String,
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    fn new(code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The body of a 2xx answer, or the API's error. Not generic: every call shares this
/// one future (a generic one per answer type cost ~9 KB of wasm each).
async fn read(response: Response) -> Result<String, ApiError> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| ApiError::new("NETWORK", e.to_string()))?;
    if response.ok() {
        return Ok(text);
    }
    match serde_json::from_str::<ErrorEnvelope>(&text) {
        Ok(envelope) => {
            let mut message = envelope.error.message;
            if let Some(reason) = envelope.error.reason {
                message = format!("{message} ({reason})");
            }
            Err(ApiError::new(&envelope.error.code, message))
        }
        Err(_) => Err(ApiError::new(
            "BAD_RESPONSE",
            format!("HTTP {status} without an error body"),
        )),
    }
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    serde_json::from_str(text).map_err(|e| ApiError::new("BAD_RESPONSE", e.to_string()))
}

/// Every call asks for JSON; the session cookie goes with it (same origin), and no
/// credential is ever handled here.
fn authorized(builder: RequestBuilder) -> RequestBuilder {
    builder.header("Accept", "application/json")
}

async fn send_text(request: Result<Request, gloo_net::Error>) -> Result<String, ApiError> {
    let request = request.map_err(|e| ApiError::new("NETWORK", e.to_string()))?;
    let response = request
        .send()
        .await
        .map_err(|e| ApiError::new("NETWORK", e.to_string()))?;
    read(response).await
}

async fn send<T: DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
) -> Result<T, ApiError> {
    decode(&send_text(request).await?)
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    send(authorized(Request::get(path)).build()).await
}

async fn with_body<T: DeserializeOwned>(
    builder: RequestBuilder,
    body: &impl Serialize,
) -> Result<T, ApiError> {
    send(authorized(builder).json(body)).await
}

/// `GET /api/health`.
pub(crate) async fn health() -> Result<Health, ApiError> {
    get("/api/health").await
}

/// `GET /api/me`: who the session belongs to (`UNAUTHORIZED` without one).
pub(crate) async fn me() -> Result<Me, ApiError> {
    get("/api/me").await
}

/// `POST /api/session`: sign in; the worker sets the session cookie.
pub(crate) async fn sign_in(username: &str, password: &str) -> Result<Me, ApiError> {
    let body = serde_json::json!({ "username": username, "password": password });
    with_body(Request::post("/api/session"), &body).await
}

/// `DELETE /api/session`: sign out; the worker ends the session and clears the cookie.
pub(crate) async fn sign_out() -> Result<(), ApiError> {
    send_text(authorized(Request::delete("/api/session")).build())
        .await
        .map(|_| ())
}

/// `GET /api/licenses`: the first 1,000, newest first.
pub(crate) async fn licenses() -> Result<Page<LicenseRecord>, ApiError> {
    let mut page: Page<LicenseRecord> = get("/api/licenses?limit=1000").await?;
    page.items.sort_by_key(|r| core::cmp::Reverse(r.created_at));
    Ok(page)
}

/// `POST /api/licenses`.
pub(crate) async fn issue(request: &IssueRequest) -> Result<LicenseRecord, ApiError> {
    with_body(Request::post("/api/licenses"), request).await
}

/// `POST /api/licenses/:lid/revoke`.
pub(crate) async fn revoke(lid: &str) -> Result<LicenseRecord, ApiError> {
    let path = format!("/api/licenses/{}/revoke", segment(lid));
    with_body(Request::post(&path), &serde_json::json!({})).await
}

/// `GET /api/licensing/applied`.
pub(crate) async fn applied() -> Result<Option<AppliedView>, ApiError> {
    get("/api/licensing/applied").await
}

/// `POST /api/licensing/token`.
pub(crate) async fn apply(token: String) -> Result<LicenseStatus, ApiError> {
    with_body(Request::post("/api/licensing/token"), &ApplyToken { token }).await
}

/// `POST /api/licensing/token/renew`.
pub(crate) async fn renew() -> Result<LicenseStatus, ApiError> {
    with_body(
        Request::post("/api/licensing/token/renew"),
        &serde_json::json!({}),
    )
    .await
}

/// `DELETE /api/licensing/token`.
pub(crate) async fn remove(instance: String) -> Result<serde_json::Value, ApiError> {
    let body = RemoveToken {
        instance: Some(instance),
    };
    with_body(Request::delete("/api/licensing/token"), &body).await
}

/// `value` percent-encoded for a path segment or a query value.
pub(crate) fn segment(id: &str) -> String {
    js_sys::encode_uri_component(id).into()
}

/// `GET /api/users`: the first 1,000, by name.
pub(crate) async fn users() -> Result<Vec<UserView>, ApiError> {
    get::<Page<UserView>>("/api/users?limit=1000")
        .await
        .map(|p| p.items)
}

/// `POST /api/users`.
pub(crate) async fn create_user(request: &CreateUser) -> Result<UserView, ApiError> {
    with_body(Request::post("/api/users"), request).await
}

/// `PATCH /api/users/:username`.
pub(crate) async fn update_user(username: &str, change: &UpdateUser) -> Result<UserView, ApiError> {
    with_body(
        Request::patch(&format!("/api/users/{}", segment(username))),
        change,
    )
    .await
}

/// `DELETE /api/users/:username`.
pub(crate) async fn delete_user(username: &str) -> Result<serde_json::Value, ApiError> {
    send(
        authorized(Request::delete(&format!(
            "/api/users/{}",
            segment(username)
        )))
        .build(),
    )
    .await
}

/// `GET /api/tokens` (`all`: everyone's), the first 1,000, oldest first.
pub(crate) async fn tokens(all: bool) -> Result<Vec<ApiToken>, ApiError> {
    let path = if all {
        "/api/tokens?all=true&limit=1000"
    } else {
        "/api/tokens?limit=1000"
    };
    get::<Page<ApiToken>>(path).await.map(|p| p.items)
}

/// `GET /api/tokens/:id`.
pub(crate) async fn token(id: &str) -> Result<ApiToken, ApiError> {
    get(&format!("/api/tokens/{}", segment(id))).await
}

/// `POST /api/tokens`.
pub(crate) async fn create_token(request: &CreateToken) -> Result<CreatedToken, ApiError> {
    with_body(Request::post("/api/tokens"), request).await
}

/// `PATCH /api/tokens/:id`.
pub(crate) async fn update_token(id: &str, change: &UpdateToken) -> Result<ApiToken, ApiError> {
    with_body(
        Request::patch(&format!("/api/tokens/{}", segment(id))),
        change,
    )
    .await
}

/// `DELETE /api/tokens/:id`.
pub(crate) async fn delete_token(id: &str) -> Result<ApiToken, ApiError> {
    send(authorized(Request::delete(&format!("/api/tokens/{}", segment(id)))).build()).await
}

/// `GET /api/vault-token`.
pub(crate) async fn vault() -> Result<VaultTokenInfo, ApiError> {
    get("/api/vault-token").await
}

/// `POST /api/vault-token`.
pub(crate) async fn generate_vault() -> Result<GeneratedVaultToken, ApiError> {
    send(authorized(Request::post("/api/vault-token")).build()).await
}

/// `DELETE /api/vault-token`.
pub(crate) async fn delete_vault() -> Result<VaultTokenInfo, ApiError> {
    send(authorized(Request::delete("/api/vault-token")).build()).await
}

/// `GET /api/vault/products`.
pub(crate) async fn vault_products() -> Result<Vec<ProductSeats>, ApiError> {
    get("/api/vault/products").await
}

/// `GET /api/vault/reports/usage?{query}`, read as `T`: the page that draws it reads
/// only what it draws (no floats in the console's wasm).
pub(crate) async fn usage_report<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    get(&format!("/api/vault/reports/usage?{query}")).await
}

/// `GET /api/vault/reports/denials?{query}` (the newest 1,000).
pub(crate) async fn denials_report(query: &str) -> Result<DenialsReport, ApiError> {
    get(&format!("/api/vault/reports/denials?{query}&limit=1000")).await
}

/// `GET /api/audit?{query}`.
pub(crate) async fn audit_log(query: &str) -> Result<Page<AuditEntry>, ApiError> {
    get(&format!("/api/audit?{query}")).await
}

/// `GET /api/vault/users?search=` (the first 100).
pub(crate) async fn vault_users(search: &str) -> Result<Page<ActiveUser>, ApiError> {
    get(&format!("/api/vault/users?search={}", segment(search))).await
}

/// `GET /api/vault/users/:user/licenses`.
pub(crate) async fn vault_user_leases(user: &str) -> Result<Vec<HeldLease>, ApiError> {
    get(&format!("/api/vault/users/{}/licenses", segment(user))).await
}

/// `GET /api/vault/licenses/:lid`: a license's live state.
pub(crate) async fn vault_license(lid: &str) -> Result<LicensePool, ApiError> {
    get(&format!("/api/vault/licenses/{}", segment(lid))).await
}

/// `GET /api/vault/licenses/:lid/machines` (the first 1,000).
pub(crate) async fn license_machines(lid: &str) -> Result<Page<MachineView>, ApiError> {
    get(&format!(
        "/api/vault/licenses/{}/machines?limit=1000",
        segment(lid)
    ))
    .await
}

/// `DELETE /api/machines/:id`: deactivate a machine.
pub(crate) async fn deactivate_machine(id: &str) -> Result<MachineView, ApiError> {
    send(authorized(Request::delete(&format!("/api/machines/{}", segment(id)))).build()).await
}

/// `GET /api/vault/blocks`.
pub(crate) async fn vault_blocks() -> Result<Vec<BlockView>, ApiError> {
    get("/api/vault/blocks").await
}

/// A change to the vault: revoke one lease, revoke all (and block), unblock,
/// disconnect or connect a product.
#[derive(Debug, Clone)]
pub(crate) enum VaultAction {
    RevokeLease { user: String, lease: String },
    RevokeAll { user: String, block: bool },
    Unblock(String),
    Disconnect(String),
    Connect(String),
}

/// Send a [`VaultAction`].
pub(crate) async fn vault_action(action: &VaultAction) -> Result<VaultChange, ApiError> {
    let builder = match action {
        VaultAction::RevokeLease { user, lease } => Request::delete(&format!(
            "/api/vault/users/{}/licenses/{}",
            segment(user),
            segment(lease)
        )),
        VaultAction::RevokeAll { user, block } => Request::delete(&format!(
            "/api/vault/users/{}/licenses?block={block}",
            segment(user)
        )),
        VaultAction::Unblock(user) => {
            Request::delete(&format!("/api/vault/blocks/{}", segment(user)))
        }
        VaultAction::Disconnect(product) => Request::post(&format!(
            "/api/vault/products/{}/disconnect",
            segment(product)
        )),
        VaultAction::Connect(product) => {
            Request::post(&format!("/api/vault/products/{}/connect", segment(product)))
        }
    };
    send(authorized(builder).build()).await
}

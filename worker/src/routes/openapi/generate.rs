//! Generates the OpenAPI document from the code: the route table (`router::ROUTES`), one
//! [`Op`] per [`Route`] (an exhaustive match, so a new route does not compile until it
//! is documented), and the schemas `utoipa` derives from the very types the routes
//! deserialize and serialize.
//!
//! The error statuses follow from what a route does — every authenticated route can
//! answer 401, 403 and 429 (failed sign-ins are limited), every state-changing one 415
//! (and 403 when a browser sends it cross-site), every body 400 and 413 — plus the
//! statuses its own rules add (404, 409, 410, 422).
//!
//! `cargo test -p tessera-worker` fails when `worker/openapi.json` differs from what this
//! generates; `UPDATE_OPENAPI=1` writes it instead.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Value, json};
use tessera_engine::api::{ActivateAnswer, ActivateRequest, MachineView};
use tessera_engine::api::{
    ActiveUser, ApplyToken, BlockView, CheckoutRequest, DirectoryStatus, Empty, ErrorEnvelope,
    Health, HeldLease, KeyInfo, LeaseAnswer, LicensePool, LicenseSeats, Me, Page, ProductSeats,
    RemoveToken, SeatEventView, ValidateAnswer, ValidateRequest, VaultChange,
};
use tessera_engine::{
    ApiToken, AppliedView, CreateToken, CreateUser, CreatedToken, GeneratedVaultToken,
    IssueRequest, LicenseRecord, LicenseStatus, UpdateToken, UpdateUser, UserView, VaultTokenInfo,
};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};
use worker::Method;

use crate::auth::Access;
use crate::body::MAX_BODY_BYTES;
use crate::router::{ROUTES, Route};
use crate::routes::{agent, keys, licensing, session, users, vault};
use tessera_engine::UsageReport;
use tessera_engine::VAULT_TOKEN_PERMISSIONS;
use tessera_engine::api::{AgentBatch, AgentBatchAnswer, AuditEntry, DenialsReport};

/// One operation, as the route's code behaves.
struct Op {
    summary: &'static str,
    /// Anything a caller must know beyond the permission (which the route table
    /// declares and [`operation`] states).
    description: Cow<'static, str>,
    query: Vec<Value>,
    body: Option<Value>,
    /// Success statuses and their bodies (`None`: no body).
    ok: Vec<(u16, &'static str, Option<Value>)>,
    /// The statuses the route's own rules add (404, 409, 410, 422, ...).
    errors: &'static [u16],
    /// Whether it also answers CSV (`?format=csv`, `Accept: text/csv`).
    csv: bool,
}

/// Component schemas, collected as operations reference them.
#[derive(Default)]
struct Components(BTreeMap<String, Value>);

impl Components {
    fn add(&mut self, name: String, schema: RefOr<Schema>) {
        let value = serde_json::to_value(schema).expect("schemas serialize");
        self.0.entry(name).or_insert(value);
    }

    /// A reference to `T`'s schema, registering it and every schema it names.
    fn of<T: ToSchema>(&mut self) -> Value {
        let mut deps = Vec::new();
        T::schemas(&mut deps);
        for (name, schema) in deps {
            self.add(name, schema);
        }
        let name = T::name().into_owned();
        self.add(name.clone(), T::schema());
        reference(&name)
    }

    /// `Page<T>`, named `{T}Page`.
    fn page<T: ToSchema>(&mut self) -> Value {
        self.of::<T>();
        let name = format!("{}Page", T::name());
        self.add(name.clone(), Page::<T>::schema());
        reference(&name)
    }

    fn array<T: ToSchema>(&mut self) -> Value {
        json!({ "type": "array", "items": self.of::<T>() })
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn pagination() -> Vec<Value> {
    vec![
        query(
            "cursor",
            "`next_cursor` of the previous page.",
            json!({ "type": "string" }),
        ),
        query(
            "limit",
            "Page size.",
            json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }),
        ),
    ]
}

fn time_range() -> Vec<Value> {
    vec![
        query(
            "from",
            "Start, Unix seconds (default: 30 days before `to`).",
            json!({ "type": "integer", "minimum": 0, "maximum": tessera_engine::MAX_TIMESTAMP }),
        ),
        query(
            "to",
            "End, Unix seconds, exclusive (default: now).",
            json!({ "type": "integer", "minimum": 0, "maximum": tessera_engine::MAX_TIMESTAMP }),
        ),
    ]
}

fn format_param() -> Value {
    query(
        "format",
        "`csv` for a CSV download with a header row (as does `Accept: text/csv`).",
        json!({ "type": "string", "enum": ["json", "csv"] }),
    )
}

fn text_filter(name: &str, description: &str) -> Value {
    let max = if name == "user" {
        tessera_engine::MAX_USER_BYTES
    } else {
        200
    };
    query(
        name,
        description,
        json!({ "type": "string", "maxLength": max }),
    )
}

fn instance() -> Vec<Value> {
    vec![query(
        "instance",
        "The instance acted on (an http(s) root URL); defaults to the deployment's own \
         (`INSTANCE_URL`).",
        json!({ "type": "string" }),
    )]
}

fn op(route: Route, c: &mut Components) -> Op {
    let base = |summary, description| Op {
        summary,
        description,
        query: Vec::new(),
        body: None,
        ok: Vec::new(),
        errors: &[],
        csv: false,
    };
    let ok = |status, schema| {
        vec![(
            status,
            if status == 201 { "Created" } else { "OK" },
            Some(schema),
        )]
    };
    match route {
        Route::Health => Op {
            ok: ok(200, c.of::<Health>()),
            ..base("Liveness, version and a KV round trip", "".into())
        },
        Route::OpenApi => Op {
            ok: ok(200, json!({ "type": "object" })),
            ..base("This document", "".into())
        },
        Route::Jwks => Op {
            ok: ok(
                200,
                json!({
                    "type": "object",
                    "required": ["keys"],
                    "properties": { "keys": { "type": "array", "items": {
                        "type": "object",
                        "required": ["kty", "crv", "x", "kid"],
                        "properties": {
                            "kty": { "type": "string", "const": "OKP" },
                            "crv": { "type": "string", "const": "Ed25519" },
                            "x": { "type": "string" },
                            "kid": { "type": "string" }
                        }
                    } } }
                }),
            ),
            ..base(
                "Public keys that verify licenses (JWKS, RFC 8037 OKP keys)",
                "Cacheable for 5 minutes; a rotated key is listed here before it signs.".into(),
            )
        },
        Route::Me => Op {
            ok: ok(200, c.of::<Me>()),
            ..base("The caller's user, role and permissions", "".into())
        },
        Route::SessionCreate => Op {
            body: Some(c.of::<session::SignIn>()),
            ok: ok(201, c.of::<Me>()),
            errors: &[401],
            ..base(
                "Sign in to the console: a session cookie for a password",
                "Sets `tessera_session` (HttpOnly, Secure, SameSite=Strict, Path=/api). \
                 Failed sign-ins are limited per username and per address (429 with \
                 `Retry-After`)."
                    .into(),
            )
        },
        Route::SessionDelete => Op {
            ok: vec![(204, "Signed out; the cookie is cleared", None)],
            ..base(
                "Sign out: end the session (204 even without one)",
                "".into(),
            )
        },
        Route::UsersList => Op {
            query: pagination(),
            ok: ok(200, c.page::<UserView>()),
            ..base("List users", "".into())
        },
        Route::UsersCreate => Op {
            body: Some(c.of::<CreateUser>()),
            ok: ok(201, c.of::<UserView>()),
            errors: &[409],
            ..base("Create a user", "".into())
        },
        Route::UsersGet => Op {
            ok: ok(200, c.of::<UserView>()),
            errors: &[404],
            ..base("One user", "".into())
        },
        Route::UsersUpdate => Op {
            body: Some(c.of::<UpdateUser>()),
            ok: ok(200, c.of::<UserView>()),
            errors: &[404, 409],
            ..base("Change a user's role, status or password", "".into())
        },
        Route::UsersDelete => Op {
            ok: ok(200, c.of::<users::Deleted>()),
            errors: &[404, 409],
            ..base("Delete a user (their tokens stop)", "".into())
        },
        Route::TokensList => Op {
            query: [
                vec![query(
                    "all",
                    "`true`: everyone's tokens (needs `tokens:admin`).",
                    json!({ "type": "boolean" }),
                )],
                pagination(),
            ]
            .concat(),
            ok: ok(200, c.page::<ApiToken>()),
            ..base(
                "Your API tokens (?all=true: everyone's, with tokens:admin)",
                "".into(),
            )
        },
        Route::TokensCreate => Op {
            body: Some(c.of::<CreateToken>()),
            ok: ok(201, c.of::<CreatedToken>()),
            errors: &[409],
            ..base(
                "Create an API or Agent token; the secret is in this response only",
                "An Agent token also needs `tokens:admin`; signed in with a \
                 password or a console session."
                    .into(),
            )
        },
        Route::TokensGet => Op {
            ok: ok(200, c.of::<ApiToken>()),
            errors: &[404],
            ..base(
                "One token (yours, or anyone's with tokens:admin)",
                "".into(),
            )
        },
        Route::TokensUpdate => Op {
            body: Some(c.of::<UpdateToken>()),
            ok: ok(200, c.of::<ApiToken>()),
            errors: &[404, 409],
            ..base("Edit the description, enable or disable", "".into())
        },
        Route::TokensDelete => Op {
            ok: ok(200, c.of::<ApiToken>()),
            errors: &[404],
            ..base(
                "Delete (refused at once; kept in the list as Deleted)",
                "".into(),
            )
        },
        Route::VaultTokenGet => Op {
            ok: ok(200, c.of::<VaultTokenInfo>()),
            ..base(
                "Whether the vault access token exists (never its value)",
                "".into(),
            )
        },
        Route::VaultTokenGenerate => Op {
            ok: ok(201, c.of::<GeneratedVaultToken>()),
            ..base(
                "Generate or regenerate the vault access token; the old one stops at once",
                "".into(),
            )
        },
        Route::VaultTokenDelete => Op {
            ok: ok(200, c.of::<VaultTokenInfo>()),
            ..base("Delete the vault access token", "".into())
        },
        Route::AgentPing => Op {
            ok: ok(200, c.of::<agent::Pong>()),
            ..base("The agent endpoint: check an Agent token", "".into())
        },
        Route::AgentEvents => Op {
            body: Some(c.of::<AgentBatch>()),
            ok: ok(200, c.of::<AgentBatchAnswer>()),
            ..base(
                "Hand over events from an outside license server (all or nothing, idempotent)",
                "Sent with an Agent token. Up to 1,000 events, at most 1 MiB; \
                 an invalid item refuses the batch (400 naming its index) and nothing is \
                 stored. An event already stored (same `server` and `id`) counts once."
                    .into(),
            )
        },
        Route::KeysList => Op {
            ok: ok(200, c.array::<KeyInfo>()),
            ..base("List signing keys", "".into())
        },
        Route::KeysRotate => Op {
            body: Some(c.of::<keys::Rotate>()),
            ok: ok(201, c.of::<KeyInfo>()),
            errors: &[409],
            ..base(
                "Rotate: a new key is published now and signs once every cached JWKS has it",
                "Signed in with a password or a console session. The body may be empty; \
                 `activate_now` makes the key sign at once (after a compromise). \
                 409 when 32 keys are live."
                    .into(),
            )
        },
        Route::KeysRetire => Op {
            ok: ok(200, c.array::<KeyInfo>()),
            errors: &[404, 409],
            ..base(
                "Retire a key now: it leaves the JWKS and every token it signed stops verifying",
                "Any key but the one signing (409), the root key included: the compromise \
                 drill is rotate with `activate_now`, retire the leaked key, re-issue its \
                 licenses. Answers the keys left."
                    .into(),
            )
        },
        Route::LicensesList => Op {
            query: pagination(),
            ok: ok(200, c.page::<LicenseRecord>()),
            ..base(
                "Issued licenses, a page at a time (license-id order)",
                "".into(),
            )
        },
        Route::LicensesIssue => Op {
            body: Some(c.of::<IssueRequest>()),
            ok: ok(201, c.of::<LicenseRecord>()),
            ..base("Issue a license and sign its first token", "".into())
        },
        Route::LicensesGet => Op {
            ok: ok(200, c.of::<LicenseRecord>()),
            errors: &[404],
            ..base("One issued license", "".into())
        },
        Route::LicensesReissue => Op {
            ok: ok(200, c.of::<LicenseRecord>()),
            errors: &[404],
            ..base(
                "A fresh token for a license, signed by the key that signs now",
                "For licenses whose token a retired key signed. 403 for a revoked or \
                 expired license."
                    .into(),
            )
        },
        Route::LicensesRevoke => Op {
            ok: ok(200, c.of::<LicenseRecord>()),
            errors: &[404],
            ..base("Revoke a license (idempotent)", "".into())
        },
        Route::LicensingCheck => Op {
            query: instance(),
            ok: ok(200, json!({ "type": "boolean" })),
            errors: &[400],
            ..base("Seed 004: is a valid license applied?", "".into())
        },
        Route::LicensingApply => Op {
            query: instance(),
            body: Some(c.of::<ApplyToken>()),
            ok: ok(200, c.of::<LicenseStatus>()),
            ..base("Seed 004: apply a license token to the instance", "".into())
        },
        Route::LicensingRenew => Op {
            query: instance(),
            body: Some(c.of::<licensing::RenewBody>()),
            ok: ok(200, c.of::<LicenseStatus>()),
            errors: &[404],
            ..base(
                "Seed 004: ask the issuer (this deployment) for a fresh token",
                "".into(),
            )
        },
        Route::LicensingRemove => Op {
            query: instance(),
            body: Some(c.of::<RemoveToken>()),
            ok: vec![(202, "Accepted", Some(c.of::<licensing::Removed>()))],
            errors: &[422],
            ..base(
                "Seed 004: remove the applied license",
                "422 when the body's `instance` is missing \
                 or is not the instance acted on."
                    .into(),
            )
        },
        Route::LicensingApplied => Op {
            query: instance(),
            ok: ok(
                200,
                json!({ "oneOf": [{ "type": "null" }, c.of::<AppliedView>()] }),
            ),
            errors: &[400],
            ..base(
                "The applied license as the console shows it (or null)",
                "".into(),
            )
        },
        Route::LicensesValidate => Op {
            body: Some(c.of::<ValidateRequest>()),
            ok: ok(200, c.of::<ValidateAnswer>()),
            ..base(
                "Validate a license online (signature, claims, revocation)",
                "Always 200 for a well-formed request: `{valid, code, claims, warnings}`, \
                 the npm validator's shape."
                    .into(),
            )
        },
        Route::SeatsCheckout => Op {
            body: Some(c.of::<CheckoutRequest>()),
            ok: vec![
                (201, "A seat was taken", Some(c.of::<LeaseAnswer>())),
                (
                    200,
                    "The session's seat was refreshed (a later expiry; a new host joins the lease)",
                    Some(c.of::<LeaseAnswer>()),
                ),
            ],
            errors: &[403, 409],
            ..base(
                "Take (201) or refresh (200) a seat for this installation",
                "The app authenticates with the license token in the body, and proves its \
                 installation with a DPoP proof (RFC 9449) signed by its own key; the \
                 lease token is bound to that key (`cnf.jkt`). Denials: 409 \
                 `NO_SEAT_AVAILABLE` / `SESSION_LIMIT_REACHED`; 403 `PRODUCT_DISCONNECTED` \
                 / `USER_BLOCKED` / `MACHINE_NOT_ACTIVATED` / the license's own denial \
                 (`REVOKED`, `EXPIRED`, ...); 401 `INVALID_PROOF`."
                    .into(),
            )
        },
        Route::SeatsHeartbeat => Op {
            body: Some(c.of::<Empty>()),
            ok: ok(200, c.of::<LeaseAnswer>()),
            errors: &[410],
            ..base(
                "Extend a lease; answers the next generation's lease token",
                "`Authorization: DPoP <lease token>` with a DPoP proof (`ath`) signed by \
                 the lease's key; send the same `Idempotency-Key` when retrying one \
                 heartbeat. 410 `LEASE_EXPIRED`, `LEASE_REVOKED` or `CLONE_DETECTED` once \
                 the lease is gone: check out again. 400 `INVALID_LEASE` for a token that \
                 does not verify; 401 `INVALID_PROOF`."
                    .into(),
            )
        },
        Route::SeatsRelease => Op {
            body: Some(c.of::<Empty>()),
            ok: vec![(204, "Released", None)],
            ..base(
                "Give a lease back (204, also when already gone)",
                "`Authorization: DPoP <lease token>` with a DPoP proof signed by the \
                 lease's key."
                    .into(),
            )
        },
        Route::MachinesActivate => Op {
            body: Some(c.of::<ActivateRequest>()),
            ok: vec![
                (
                    201,
                    "Activated on this installation",
                    Some(c.of::<ActivateAnswer>()),
                ),
                (
                    200,
                    "This installation was active already",
                    Some(c.of::<ActivateAnswer>()),
                ),
            ],
            errors: &[403, 409, 429],
            ..base(
                "Activate the license on this installation (node-locked licenses)",
                "The license token in the body, and a DPoP proof from the installation's \
                 key. 409 `MACHINE_LIMIT_REACHED`; 429 `TOO_MANY_ACTIVATIONS` with \
                 `Retry-After`; 403 the license's own denial; 401 `INVALID_PROOF`."
                    .into(),
            )
        },
        Route::MachinesDeactivate => Op {
            ok: ok(200, c.of::<MachineView>()),
            errors: &[404],
            ..base(
                "Deactivate a machine: by itself, or by an administrator",
                "The machine itself presents `Authorization: DPoP <machine token>` with a \
                 DPoP proof from its key; an administrator needs the permission. Its \
                 seats end."
                    .into(),
            )
        },
        Route::VaultLicenseMachines => Op {
            query: pagination(),
            ok: ok(200, c.page::<MachineView>()),
            errors: &[404],
            ..base("A license's machines, oldest first", "".into())
        },
        Route::VaultDirectory => Op {
            ok: ok(200, c.of::<DirectoryStatus>()),
            ..base(
                "The vault directory at work",
                "The deny state's version, the version published for licenses holding no \
                 seats, the licenses holding seats not yet told (the directory's job), and \
                 the calls it served by kind since its first: app requests make none."
                    .into(),
            )
        },
        Route::VaultProducts => Op {
            ok: ok(200, c.array::<ProductSeats>()),
            ..base("Free and allocated seats per product", "".into())
        },
        Route::VaultProductLicenses => Op {
            query: pagination(),
            ok: ok(200, c.page::<LicenseSeats>()),
            errors: &[400],
            ..base("Per license: seats of a product", "".into())
        },
        Route::VaultProductDisconnect => Op {
            body: Some(c.of::<vault::NoBody>()),
            ok: ok(200, c.of::<VaultChange>()),
            errors: &[400],
            ..base(
                "Disconnect a product: its leases end at once; new requests are denied \
                 PRODUCT_DISCONNECTED",
                "".into(),
            )
        },
        Route::VaultProductConnect => Op {
            body: Some(c.of::<vault::NoBody>()),
            ok: ok(200, c.of::<VaultChange>()),
            errors: &[400],
            ..base("Connect a disconnected product again", "".into())
        },
        Route::VaultUsers => Op {
            query: [
                vec![query(
                    "search",
                    "Only users whose name contains this.",
                    json!({ "type": "string" }),
                )],
                pagination(),
            ]
            .concat(),
            ok: ok(200, c.page::<ActiveUser>()),
            ..base("Users holding seats", "".into())
        },
        Route::VaultUserLicenses => Op {
            ok: ok(200, c.array::<HeldLease>()),
            errors: &[400],
            ..base("Every lease a user holds, across licenses", "".into())
        },
        Route::VaultUserRevokeAll => Op {
            query: vec![query(
                "block",
                "`true`: also refuse the user new seats until unblocked.",
                json!({ "type": "boolean" }),
            )],
            ok: ok(200, c.of::<VaultChange>()),
            errors: &[400],
            ..base(
                "Revoke all of a user's leases (block=true also refuses new ones)",
                "".into(),
            )
        },
        Route::VaultUserRevokeOne => Op {
            ok: ok(200, c.of::<VaultChange>()),
            errors: &[400, 404],
            ..base("Revoke one lease of a user", "".into())
        },
        Route::VaultBlocks => Op {
            ok: ok(200, c.array::<BlockView>()),
            ..base("Blocked users", "".into())
        },
        Route::VaultUnblock => Op {
            ok: ok(200, c.of::<VaultChange>()),
            errors: &[400],
            ..base("Unblock a user", "".into())
        },
        Route::VaultLicense => Op {
            ok: ok(200, c.of::<LicensePool>()),
            errors: &[404],
            ..base("A license's live seat state, from its object", "".into())
        },
        Route::VaultLicenseEvents => Op {
            query: [
                vec![query(
                    "kind",
                    "Only events of this kind.",
                    json!({ "type": "string", "enum":
                        ["granted", "refreshed", "released", "expired", "revoked", "denied"] }),
                )],
                pagination(),
            ]
            .concat(),
            ok: ok(200, c.page::<SeatEventView>()),
            errors: &[404],
            ..base("A license's seat events, newest first", "".into())
        },
        Route::ReportsUsage => Op {
            query: [
                time_range(),
                vec![
                    query(
                        "interval",
                        "Interval length (UTC-aligned); at most 1,000 intervals.",
                        json!({ "type": "string", "enum": ["hour", "day"], "default": "day" }),
                    ),
                    text_filter("product", "Only this product."),
                    text_filter("user", "Only this user."),
                    format_param(),
                    query(
                        "table",
                        "Which table a CSV holds: per product and interval, or per user.",
                        json!({ "type": "string", "enum": ["products", "users"] }),
                    ),
                ],
            ]
            .concat(),
            ok: ok(200, c.of::<UsageReport>()),
            csv: true,
            ..base(
                "Usage report: peak seats, seat-hours and users per product and interval",
                "".into(),
            )
        },
        Route::ReportsDenials => Op {
            query: [
                time_range(),
                vec![
                    text_filter("product", "Only this product."),
                    text_filter("user", "Only this user."),
                    text_filter("reason", "Only this reason (e.g. `NO_SEAT_AVAILABLE`)."),
                    format_param(),
                ],
                pagination(),
            ]
            .concat(),
            ok: ok(200, c.of::<DenialsReport>()),
            csv: true,
            ..base(
                "Denials report: each denied request, newest first, and counts per product and reason",
                "".into(),
            )
        },
        Route::AuditLog => Op {
            query: [
                time_range(),
                vec![
                    text_filter("actor", "Only this user's changes."),
                    query(
                        "action",
                        "Only this action (e.g. `license.issue`).",
                        json!({ "type": "string", "maxLength": 64 }),
                    ),
                    format_param(),
                ],
                pagination(),
            ]
            .concat(),
            ok: ok(200, c.page::<AuditEntry>()),
            csv: true,
            ..base(
                "The audit log: every change made through the API, newest first",
                "".into(),
            )
        },
    }
}

/// `/api/users/:username` → `/api/users/{username}`, and the path parameters.
fn openapi_path(pattern: &str) -> (String, Vec<Value>) {
    let mut params = Vec::new();
    let path = pattern
        .split('/')
        .map(|segment| match segment.strip_prefix(':') {
            Some(name) => {
                params.push(json!({
                    "name": name, "in": "path", "required": true,
                    "schema": { "type": "string", "minLength": 1 }
                }));
                format!("{{{name}}}")
            }
            None => segment.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/");
    (path, params)
}

fn operation(method: &Method, pattern: &str, route: Route, c: &mut Components) -> Value {
    let op = op(route, c);
    let (_, path_params) = openapi_path(pattern);
    let mut statuses: Vec<u16> = op.errors.to_vec();
    let access = route.access();
    let authenticated = !matches!(access, Access::Public | Access::App);
    if authenticated {
        statuses.extend([401, 403, 429]);
    }
    if access.app() {
        statuses.push(401);
    }
    if route == Route::SessionCreate {
        statuses.push(429);
    }
    if *method != Method::Get {
        statuses.push(415);
        if access.ambient() {
            statuses.push(403);
        }
    }
    if op.body.is_some() {
        statuses.extend([400, 413, 415]);
    }
    if !op.query.is_empty() {
        statuses.push(400);
    }
    statuses.sort_unstable();
    statuses.dedup();

    let mut responses = serde_json::Map::new();
    for (status, description, schema) in &op.ok {
        let mut response = json!({ "description": description });
        if let Some(schema) = schema {
            response["content"] = json!({ "application/json": { "schema": schema } });
            if op.csv {
                response["content"]["text/csv"] = json!({ "schema": { "type": "string" } });
            }
        }
        if route == Route::SessionCreate {
            response["headers"] = json!({ "Set-Cookie": {
                "description": "The session cookie.",
                "required": true,
                "schema": { "type": "string" }
            } });
        }
        responses.insert(status.to_string(), response);
    }
    for status in statuses {
        let name = if status == 429 {
            "TooManyRequests"
        } else {
            "Error"
        };
        responses.insert(
            status.to_string(),
            json!({ "$ref": format!("#/components/responses/{name}") }),
        );
    }

    let security = match access {
        Access::Public => json!([]),
        Access::App if matches!(route, Route::SeatsHeartbeat | Route::SeatsRelease) => {
            json!([{ "dpop": [] }])
        }
        Access::App => json!([]),
        Access::AppOr(_) => {
            json!([{ "dpop": [] }, { "basic": [] }, { "bearer": [] }, { "session": [] }])
        }
        Access::SignedIn | Access::Any(_) => {
            json!([{ "basic": [] }, { "bearer": [] }, { "session": [] }])
        }
        Access::User(_) => json!([{ "basic": [] }, { "session": [] }]),
    };
    // The permission is the route table's, stated here and enforced by the router.
    let description = match access.permission() {
        Some(p) => {
            let vault = if VAULT_TOKEN_PERMISSIONS.contains(&p) {
                " (the vault access token has it)"
            } else {
                ""
            };
            let extra = if op.description.is_empty() { "" } else { " " };
            format!("Requires `{}`{vault}.{extra}{}", p.as_str(), op.description)
        }
        None => op.description.to_string(),
    };
    let mut value = json!({
        "operationId": format!("{route:?}"),
        "summary": op.summary,
        "security": security,
        "responses": responses,
    });
    if !description.is_empty() {
        value["description"] = json!(description);
    }
    let mut headers = Vec::new();
    if access.app() && route != Route::LicensesValidate {
        headers.push(json!({
            "name": "DPoP", "in": "header", "required": access == Access::App,
            "description": "RFC 9449 proof of possession: a `dpop+jwt` (EdDSA or ES256) with \
                `jti`, `htm`, `htu`, `iat` (within 120 s) and, with a token, `ath`.",
            "schema": { "type": "string" }
        }));
    }
    if route == Route::SeatsHeartbeat {
        headers.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "The same for every retry of one heartbeat (1 to 64 printable \
                characters): a retry whose answer was lost is not taken for a clone.",
            "schema": { "type": "string", "maxLength": 64 }
        }));
    }
    let parameters: Vec<Value> = path_params
        .into_iter()
        .chain(headers)
        .chain(op.query)
        .collect();
    if !parameters.is_empty() {
        value["parameters"] = json!(parameters);
    }
    if let Some(schema) = op.body {
        // A body whose every field is optional may be left out (it reads as `{}`).
        let name = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next());
        let required = name
            .and_then(|n| c.0.get(n))
            .and_then(|s| s["required"].as_array())
            .is_some_and(|r| !r.is_empty());
        value["requestBody"] = json!({
            "required": required,
            "content": { "application/json": { "schema": schema } }
        });
    }
    value
}

/// The whole document.
pub(super) fn document() -> Value {
    let mut c = Components::default();
    let mut paths = serde_json::Map::new();
    for (method, pattern, route) in ROUTES {
        let (path, _) = openapi_path(pattern);
        let operation = operation(method, pattern, *route, &mut c);
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[method.as_ref().to_ascii_lowercase()] = operation;
    }
    let error = c.of::<ErrorEnvelope>();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Edge-native software licensing. Errors are `{{\"error\": {{\"code\", \
                 \"message\", \"field\"?, \"reason\"?}}}}`; a client's mistake is always a 4xx \
                 and changes nothing. Request bodies are JSON, at most {MAX_BODY_BYTES} bytes. \
                 Generated from the code by `routes::openapi` (see its module docs)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": c.0,
            "responses": {
                "Error": {
                    "description": "An error: a stable `code` and a message.",
                    "content": { "application/json": { "schema": error } }
                },
                "TooManyRequests": {
                    "description": "Too many failed sign-ins: try again after `Retry-After` seconds.",
                    "headers": { "Retry-After": {
                        "description": "Seconds until a sign-in is accepted again.",
                        "required": true,
                        "schema": { "type": "integer", "minimum": 1 }
                    } },
                    "content": { "application/json": { "schema": error } }
                }
            },
            "securitySchemes": {
                "basic": { "type": "http", "scheme": "basic",
                    "description": "A user's username and password." },
                "bearer": { "type": "http", "scheme": "bearer",
                    "description": "An API token (tsr_…), Agent token (tsr_…) or the vault access token (tsv_…)." },
                "session": { "type": "apiKey", "in": "cookie", "name": "tessera_session",
                    "description": "The console's session (POST /api/session)." },
                "dpop": { "type": "http", "scheme": "DPoP",
                    "description": "RFC 9449: a lease or machine token bound to the installation's key (`Authorization: DPoP <token>`), with a `DPoP` proof signed by that key." }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed `worker/openapi.json` is what the code generates.
    #[test]
    fn the_committed_document_is_generated_from_the_code() {
        let generated =
            serde_json::to_string_pretty(&document()).expect("the document serializes") + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).expect("write openapi.json");
            return;
        }
        assert!(
            super::super::DOCUMENT == generated,
            "worker/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p tessera-worker \
             openapi` and commit it"
        );
    }

    /// Every operation answers at least one success and documents its errors; every
    /// reference resolves.
    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for piece in text.split("\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().expect("a name");
            assert!(schemas.contains_key(name), "dangling reference to {name}");
        }
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("operations") {
                let responses = op["responses"].as_object().expect("responses");
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path} has no success response"
                );
            }
        }
    }
}

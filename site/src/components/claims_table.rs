//! A license's claims and warnings, as a definition list.

use leptos::prelude::*;
use tessera_engine::{LicenseClaims, Warning};

use super::time;

/// The claims that matter to a person, with dates formatted.
#[component]
pub(crate) fn ClaimsTable(claims: LicenseClaims) -> impl IntoView {
    let rows: Vec<(&'static str, String)> = vec![
        ("License id", claims.lid),
        ("Company", claims.company),
        ("Account", claims.account),
        ("Instance", claims.sub),
        ("Products", claims.prod.join(", ")),
        ("Included users", claims.included_users.to_string()),
        ("License expires", time::format(claims.lexp)),
        ("Token expires", time::format(claims.exp)),
        ("Token issued", time::format(claims.iat)),
        (
            "Trial",
            if claims.trial {
                format!("until {}", time::format(claims.trial_exp))
            } else {
                "no".into()
            },
        ),
        ("Issuer", claims.iss),
        ("Token id", claims.jti),
    ];
    view! {
        <dl class="facts" data-testid="claims">
            {rows
                .into_iter()
                .map(|(k, v)| view! { <dt>{k}</dt><dd data-claim=k>{v}</dd> })
                .collect_view()}
        </dl>
    }
}

/// One line per warning.
#[component]
pub(crate) fn Warnings(warnings: Vec<Warning>) -> impl IntoView {
    let items = warnings
        .into_iter()
        .map(|w| {
            let text = match w {
                Warning::LicenseExpiring { at, days_left } => {
                    format!(
                        "The license expires on {} ({days_left} days left).",
                        time::format(at)
                    )
                }
                Warning::TokenExpiring { at, days_left } => {
                    format!(
                        "The token expires on {} ({days_left} days left): renew it.",
                        time::format(at)
                    )
                }
                Warning::RenewalDue { at } => format!("Renewal was due on {}.", time::format(at)),
                _ => "Check this license.".to_string(),
            };
            view! { <li data-warning=w.code()>{text}</li> }
        })
        .collect_view();
    view! { <ul class="warnings" data-testid="warnings">{items}</ul> }
}

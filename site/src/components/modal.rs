//! A modal dialog, and the secret-showing dialog built on it.

use leptos::prelude::*;

use super::copy_button::CopyButton;

/// A dialog over the page.
#[component]
pub(crate) fn Modal(title: String, children: Children) -> impl IntoView {
    let label = title.clone();
    view! {
        <div class="backdrop">
            <div class="modal card" role="dialog" aria-modal="true" aria-label=label>
                <h1>{title}</h1>
                {children()}
            </div>
        </div>
    }
}

/// Shows a secret once, with a copy button, until closed.
#[component]
pub(crate) fn ShowOnce(title: String, secret: String, on_close: Callback<()>) -> impl IntoView {
    view! {
        <Modal title>
            <p>"Copy it now and keep it somewhere safe: it is shown only this once."</p>
            <code class="secret" data-testid="secret">{secret.clone()}</code>
            <div class="actions">
                <CopyButton value=secret />
                <button class="secondary" on:click=move |_| on_close.run(())>"Close"</button>
            </div>
        </Modal>
    }
}

/// Asks to confirm an action, with the action's own words on the button (seed 002's
/// "Generate new token" / "Delete token" dialogs).
#[component]
pub(crate) fn Confirm(
    title: String,
    message: String,
    confirm: String,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <Modal title>
            <p>{message}</p>
            <div class="actions">
                <button class="danger" on:click=move |_| on_confirm.run(())>{confirm}</button>
                <button class="secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
            </div>
        </Modal>
    }
}

/// The browser's own yes/no question, for quick confirmations in tables.
pub(crate) fn confirmed(message: &str) -> bool {
    window().confirm_with_message(message).unwrap_or(false)
}

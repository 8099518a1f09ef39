//! How a failed API call is shown: the API's message, and its code for support.

use leptos::prelude::*;

use crate::api::ApiError;

/// An API error, as a person should see it.
#[component]
pub(crate) fn ErrorBox(error: ApiError) -> impl IntoView {
    view! {
        <div class="error" role="alert" data-testid="error">
            <strong>{error.message}</strong>
            <code>{error.code}</code>
        </div>
    }
}

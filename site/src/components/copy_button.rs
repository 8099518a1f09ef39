//! A button that copies a value to the clipboard and says so.

use leptos::prelude::*;
use leptos::task::spawn_local;

/// Copies `value`; shows "Copied" once the clipboard accepted it.
#[component]
pub(crate) fn CopyButton(value: String) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let copy = move |_| {
        let value = value.clone();
        spawn_local(async move {
            let promise = window().navigator().clipboard().write_text(&value);
            let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
            copied.set(Some(ok));
        });
    };
    view! {
        <button on:click=copy>
            {move || match copied.get() {
                None => "Copy",
                Some(true) => "Copied",
                Some(false) => "Copy failed: select and copy it",
            }}
        </button>
    }
}

//! One table component for every plain report table: a header and rows of text, each
//! row with a key (`data-key`). One generic shape instead of one per table keeps the
//! console's wasm small (each distinct `view!` tree is its own code).

use leptos::prelude::*;

/// A table of `rows` under `head`; `testid` names it for tests.
#[component]
pub(crate) fn Grid(
    testid: &'static str,
    head: &'static [&'static str],
    rows: Vec<(String, Vec<String>)>,
) -> impl IntoView {
    view! {
        <table data-testid=testid>
            <thead><tr>{head.iter().map(|h| view! { <th>{*h}</th> }).collect_view()}</tr></thead>
            <tbody>{rows.into_iter().map(|(key, cells)| view! {
                <tr data-key=key>{cells.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
            }).collect_view()}</tbody>
        </table>
    }
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for markup built as a string.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

//! Reports (seeds 001/002): usage over time per product — the peak of seats held at
//! once in each interval as bars, the licensed seat count as a line, and the intervals
//! that reached it in red, so a person sees at a glance when a product ran out — then
//! the denials per product and reason with a table of each, and users by seat-hours.
//! Filters (dates, product, user, interval) drive one query string, and the "Download
//! CSV" links fetch exactly what is shown from the same API.
//!
//! The charts are SVG markup built as a string (every name in it escaped) and set as
//! the figure's content: typed `view!` trees for them cost the console ~30 KB of wasm.

use leptos::prelude::*;
use serde::Deserialize;
use tessera_engine::api::{DenialsReport, ProductSeats};

use crate::api::{self, ApiError};
use crate::components::error_box::ErrorBox;
use crate::components::grid::{Grid, escape};
use crate::components::signed_in::SignedIn;
use crate::components::time;

const DAY: u64 = 86_400;
/// A bar's width and the chart's height, in SVG units (integers: no float formatting
/// in the console's wasm).
const BAR: u64 = 10;
const HEIGHT: u64 = 140;

/// The usage report as the console reads it: what the charts draw. (Seat-hours are in
/// the API and the CSV; leaving the floats out keeps float parsing out of the wasm.)
#[derive(Clone, Deserialize)]
struct UsageReport {
    products: Vec<IntervalUsage>,
    users: Vec<UserUsage>,
}

#[derive(Clone, Deserialize)]
struct IntervalUsage {
    product: String,
    start: u64,
    peak_seats: u32,
    users: u32,
}

#[derive(Clone, Deserialize)]
struct UserUsage {
    user: String,
    last_seen: u64,
}

/// The reports page.
#[component]
pub(crate) fn Reports() -> impl IntoView {
    view! {
        <SignedIn>
            <ReportsInner />
        </SignedIn>
    }
}

#[component]
fn ReportsInner() -> impl IntoView {
    let today = time::now();
    let from = RwSignal::new(time::date(today - 29 * DAY));
    let to = RwSignal::new(time::date(today));
    let product = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let interval = RwSignal::new("day".to_string());
    let query = Memo::new(move |_| {
        let start = time::start_of_day(&from.get()).unwrap_or(today - 29 * DAY);
        let end = time::end_of_day(&to.get()).map_or(today + 1, |t| t + 1);
        let mut q = format!("from={start}&to={end}&interval={}", interval.get());
        for (name, value) in [("product", product.get()), ("user", user.get())] {
            if !value.trim().is_empty() {
                q.push_str(&format!("&{name}={}", api::segment(value.trim())));
            }
        }
        q
    });
    let data = LocalResource::new(move || {
        let q = query.get();
        async move {
            Ok::<_, ApiError>((
                api::usage_report::<UsageReport>(&q).await?,
                api::denials_report(&q).await?,
                api::vault_products().await.unwrap_or_default(),
            ))
        }
    });
    let field = |label: &'static str, kind: &'static str, signal: RwSignal<String>| {
        view! {
            <label>{label}
                <input type=kind prop:value=move || signal.get()
                    on:change=move |ev| signal.set(event_target_value(&ev)) />
            </label>
        }
    };
    view! {
        <section class="card">
            <h1>"Reports"</h1>
            <div class="filters" data-testid="report-filters">
                {field("From", "date", from)}
                {field("To", "date", to)}
                {field("Product", "text", product)}
                {field("User", "text", user)}
                <label>"Interval"
                    <select on:change=move |ev| interval.set(event_target_value(&ev))>
                        <option value="day">"Day"</option>
                        <option value="hour">"Hour"</option>
                    </select>
                </label>
            </div>
            <p class="actions">
                <a class="button" data-testid="usage-csv" download=""
                    href=move || format!("/api/vault/reports/usage?{}&format=csv", query.get())>"Download usage CSV"</a>
                <a class="button secondary" data-testid="denials-csv" download=""
                    href=move || format!("/api/vault/reports/denials?{}&format=csv&limit=1000", query.get())>"Download denials CSV"</a>
            </p>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || data.get().map(|r| match r {
                Ok((usage, denials, products)) => {
                    (usage_view(usage, &products), denials_view(denials)).into_any()
                }
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
            })}
        </Transition>
    }
}

fn usage_view(usage: UsageReport, products: &[ProductSeats]) -> impl IntoView {
    let mut charts = String::new();
    let mut rows = usage.products.as_slice();
    while let Some(first) = rows.first() {
        let n = rows
            .iter()
            .take_while(|r| r.product == first.product)
            .count();
        let licensed = products
            .iter()
            .find(|p| p.product == first.product)
            .map_or(0, |p| p.seats);
        chart(&mut charts, &rows[..n], licensed);
        rows = &rows[n..];
    }
    if charts.is_empty() {
        charts.push_str("<p class=\"muted\">No seats were held in this range.</p>");
    }
    let users = usage
        .users
        .into_iter()
        .map(|u| {
            let cells = vec![u.user.clone(), time::format(u.last_seen)];
            (u.user, cells)
        })
        .collect();
    view! {
        <section class="card" data-testid="usage">
            <h1>"Seats in use"</h1>
            <div inner_html=charts></div>
            <h2>"Users"</h2>
            <Grid testid="usage-users" head=&["User", "Last held a seat"] rows=users />
        </section>
    }
}

/// One product's chart, appended to `out`: a bar per interval (its peak, red where it
/// reached the licensed seats), the licensed seats as a dashed line.
fn chart(out: &mut String, rows: &[IntervalUsage], licensed: u64) {
    use core::fmt::Write as _;
    let product = escape(&rows[0].product);
    let top = rows
        .iter()
        .map(|r| u64::from(r.peak_seats))
        .max()
        .unwrap_or(0)
        .max(licensed)
        .max(1);
    let y = |v: u64| HEIGHT - v * (HEIGHT - 10) / top;
    let full = rows
        .iter()
        .filter(|r| licensed > 0 && u64::from(r.peak_seats) >= licensed)
        .count();
    let _ = write!(
        out,
        "<figure class=\"chart\" data-testid=\"usage-chart\" data-product=\"{product}\" data-full=\"{full}\">\
         <figcaption><strong>{product}</strong> — licensed {licensed}; the peak reached the license in {full} of {} intervals</figcaption>\
         <svg viewBox=\"0 0 {} {HEIGHT}\" preserveAspectRatio=\"none\" role=\"img\">",
        rows.len(),
        rows.len() as u64 * BAR
    );
    for (i, r) in rows.iter().enumerate() {
        let peak = u64::from(r.peak_seats);
        let class = if licensed > 0 && peak >= licensed {
            "col full"
        } else {
            "col"
        };
        let _ = write!(
            out,
            "<rect class=\"{class}\" data-peak=\"{peak}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {peak} seats, {} users</title></rect>",
            i as u64 * BAR + 1,
            y(peak),
            BAR - 2,
            HEIGHT - y(peak),
            time::format(r.start),
            r.users
        );
    }
    if licensed > 0 {
        let _ = write!(
            out,
            "<line class=\"limit\" x1=\"0\" x2=\"{}\" y1=\"{1}\" y2=\"{1}\"></line>",
            rows.len() as u64 * BAR,
            y(licensed)
        );
    }
    let _ = write!(
        out,
        "</svg><div class=\"axis\"><span>{}</span><span>{}</span></div></figure>",
        time::format(rows[0].start),
        time::format(rows[rows.len() - 1].start)
    );
}

fn denials_view(denials: DenialsReport) -> impl IntoView {
    use core::fmt::Write as _;
    let top = denials
        .counts
        .iter()
        .map(|c| c.count)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut chart = String::new();
    if denials.counts.is_empty() {
        chart.push_str("<p class=\"muted\">No request was denied in this range.</p>");
    } else {
        let _ = write!(
            chart,
            "<svg class=\"chart\" data-testid=\"denials-chart\" viewBox=\"0 0 640 {}\">",
            denials.counts.len() * 22
        );
        for (i, c) in denials.counts.iter().enumerate() {
            let y = i as u64 * 22;
            let w = (c.count * 340 / top).max(1);
            let reason = if c.reason.is_empty() {
                "(none)"
            } else {
                &c.reason
            };
            let _ = write!(
                chart,
                "<rect class=\"col full\" x=\"240\" y=\"{}\" width=\"{w}\" height=\"16\"></rect>\
                 <text x=\"0\" y=\"{}\">{} · {}</text><text x=\"{}\" y=\"{}\">{}</text>",
                y + 3,
                y + 15,
                escape(&c.product),
                escape(reason),
                w + 246,
                y + 15,
                c.count
            );
        }
        chart.push_str("</svg>");
    }
    let rows = denials
        .items
        .into_iter()
        .map(|d| {
            let cells = vec![
                time::format(d.at),
                d.product,
                d.user,
                d.host,
                d.reason,
                d.lid.or(d.server).unwrap_or_default(),
            ];
            (d.id, cells)
        })
        .collect();
    view! {
        <section class="card" data-testid="denials">
            <h1>"Denials"</h1>
            <div inner_html=chart></div>
            <Grid testid="denials-table" head=&["Time", "Product", "User", "Host", "Reason", "License / server"] rows />
        </section>
    }
}

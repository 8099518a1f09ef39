//! Unix seconds as people read them.

/// `2026-11-23 16:30 UTC` for Unix seconds (empty for 0, which means "not set").
pub(crate) fn format(seconds: u64) -> String {
    if seconds == 0 {
        return String::new();
    }
    let iso: String = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0))
        .to_iso_string()
        .into();
    format!("{} {} UTC", &iso[..10], &iso[11..16])
}

/// Unix seconds for a `YYYY-MM-DD` date input, at the end of that day (UTC).
pub(crate) fn end_of_day(date: &str) -> Option<u64> {
    let ms = js_sys::Date::parse(&format!("{date}T23:59:59Z"));
    (ms.is_finite() && ms > 0.0).then_some((ms / 1000.0) as u64)
}

/// Now, Unix seconds (the browser's clock).
pub(crate) fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// `YYYY-MM-DD` (UTC) of Unix seconds, as a date input holds it.
pub(crate) fn date(seconds: u64) -> String {
    let iso: String = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(seconds as f64 * 1000.0))
        .to_iso_string()
        .into();
    iso[..10].to_string()
}

/// Unix seconds for a `YYYY-MM-DD` date input, at the start of that day (UTC).
pub(crate) fn start_of_day(date: &str) -> Option<u64> {
    let ms = js_sys::Date::parse(&format!("{date}T00:00:00Z"));
    (ms.is_finite() && ms >= 0.0).then_some((ms / 1000.0) as u64)
}

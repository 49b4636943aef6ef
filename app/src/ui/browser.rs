//! What only the browser gives: its clock (the local time of day, a precise monotonic clock) and
//! its randomness.

use uuid::Uuid;

/// The local day, the local time and the seconds since the epoch of an RFC 3339 timestamp.
pub fn clock(rfc3339: &str) -> (String, String, i64) {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    let day = format!("{}-{:02}-{:02}", d.get_full_year(), d.get_month() + 1, d.get_date());
    let time = format!("{:02}:{:02}", d.get_hours(), d.get_minutes());
    (day, time, (d.get_time() / 1000.0) as i64)
}

/// Milliseconds since the page loaded, sub-millisecond precise.
pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// A fresh UUIDv7 (time-ordered, random from the browser's CSPRNG): a message's idempotency key.
pub fn new_message_id() -> Uuid {
    let mut random = [0u8; 10];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut random);
    }
    uuid::Builder::from_unix_timestamp_millis(js_sys::Date::now() as u64, &random).into_uuid()
}

//! ISO 8601 UTC formatting and parsing.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn iso_from_ms(ms: i64) -> String {
    let dt = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        dt.month() as u8,
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

pub fn now_iso() -> String {
    iso_from_ms(now_ms())
}

pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Milliseconds since the epoch of an RFC 3339 timestamp.
pub fn parse_ms(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|d| (d.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// Normalise an agent timestamp to `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn normalize(s: &str) -> Option<String> {
    parse_ms(s).map(iso_from_ms)
}

/// Seconds since the epoch → ISO (Codex records some times as seconds).
pub fn iso_from_secs(s: f64) -> String {
    iso_from_ms((s * 1000.0) as i64)
}

/// Local-time-free UTC parts of now, for file names.
pub fn now_utc() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

//! Recordings: raw Samples in a versioned, checksummed, compressed file (`usetop record`),
//! read back for replay and dump through the same derive as live mode. `format` is the
//! layout, `writer` appends, `reader` reads robustly, `record` is the recording loop.

pub mod budget;
pub mod dir;
pub mod format;
pub mod reader;
pub mod record;
pub mod replay;
pub mod writer;

use std::path::PathBuf;

pub use format::{FORMAT_VERSION, Header};
pub use reader::{Frame, ReadStats, Reader};
pub use writer::Recorder;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The io::Error is in the message, not a `source`, so `{:#}` does not print it twice.
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path}: another usetop is recording to this file (it is locked)")]
    Locked { path: PathBuf },
    #[error("{path}: not a usetop recording")]
    NotRecording { path: PathBuf },
    #[error(
        "{path}: recording format version {file} is newer than this usetop reads (version {ours}); use a newer usetop"
    )]
    NewerVersion { path: PathBuf, file: u32, ours: u32 },
    #[error("{path}: bad recording header: {reason}")]
    BadHeader { path: PathBuf, reason: String },
    #[error("{path}: cannot append: {reason}")]
    Append { path: PathBuf, reason: String },
    #[error("{path}: refusing to record here: {reason}")]
    Refused { path: PathBuf, reason: String },
    #[error(
        "{path}: write failed after {frames} frame(s): {err}; recording stopped, the frames written so far are readable"
    )]
    Write {
        path: PathBuf,
        frames: u64,
        err: std::io::Error,
    },
    #[error(
        "{path}: flushing the recording to disk failed after {frames} frame(s): {err}; the last frames may not be on disk"
    )]
    Sync {
        path: PathBuf,
        frames: u64,
        err: std::io::Error,
    },
}

/// Parses `--begin` and `--end`: an absolute time (`2026-01-01 10:00`, `2026-01-01T10:00:00`
/// in local time; with a `Z` or ` UTC` suffix in UTC), Unix seconds, or an offset from the
/// end of the recording (`-10m`, `-90s`, `-1h`). Returns a wall clock in ms, given the
/// recording's last wall clock.
pub fn parse_begin(s: &str, last_wall_ms: i64) -> Result<i64, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('-') {
        let d = parse_duration(rest)?;
        return Ok(last_wall_ms - d.as_millis() as i64);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs.saturating_mul(1000));
    }
    parse_time(s).ok_or_else(|| {
        format!(
            "{s:?}: expected a time like \"2026-01-01 10:00\" (local), 2026-01-01T10:00:00Z (UTC), Unix seconds, or -10m"
        )
    })
}

/// `YYYY-MM-DD[T ]HH:MM[:SS]`: in UTC with a `Z` or ` UTC` suffix, else in local time.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(utc) = s
        .strip_suffix('Z')
        .or_else(|| s.strip_suffix("UTC").map(str::trim_end))
    {
        return parse_utc(utc);
    }
    // Parsed as UTC first (which checks the syntax and ranges), then read as local time.
    let as_utc = parse_utc(s)?;
    let c = crate::model::time::Civil::from_unix_ms(as_utc);
    local_to_unix_ms(&c)
}

/// A local calendar time to Unix ms (mktime, with the zone's daylight saving rules).
fn local_to_unix_ms(c: &crate::model::time::Civil) -> Option<i64> {
    // SAFETY: an all-zero tm is a valid value to fill in.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = i32::try_from(c.year - 1900).ok()?;
    tm.tm_mon = (c.month - 1) as i32;
    tm.tm_mday = c.day as i32;
    tm.tm_hour = c.hour as i32;
    tm.tm_min = c.minute as i32;
    tm.tm_sec = c.second as i32;
    tm.tm_isdst = -1;
    // SAFETY: mktime reads and normalises the tm we own; it reads the zone (TZ) itself.
    let t = unsafe { libc::mktime(&mut tm) };
    (t != -1).then(|| t.saturating_mul(1000))
}

/// `90`, `90s`, `10m`, `2h`, `1d`, `500ms`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 10m, 2h"))?;
    let mult = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h, d)")),
    };
    let secs = v * mult;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// `YYYY-MM-DD[T ]HH:MM[:SS][Z]`, UTC, to Unix milliseconds.
pub(crate) fn parse_utc(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00:00"));
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() {
        return None;
    }
    let mut t = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi) = (t.next()??, t.next()??);
    let sec = t.next().unwrap_or(Some(0))?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    Some((days_from_civil(y, mo, da) * 86400 + h * 3600 + mi * 60 + sec) * 1000)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_utc(ms: i64) -> String {
    let t = crate::model::time::Civil::from_unix_ms(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.milli
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let ms = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        assert_eq!(format_utc(ms), "2026-01-01T00:00:00.000Z");
        assert_eq!(parse_begin("2026-01-01T00:00:00Z", 0), Ok(ms));
        assert_eq!(parse_begin("2026-01-01 00:01Z", 0), Ok(ms + 60_000));
        assert_eq!(parse_begin("2026-01-01 00:01 UTC", 0), Ok(ms + 60_000));
        assert_eq!(parse_begin("2026-01-01T00:01:00UTC", 0), Ok(ms + 60_000));
        assert!(parse_begin("2026-13-01 00:00", 0).is_err());
        assert_eq!(parse_begin("-10m", ms), Ok(ms - 600_000));
        assert!(parse_begin("yesterday", ms).is_err());
        assert!(parse_duration("5x").is_err());
        assert_eq!(parse_duration("2h").map(|d| d.as_secs()), Ok(7200));
    }
}

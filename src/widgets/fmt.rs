//! Number formatting shared by every pane: fixed widths, binary units, `-` for "no rate yet".

/// Bytes with a binary unit, at most 6 characters: `512B`, `1.5K`, `12.3M`, `1.2T`.
pub fn bytes(v: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if v < 1024 {
        return format!("{v}B");
    }
    let mut x = v as f64 / 1024.0;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    if x < 10.0 {
        format!("{x:.1}{}", UNITS[u])
    } else {
        format!("{x:.0}{}", UNITS[u])
    }
}

/// A byte rate per second, or `-` without an interval.
pub fn bytes_rate(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x < 0.5 => "0".into(),
        Some(x) => bytes(x.round() as u64),
    }
}

/// A plain count per second with k/M suffixes.
pub fn count_rate(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) => count(x),
    }
}

pub fn count(x: f64) -> String {
    if x < 10.0 && x.fract() != 0.0 {
        format!("{x:.1}")
    } else if x < 10_000.0 {
        format!("{x:.0}")
    } else if x < 10_000_000.0 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{:.0}M", x / 1e6)
    }
}

pub fn pct(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) => format!("{x:.1}"),
    }
}

/// A signed byte rate: `+4.0K`, `-512B`, `0`, or `-` without an interval.
pub fn signed_bytes_rate(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x.abs() < 0.5 => "0".into(),
        Some(x) if x > 0.0 => format!("+{}", bytes(x.round() as u64)),
        Some(x) => format!("-{}", bytes((-x).round() as u64)),
    }
}

/// A link's speed and duplex as ethtool would abbreviate them: `10G/f`, `100M/h`, `n/a`.
pub fn link_speed(mbps: Option<u64>, duplex: Option<crate::model::net::Duplex>) -> String {
    use crate::model::net::Duplex;
    match (mbps, duplex) {
        (None, _) => "n/a".into(),
        (Some(s), d) => {
            let base = if s >= 1000 && s % 1000 == 0 {
                format!("{}G", s / 1000)
            } else {
                format!("{s}M")
            };
            match d {
                Some(Duplex::Full) => format!("{base}/f"),
                Some(Duplex::Half) => format!("{base}/h"),
                None => base,
            }
        }
    }
}

/// CPU time in clock ticks as top's TIME+: `m:ss.cc`, or `h:mm:ss` past an hour.
pub fn time_plus(ticks: u64, hz: u64) -> String {
    let hz = hz.max(1);
    let centis = ticks * 100 / hz;
    let secs = centis / 100;
    let (m, s, c) = (secs / 60, secs % 60, centis % 100);
    if m >= 60 {
        format!("{}h{:02}:{:02}", m / 60, m % 60, s)
    } else {
        format!("{m}:{s:02}.{c:02}")
    }
}

/// CPU seconds as top's TIME+ (see [`time_plus`]).
pub fn time_plus_secs(s: f64) -> String {
    // Seconds made from whole ticks: the epsilon keeps 0.29 s from reading as 0:00.28.
    let centis = (s.max(0.0) * 100.0 + 1e-6).floor() as u64;
    time_plus(centis, 100)
}

/// Seconds as `3d 04:05` or `04:05:06`.
pub fn uptime(s: f64) -> String {
    let s = s as u64;
    let (d, h, m) = (s / 86400, (s % 86400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{d}d {h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{:02}", s % 60)
    }
}

/// Unix milliseconds as UTC `HH:MM:SS`.
pub fn clock(wall_ms: i64) -> String {
    let s = wall_ms.div_euclid(1000).rem_euclid(86400);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// Unix milliseconds as the UTC date, `YYYY-MM-DD`.
pub fn date(wall_ms: i64) -> String {
    let t = crate::model::time::Civil::from_unix_ms(wall_ms);
    format!("{:04}-{:02}-{:02}", t.year, t.month, t.day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(50 * 1024 * 1024), "50M");
        assert_eq!(time_plus(12345, 100), "2:03.45");
        assert_eq!(time_plus(100 * 3700, 100), "1h01:40");
        assert_eq!(time_plus_secs(29.0 / 100.0), "0:00.29");
        assert_eq!(time_plus_secs(12345.0 / 250.0), time_plus(12345, 250));
        assert_eq!(count_rate(None), "-");
        assert_eq!(count(12345.0), "12k");
        assert_eq!(clock(VIRT), "00:00:05");
        assert_eq!(date(VIRT), "2026-01-01");
    }
    const VIRT: i64 = 1_767_225_605_000;
}

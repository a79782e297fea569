//! Where a figure stands against its thresholds: unknown, ok, warn, crit.

/// Where a figure stands against its thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Unknown,
    Ok,
    Warn,
    Crit,
}

impl Level {
    /// `warn`/`crit` are the lower bounds of each band.
    pub fn of(v: Option<f64>, warn: f64, crit: f64) -> Level {
        match v {
            None => Level::Unknown,
            Some(x) if x >= crit => Level::Crit,
            Some(x) if x >= warn => Level::Warn,
            Some(_) => Level::Ok,
        }
    }
}

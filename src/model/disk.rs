//! Block devices (/proc/diskstats) and PSI io: raw sample and derived figures.

use serde::{Deserialize, Serialize};

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskSample {}

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiskFigures {}

pub fn derive(_prev: Option<&DiskSample>, _cur: &DiskSample, _dt_s: f64) -> DiskFigures {
    DiskFigures::default()
}

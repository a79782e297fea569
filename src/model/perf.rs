//! CPU hardware and software counters (perf_event_open): raw sample and derived figures.

use serde::{Deserialize, Serialize};

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerfSample {}

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerfFigures {}

pub fn derive(_prev: Option<&PerfSample>, _cur: &PerfSample, _dt_s: f64) -> PerfFigures {
    PerfFigures::default()
}

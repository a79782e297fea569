//! Kernel slab caches (/proc/slabinfo): raw sample and derived figures.

use serde::{Deserialize, Serialize};

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SlabSample {}

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlabFigures {}

pub fn derive(_prev: Option<&SlabSample>, _cur: &SlabSample, _dt_s: f64) -> SlabFigures {
    SlabFigures::default()
}

//! TCP sockets over netlink sock_diag and their owning processes: raw sample and derived figures.

use serde::{Deserialize, Serialize};

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SocketSample {}

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SocketFigures {}

pub fn derive(_prev: Option<&SocketSample>, _cur: &SocketSample, _dt_s: f64) -> SocketFigures {
    SocketFigures::default()
}

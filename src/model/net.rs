//! Network interfaces (/proc/net/dev, /sys/class/net) and the TCP/UDP stack counters (/proc/net/snmp, /proc/net/netstat): raw sample and derived figures.

use serde::{Deserialize, Serialize};

/// Raw counters as read; part of the recording format (add fields with `#[serde(default)]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetSample {}

/// Rates and USE figures derived from two samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NetFigures {}

pub fn derive(_prev: Option<&NetSample>, _cur: &NetSample, _dt_s: f64) -> NetFigures {
    NetFigures::default()
}

//! Network interfaces (/proc/net/dev, /sys/class/net) and the TCP/UDP stack counters (/proc/net/snmp, /proc/net/netstat).

use super::procroot::ProcRoot;
use crate::model::{Note, net::NetSample};

pub struct NetCollector {
    _root: ProcRoot,
}

impl NetCollector {
    pub fn new(root: &ProcRoot) -> Self {
        NetCollector {
            _root: root.clone(),
        }
    }

    pub fn sample(&mut self, _notes: &mut Vec<Note>) -> NetSample {
        NetSample::default()
    }
}

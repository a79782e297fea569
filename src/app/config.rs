//! Thresholds that colour the USE cells. Defaults follow common practice (Gregg's USE
//! checklists, atop's defaults); the config file can override each band.

/// `warn` and `crit` are the lower bounds of the yellow and red bands.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub warn: f64,
    pub crit: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// CPU busy percent.
    pub cpu_util: Band,
    /// Run-queue length per CPU (runnable tasks beyond those running, load-style).
    pub cpu_runq: Band,
    /// PSI "some" stall percent, any resource.
    pub psi_some: Band,
    /// Memory used percent (total - available).
    pub mem_util: Band,
    /// Swap-in plus swap-out, KiB/s.
    pub swap_kbs: Band,
    /// Major faults per second.
    pub majflt_s: Band,
    /// Filesystem used percent.
    pub fs_util: Band,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu_util: Band {
                warn: 70.0,
                crit: 90.0,
            },
            cpu_runq: Band {
                warn: 1.0,
                crit: 2.0,
            },
            psi_some: Band {
                warn: 5.0,
                crit: 20.0,
            },
            mem_util: Band {
                warn: 85.0,
                crit: 95.0,
            },
            swap_kbs: Band {
                warn: 1.0,
                crit: 1024.0,
            },
            majflt_s: Band {
                warn: 10.0,
                crit: 100.0,
            },
            fs_util: Band {
                warn: 85.0,
                crit: 95.0,
            },
        }
    }
}

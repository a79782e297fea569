//! Getting snapshots out of usetop for other programs: `dump` (JSON lines, CSV) for scripts
//! and `openmetrics` for Prometheus (`usetop serve`, `usetop dump --format openmetrics`).

pub mod blktrace;
pub mod cgroup;
pub mod checklist;
pub mod dump;
pub mod openmetrics;
pub mod records;
pub mod runqlat;
pub mod serve;
pub mod tcptrace;

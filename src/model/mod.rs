//! Plain data, no I/O: the raw `Sample` a sampler fills, the derived `Snapshot` the panes
//! draw, and the arithmetic that turns one into the other.

pub mod blktrace;
pub mod cgroup;
pub mod cgroup_name;
pub mod cgroup_verdict;
pub mod checklist;
pub mod counters;
pub mod detail;
pub mod disk;
pub mod fields;
pub mod level;
mod memo;
pub mod net;
pub mod perf;
pub mod runqlat;
pub mod sample;
pub mod slab;
pub mod snapshot;
pub mod sockets;
pub mod tasklist;
pub mod tasks;
pub mod tcptrace;
pub mod thresholds;
pub mod time;
pub mod use_history;
pub mod verdict;

pub use counters::{delta, delta32, rate};
pub use level::Level;
pub use memo::Table;
pub use sample::*;
pub use snapshot::*;
pub use tasklist::TaskList;
pub use tasks::*;

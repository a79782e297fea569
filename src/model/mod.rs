//! Plain data, no I/O: the raw `Sample` a sampler fills, the derived `Snapshot` the panes
//! draw, and the arithmetic that turns one into the other.

pub mod cgroup;
pub mod cgroup_name;
pub mod counters;
pub mod detail;
pub mod disk;
pub mod level;
pub mod net;
pub mod perf;
pub mod sample;
pub mod slab;
pub mod snapshot;
pub mod sockets;
pub mod tasklist;
pub mod tasks;
pub mod thresholds;

pub use counters::{delta, delta32, rate};
pub use level::Level;
pub use sample::*;
pub use snapshot::*;
pub use tasklist::TaskList;
pub use tasks::*;

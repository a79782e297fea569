//! usetop: a USE-method performance dashboard for Linux. The binary is a thin CLI over this
//! library; tests drive the same entry points (`headless::render_headless`, the collectors
//! on fixture trees, `Snapshot::derive`).

pub mod app;
pub mod cli;
pub mod collectors;
pub mod export;
pub mod headless;
pub mod model;
pub mod panes;
pub mod ring;
pub mod store;
pub mod theme;
pub mod timeline;
pub mod widgets;

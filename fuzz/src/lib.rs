//! Fuzz checks for usetop's parsers; see checks.rs.

mod checks;
pub use checks::*;

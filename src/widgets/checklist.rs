//! Text of the USE checklist's figures as the resource panes show them (cpu, mem, disk,
//! net): each figure, or `n/a` with the short form of why.

use crate::model::checklist::{Avail, Na};
use crate::model::verdict::short_reason;

/// `n/a (why)`, the reason cut to the part in parentheses where it has one.
pub fn na(why: &Na) -> String {
    match why {
        Na::Missing(r) => format!("n/a ({})", short_reason(r)),
        other => format!("n/a ({other})"),
    }
}

/// The figure's text, or `n/a (why)`.
pub fn or_na<T>(v: &Avail<T>, f: impl FnOnce(&T) -> String) -> String {
    match v {
        Ok(x) => f(x),
        Err(why) => na(why),
    }
}

/// MHz without decimals.
pub fn mhz(v: f64) -> String {
    format!("{v:.0}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_cut_to_their_parentheses() {
        let r: Avail<u64> = Err(Na::Missing(
            "/sys/devices/system/edac/mc: not found (no EDAC driver for this machine)".into(),
        ));
        assert_eq!(
            or_na(&r, |n| n.to_string()),
            "n/a (no EDAC driver for this machine)"
        );
        assert_eq!(or_na(&Ok(3u64), |n| n.to_string()), "3");
        assert_eq!(na(&Na::FirstSample), "n/a (first sample)");
    }
}

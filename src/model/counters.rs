//! Counter arithmetic shared by every derive step: a counter that goes backwards (a reset,
//! a re-registered device) yields zero, never a negative or huge rate.

/// Increase of a monotonic 64-bit counter; a decrease (reset) counts as no increase.
pub fn delta(prev: u64, cur: u64) -> u64 {
    cur.saturating_sub(prev)
}

/// Increase of a counter the kernel keeps in 32 bits (some NIC drivers, diskstats on 32-bit
/// kernels): a decrease from a value that fits in 32 bits is a wrap, anything else a reset.
pub fn delta32(prev: u64, cur: u64) -> u64 {
    if cur >= prev {
        cur - prev
    } else if prev <= u64::from(u32::MAX) && cur <= u64::from(u32::MAX) {
        (u64::from(u32::MAX) - prev) + cur + 1
    } else {
        0
    }
}

/// Per-second rate of a counter over `dt_s` seconds; `None` when there is no interval.
pub fn rate(prev: u64, cur: u64, dt_s: f64) -> Option<f64> {
    (dt_s > 0.0).then(|| delta(prev, cur) as f64 / dt_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backwards_counter_is_zero() {
        assert_eq!(delta(10, 5), 0);
        assert_eq!(rate(10, 5, 1.0), Some(0.0));
        assert_eq!(rate(10, 20, 0.0), None);
        assert_eq!(rate(10, 20, 2.0), Some(5.0));
    }

    #[test]
    fn wrap_of_32_bit_counter() {
        assert_eq!(delta32(u64::from(u32::MAX) - 1, 3), 5);
        assert_eq!(delta32(1 << 40, 3), 0);
        assert_eq!(delta32(3, 10), 7);
    }
}

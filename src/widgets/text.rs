//! Text from process data is hostile: it may carry escape sequences, C1 controls and bidi
//! overrides. Everything drawn from it passes through `sanitize`, then `fit` by display width.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

fn unsafe_char(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Replaces every control, escape, C1 and bidi-override character with `?`.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if s.chars().any(unsafe_char) {
        Cow::Owned(
            s.chars()
                .map(|c| if unsafe_char(c) { '?' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// Sanitises and truncates to at most `width` terminal columns, never splitting a wide char.
pub fn fit(s: &str, width: usize) -> String {
    let mut out = String::with_capacity(s.len().min(width * 4));
    let mut w = 0;
    for c in s.chars() {
        let c = if unsafe_char(c) { '?' } else { c };
        let cw = c.width().unwrap_or(0);
        if w + cw > width {
            break;
        }
        w += cw;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escapes_and_bidi() {
        assert_eq!(sanitize("a\x1b[2Jb\x07\u{9b}c\u{202e}d"), "a?[2Jb??c?d");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn fits_wide_chars() {
        assert_eq!(fit("日本語", 5), "日本");
        assert_eq!(fit("ab\ncd", 10), "ab?cd");
    }
}

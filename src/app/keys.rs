//! Key names for `--keys` (headless) and the help screen: `Down`, `S-Tab`, `C-c`, `F1`, `a`.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub fn parse_key(name: &str) -> Result<KeyEvent, String> {
    let (mods, base) = if let Some(rest) = name.strip_prefix("C-") {
        (KeyModifiers::CONTROL, rest)
    } else if let Some(rest) = name.strip_prefix("S-") {
        (KeyModifiers::SHIFT, rest)
    } else {
        (KeyModifiers::NONE, name)
    };
    let code = match base {
        "Up" => KeyCode::Up,
        "Down" => KeyCode::Down,
        "Left" => KeyCode::Left,
        "Right" => KeyCode::Right,
        "Enter" => KeyCode::Enter,
        "Esc" => KeyCode::Esc,
        "Tab" if mods == KeyModifiers::SHIFT => KeyCode::BackTab,
        "Tab" => KeyCode::Tab,
        "BackTab" => KeyCode::BackTab,
        "Space" => KeyCode::Char(' '),
        "Backspace" | "BSpace" => KeyCode::Backspace,
        "Home" => KeyCode::Home,
        "End" => KeyCode::End,
        "PageUp" | "PgUp" => KeyCode::PageUp,
        "PageDown" | "PgDn" => KeyCode::PageDown,
        "Delete" => KeyCode::Delete,
        f if f.len() > 1 && f.starts_with('F') => match f[1..].parse::<u8>() {
            Ok(n) if (1..=12).contains(&n) => KeyCode::F(n),
            _ => return Err(format!("unknown key name {name:?}")),
        },
        s => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => KeyCode::Char(c),
                _ => return Err(format!("unknown key name {name:?}")),
            }
        }
    };
    Ok(KeyEvent::new(code, mods))
}

pub fn parse_keys(s: &str) -> Result<Vec<KeyEvent>, String> {
    s.split_whitespace().map(parse_key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse_key("Down").unwrap().code, KeyCode::Down);
        assert_eq!(parse_key("S-Tab").unwrap().code, KeyCode::BackTab);
        assert_eq!(parse_key("C-c").unwrap().modifiers, KeyModifiers::CONTROL);
        assert_eq!(parse_key("F10").unwrap().code, KeyCode::F(10));
        assert_eq!(parse_key("/").unwrap().code, KeyCode::Char('/'));
        assert!(parse_key("Nope").is_err());
        assert_eq!(parse_keys("a  b").unwrap().len(), 2);
    }
}

//! Key names for `--keys` (headless) and the help screen: `Down`, `S-Tab`, `C-c`, `F1`, `a`.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub fn parse_key(name: &str) -> Result<KeyEvent, String> {
    let (mods, base) = if let Some(rest) = name.strip_prefix("C-") {
        (KeyModifiers::CONTROL, rest)
    } else if let Some(rest) = name.strip_prefix("M-") {
        (KeyModifiers::ALT, rest)
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

/// A key's name as `parse_key` reads it (for messages).
pub fn key_name(k: &KeyEvent) -> String {
    let base = match k.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::BackTab => "S-Tab".to_string(),
        KeyCode::PageUp => "PgUp".to_string(),
        KeyCode::PageDown => "PgDn".to_string(),
        other => format!("{other:?}"),
    };
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        format!("C-{base}")
    } else if k.modifiers.contains(KeyModifiers::ALT) {
        format!("M-{base}")
    } else {
        base
    }
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
        assert_eq!(parse_key("M-1").unwrap().modifiers, KeyModifiers::ALT);
        for n in ["F2", "x", "C-x", "M-1", "Space", "S-Tab", "PgDn", "Home"] {
            assert_eq!(key_name(&parse_key(n).unwrap()), n);
        }
    }
}

//! Colours and emphasis. Every style the panes use comes from a `Theme`; `Theme::mono()` is
//! what NO_COLOR and --no-color give: no colour at all, emphasis by bold and reverse only.
//! The built-in themes are `themes/*.toml`, compiled in; each names the styles it sets and
//! the rest keep the base theme's.

use std::collections::BTreeMap;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The themes compiled in, by name, with their TOML text.
const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    ("mono", include_str!("../themes/mono.toml")),
];

pub const BUILTIN_NAMES: &[&str] = &["default", "light", "mono"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    styles: BTreeMap<String, StyleSpec>,
}

impl StyleSpec {
    fn style(&self) -> Result<Style, String> {
        let color = |c: &str| Color::from_str(c).map_err(|_| format!("unknown colour {c:?}"));
        let mut s = Style::default();
        if let Some(fg) = &self.fg {
            s = s.fg(color(fg)?);
        }
        if let Some(bg) = &self.bg {
            s = s.bg(color(bg)?);
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            if on {
                s = s.add_modifier(m);
            }
        }
        Ok(s)
    }
}

pub use crate::model::Level;

#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub base: Style,
    pub title: Style,
    pub header: Style,
    pub tab: Style,
    pub tab_active: Style,
    pub table_header: Style,
    pub selected: Style,
    pub dim: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub unknown: Style,
    pub usr: Style,
    pub sys: Style,
    pub io: Style,
    pub spark: Style,
    pub status: Style,
}

impl Theme {
    pub fn dark() -> Theme {
        Theme {
            name: "default".into(),
            base: Style::default(),
            title: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            header: Style::default().fg(Color::White).bg(Color::Blue),
            tab: Style::default().fg(Color::Gray),
            tab_active: Style::default()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            table_header: Style::default().fg(Color::Black).bg(Color::Green),
            selected: Style::default().fg(Color::Black).bg(Color::Cyan),
            dim: Style::default().fg(Color::DarkGray),
            ok: Style::default().fg(Color::Green),
            warn: Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            crit: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            unknown: Style::default().fg(Color::DarkGray),
            usr: Style::default().fg(Color::Green),
            sys: Style::default().fg(Color::Red),
            io: Style::default().fg(Color::Blue),
            spark: Style::default().fg(Color::Cyan),
            status: Style::default().fg(Color::Yellow),
        }
    }

    pub fn mono() -> Theme {
        let plain = Style::default();
        let bold = plain.add_modifier(Modifier::BOLD);
        let rev = plain.add_modifier(Modifier::REVERSED);
        Theme {
            name: "mono".into(),
            base: plain,
            title: bold,
            header: rev,
            tab: plain,
            tab_active: rev.add_modifier(Modifier::BOLD),
            table_header: rev,
            selected: rev,
            dim: plain,
            ok: plain,
            warn: bold,
            crit: bold.add_modifier(Modifier::UNDERLINED),
            unknown: plain,
            usr: plain,
            sys: plain,
            io: plain,
            spark: plain,
            status: bold,
        }
    }

    fn slot(&mut self, name: &str) -> Option<&mut Style> {
        Some(match name {
            "base" => &mut self.base,
            "title" => &mut self.title,
            "header" => &mut self.header,
            "tab" => &mut self.tab,
            "tab_active" => &mut self.tab_active,
            "table_header" => &mut self.table_header,
            "selected" => &mut self.selected,
            "dim" => &mut self.dim,
            "ok" => &mut self.ok,
            "warn" => &mut self.warn,
            "crit" => &mut self.crit,
            "unknown" => &mut self.unknown,
            "usr" => &mut self.usr,
            "sys" => &mut self.sys,
            "io" => &mut self.io,
            "spark" => &mut self.spark,
            "status" => &mut self.status,
            _ => return None,
        })
    }

    /// Applies a theme file's styles over `base`.
    pub fn from_toml(text: &str, base: Theme) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let mut theme = base;
        theme.name = file.name;
        for (name, spec) in &file.styles {
            let style = spec.style().map_err(|e| format!("style {name}: {e}"))?;
            *theme
                .slot(name)
                .ok_or_else(|| format!("unknown style {name:?}"))? = style;
        }
        Ok(theme)
    }

    /// A compiled-in theme by name (`default`, `light`, `mono`).
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        // The monochrome theme starts from no colour, so a style it leaves out stays plain.
        let base = if name == "mono" {
            Theme::mono()
        } else {
            Theme::dark()
        };
        Theme::from_toml(text, base).ok()
    }

    pub fn level(&self, l: Level) -> Style {
        match l {
            Level::Unknown => self.unknown,
            Level::Ok => self.ok,
            Level::Warn => self.warn,
            Level::Crit => self.crit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse() {
        for (name, text) in BUILTIN {
            Theme::from_toml(text, Theme::dark()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(Theme::builtin(name).is_some(), "{name}");
        }
        assert_eq!(Theme::builtin("default"), Some(Theme::dark()));
        assert_eq!(Theme::builtin("mono"), Some(Theme::mono()));
        assert!(Theme::builtin("nope").is_none());
    }

    #[test]
    fn mono_has_no_colour() {
        let t = Theme::builtin("mono").unwrap();
        for s in [t.selected, t.crit, t.title, t.header, t.ok, t.spark] {
            assert!(s.fg.is_none() && s.bg.is_none());
        }
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn bad_theme_is_an_error() {
        assert!(Theme::from_toml("name='x'\n[styles]\nnope = {}", Theme::mono()).is_err());
        assert!(
            Theme::from_toml(
                "name='x'\n[styles]\nok = { fg = 'chartreuse-ish' }",
                Theme::mono()
            )
            .is_err()
        );
    }

    /// xterm's default palette, for contrast checks.
    fn rgb(c: Color) -> Option<(f64, f64, f64)> {
        let v = |r: u8, g: u8, b: u8| Some((f64::from(r), f64::from(g), f64::from(b)));
        match c {
            Color::Black => v(0, 0, 0),
            Color::Red => v(205, 0, 0),
            Color::Green => v(0, 205, 0),
            Color::Yellow => v(205, 205, 0),
            Color::Blue => v(0, 0, 238),
            Color::Magenta => v(205, 0, 205),
            Color::Cyan => v(0, 205, 205),
            Color::Gray => v(229, 229, 229),
            Color::DarkGray => v(127, 127, 127),
            Color::LightRed => v(255, 0, 0),
            Color::LightGreen => v(0, 255, 0),
            Color::LightYellow => v(255, 255, 0),
            Color::LightBlue => v(92, 92, 255),
            Color::LightMagenta => v(255, 0, 255),
            Color::LightCyan => v(0, 255, 255),
            Color::White => v(255, 255, 255),
            Color::Rgb(r, g, b) => v(r, g, b),
            _ => None,
        }
    }

    /// WCAG contrast ratio of a colour against white.
    fn contrast_on_white(c: Color) -> Option<f64> {
        let (r, g, b) = rgb(c)?;
        let lin = |x: f64| {
            let x = x / 255.0;
            if x <= 0.03928 {
                x / 12.92
            } else {
                ((x + 0.055) / 1.055).powf(2.4)
            }
        };
        let l = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
        Some(1.05 / (l + 0.05))
    }

    /// Text drawn straight on a light background (no background colour of its own) must be
    /// readable: the dim labels and the sort marker were silver on white.
    #[test]
    fn light_theme_text_is_readable_on_white() {
        let t = Theme::builtin("light").unwrap();
        for (name, s) in [
            ("dim", t.dim),
            ("unknown", t.unknown),
            ("tab", t.tab),
            ("title", t.title),
            ("status", t.status),
            ("crit", t.crit),
            ("warn", t.warn),
            ("ok", t.ok),
            ("usr", t.usr),
            ("sys", t.sys),
            ("io", t.io),
            ("spark", t.spark),
        ] {
            if s.bg.is_some() {
                continue;
            }
            let Some(fg) = s.fg else { continue };
            let ratio = contrast_on_white(fg).unwrap_or(21.0);
            assert!(
                ratio >= 3.0,
                "{name}: {fg:?} has contrast {ratio:.1} on white"
            );
        }
    }
}

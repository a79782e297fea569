//! Colours and emphasis. Every style the panes use comes from a `Theme`; `Theme::mono()` is
//! what NO_COLOR and --no-color give: no colour at all, emphasis by bold and reverse only.

use ratatui::style::{Color, Modifier, Style};

/// Where a figure stands against its thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Unknown,
    Ok,
    Warn,
    Crit,
}

impl Level {
    /// `warn`/`crit` are the lower bounds of each band.
    pub fn of(v: Option<f64>, warn: f64, crit: f64) -> Level {
        match v {
            None => Level::Unknown,
            Some(x) if x >= crit => Level::Crit,
            Some(x) if x >= warn => Level::Warn,
            Some(_) => Level::Ok,
        }
    }
}

#[derive(Clone, Debug)]
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

    pub fn level(&self, l: Level) -> Style {
        match l {
            Level::Unknown => self.unknown,
            Level::Ok => self.ok,
            Level::Warn => self.warn,
            Level::Crit => self.crit,
        }
    }
}

//! The config file (`$XDG_CONFIG_HOME/usetop/config.toml`) and the thresholds that colour the
//! USE cells. Loading is all or nothing: an unknown key, a bad value or a syntax error is a
//! message with line and column, and usetop never runs on half a config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::crossterm::event::KeyEvent;
use serde::{Deserialize, Deserializer};

use super::keys::parse_key;
use crate::model::fields::{PROC_FIELDS, proc_field};
use crate::panes::PaneId;

pub use crate::model::thresholds::{Band, Thresholds};

/// Actions whose key can be rebound in `[keys]`. A binding adds a key; the default keeps
/// working.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    Pause,
    NextPane,
    PrevPane,
    Kill,
    ReniceUp,
    ReniceDown,
    Tree,
    Threads,
    Filter,
    Columns,
    Back,
}

impl Action {
    /// The built-in key an override stands for.
    pub fn default_key(self) -> &'static str {
        match self {
            Action::Quit => "q",
            Action::Help => "?",
            Action::Pause => "Space",
            Action::NextPane => "Tab",
            Action::PrevPane => "BackTab",
            Action::Kill => "k",
            Action::ReniceUp => "n",
            Action::ReniceDown => "N",
            Action::Tree => "t",
            Action::Threads => "H",
            Action::Filter => "/",
            Action::Columns => "C",
            Action::Back => "Esc",
        }
    }
}

/// A key name as `--keys` spells it (`C-x`, `F5`, `x`), checked while parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyName(pub KeyEvent);

/// Keys that keep their built-in meaning everywhere (quit, help, panes, time, rows): a
/// binding may not take them over.
const RESERVED_KEYS: &[&str] = &[
    "q", "?", "F1", "Tab", "BackTab", "Space", "Left", "Right", "Up", "Down", "Home", "End",
    "PgUp", "PgDn", "Enter", "Esc", "C-c", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
];

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let key = parse_key(&s).map_err(serde::de::Error::custom)?;
        let reserved = RESERVED_KEYS
            .iter()
            .filter_map(|r| parse_key(r).ok())
            .any(|r| r.code == key.code && r.modifiers == key.modifiers);
        if reserved {
            return Err(serde::de::Error::custom(format!(
                "{s:?} is a built-in key (quit, help, panes, time or rows) and cannot be bound"
            )));
        }
        Ok(KeyName(key))
    }
}

fn de_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = f64::deserialize(d)?;
    if (0.1..=60.0).contains(&v) {
        Ok(Some(v))
    } else {
        Err(serde::de::Error::custom(format!(
            "interval {v} is outside 0.1–60 seconds"
        )))
    }
}

fn de_pane<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PaneId>, D::Error> {
    let s = String::deserialize(d)?;
    crate::panes::parse_pane(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn de_columns<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    if names.is_empty() {
        return Err(serde::de::Error::custom(
            "columns = [] would leave the process table without a column; list at least one, \
             or leave the key out for the default set",
        ));
    }
    names
        .iter()
        .map(|n| {
            proc_field(n).map(|f| f.name.to_string()).ok_or_else(|| {
                let all: Vec<&str> = PROC_FIELDS.iter().map(|f| f.name).collect();
                serde::de::Error::custom(format!(
                    "unknown column {n:?}, expected some of {}",
                    all.join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn de_theme<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    if crate::theme::Theme::builtin(&s).is_some() {
        Ok(Some(s))
    } else {
        Err(serde::de::Error::custom(format!(
            "unknown theme {s:?}, expected one of {}",
            crate::theme::BUILTIN_NAMES.join(", ")
        )))
    }
}

/// The whole file. Every key is optional; an unknown key is an error.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Refresh interval in seconds.
    #[serde(deserialize_with = "de_interval")]
    pub interval: Option<f64>,
    /// Pane shown at start.
    #[serde(deserialize_with = "de_pane")]
    pub pane: Option<PaneId>,
    /// Process table columns by field name (`model::fields::PROC_FIELDS`); the table keeps
    /// its own order.
    #[serde(deserialize_with = "de_columns")]
    pub columns: Option<Vec<String>>,
    pub thresholds: Thresholds,
    #[serde(deserialize_with = "de_theme")]
    pub theme: Option<String>,
    /// Never send signals or renice.
    pub read_only: bool,
    /// `mouse = false`: no mouse capture (as `--no-mouse`).
    pub mouse: Option<bool>,
    /// Extra keys: `kill = "F9"`.
    pub keys: BTreeMap<Action, KeyName>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {msg}")]
    Io { path: PathBuf, msg: String },
    #[error("{path}:{line}:{col}: {msg}")]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        msg: String,
    },
    #[error("{path}: {msg}")]
    Unsafe { path: PathBuf, msg: String },
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

impl Config {
    /// Parses config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str::<Config>(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                msg: e.message().trim().to_string(),
            }
        })
    }

    /// The default location: `$XDG_CONFIG_HOME/usetop/config.toml`, else
    /// `~/.config/usetop/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|h| PathBuf::from(h).join(".config"))
            })?;
        Some(base.join("usetop/config.toml"))
    }

    /// Loads `explicit` (which must exist) or the default file (which may be absent).
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match Self::default_path() {
                Some(p) if p.exists() => p,
                _ => return Ok(Config::default()),
            },
        };
        // SAFETY: geteuid has no memory effects.
        let euid = unsafe { libc::geteuid() };
        check_owner(&path, euid)?;
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Io {
            path: path.clone(),
            msg: e.to_string(),
        })?;
        Self::parse(&text, &path)
    }
}

/// Run as root, usetop refuses a config that another user could have written: it names
/// keys and a theme, and root must not take input from them.
pub fn check_owner(path: &Path, euid: u32) -> Result<(), ConfigError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| ConfigError::Io {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    if euid != 0 {
        return Ok(());
    }
    let mode = meta.mode();
    if meta.uid() != 0 {
        return Err(ConfigError::Unsafe {
            path: path.to_path_buf(),
            msg: format!(
                "refusing a config owned by uid {} while running as root",
                meta.uid()
            ),
        });
    }
    if mode & 0o022 != 0 {
        return Err(ConfigError::Unsafe {
            path: path.to_path_buf(),
            msg: format!(
                "refusing a config writable by group or others (mode {:o}) while running as root",
                mode & 0o7777
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("x", 0), (1, 1));
    }

    #[test]
    fn partial_thresholds_keep_defaults() {
        let c = Config::parse(
            "[thresholds]\ncpu_util = { warn = 50, crit = 80 }\n",
            Path::new("c"),
        )
        .unwrap();
        assert_eq!(c.thresholds.cpu_util.warn, 50.0);
        assert_eq!(c.thresholds.mem_util, Thresholds::default().mem_util);
    }
}

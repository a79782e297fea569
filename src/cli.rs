//! Command-line interface. Bad values are a one-line error and exit status 2 (clap's
//! convention), checked before the terminal is touched.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;

use crate::app::config::{Config, KeyName};
use crate::app::{App, Options, UiOptions, live};
use crate::collectors::{Collectors, ProcRoot};
use crate::headless::{HeadlessOptions, render_headless};
use crate::panes::PaneId;
use crate::theme::Theme;

fn parse_interval(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if (0.1..=60.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside 0.1–60 seconds"))
    }
}

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (c, r) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?} is not COLSxROWS"))?;
    let n = |v: &str| {
        v.parse::<u16>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{s:?} is not COLSxROWS"))
    };
    Ok((n(c)?, n(r)?))
}

fn parse_theme(s: &str) -> Result<String, String> {
    if Theme::builtin(s).is_some() {
        Ok(s.to_string())
    } else {
        Err(format!(
            "unknown theme {s:?}, expected one of {}",
            crate::theme::BUILTIN_NAMES.join(", ")
        ))
    }
}

/// `-p 1,2,3`: one value holding a list (a plain `Vec` would make clap expect several).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PidList(pub Vec<u32>);

fn parse_pids(s: &str) -> Result<PidList, String> {
    s.split(',')
        .map(|p| {
            p.trim()
                .parse::<u32>()
                .map_err(|_| format!("{p:?} is not a pid"))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(PidList)
}

fn parse_history(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (2..=100_000).contains(&n) => Ok(n),
        _ => Err(format!("{s:?}: history must be 2–100000 snapshots")),
    }
}

/// A USE-method performance dashboard for Linux: utilization, saturation and errors of every
/// resource at a glance, then drill down to processes and threads.
#[derive(Debug, Parser)]
#[command(name = "usetop", version, about)]
pub struct Cli {
    /// Refresh interval in seconds (0.1–60).
    #[arg(short, long, default_value = "1", value_parser = parse_interval)]
    pub interval: f64,
    /// Pane to start on.
    #[arg(short = 'P', long, value_enum, default_value = "use")]
    pub pane: PaneId,
    /// Root of the proc filesystem (a fake tree for tests). Headless mode accepts it several
    /// times: frame i reads the i-th root (the last repeats).
    #[arg(long, default_value = "/proc")]
    pub proc_root: Vec<PathBuf>,
    /// Root of the sys filesystem.
    #[arg(long, default_value = "/sys")]
    pub sys_root: Vec<PathBuf>,
    /// Snapshots kept for history and time travel.
    #[arg(long, default_value = "600", value_parser = parse_history)]
    pub history: usize,
    /// No colours (also when NO_COLOR is set).
    #[arg(long)]
    pub no_color: bool,
    /// Print frames as text instead of opening the dashboard.
    #[arg(long)]
    pub headless: bool,
    /// Headless frame size.
    #[arg(long, default_value = "80x24", value_parser = parse_size, requires = "headless")]
    pub size: (u16, u16),
    /// Headless frame count.
    #[arg(long, default_value = "2", requires = "headless")]
    pub frames: usize,
    /// Headless: space-separated key names fed before the last frame, e.g. "Down Down Enter".
    #[arg(long, default_value = "", requires = "headless")]
    pub keys: String,
    /// Config file (default: $XDG_CONFIG_HOME/usetop/config.toml or
    /// ~/.config/usetop/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Colour theme: default, light or mono.
    #[arg(long, value_name = "NAME", value_parser = parse_theme)]
    pub theme: Option<String>,
    /// Never send signals or renice: those keys only show a message.
    #[arg(long)]
    pub read_only: bool,
    /// Show only processes of this user (name or uid).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Show only these processes (comma-separated pids).
    #[arg(short = 'p', long = "pid", value_name = "PID,...", value_parser = parse_pids)]
    pub pids: Option<PidList>,
    /// Headless: advance a virtual clock by the interval per frame instead of sleeping
    /// (reproducible output on fixture trees).
    #[arg(long, requires = "headless")]
    pub virtual_clock: bool,
}

impl Cli {
    fn roots(&self) -> Vec<ProcRoot> {
        let n = self.proc_root.len().max(self.sys_root.len());
        (0..n)
            .map(|i| {
                let p = &self.proc_root[i.min(self.proc_root.len() - 1)];
                let s = &self.sys_root[i.min(self.sys_root.len() - 1)];
                ProcRoot::new(p, s)
            })
            .collect()
    }

    /// Options from the flags over the config file over the defaults. A flag left at its
    /// default gives way to the config's value.
    fn options(&self, cfg: &Config) -> Result<Options> {
        let no_color = self.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let theme_name = self.theme.as_deref().or(cfg.theme.as_deref());
        let theme = if no_color {
            Theme::mono()
        } else {
            theme_name
                .and_then(Theme::builtin)
                .unwrap_or_else(Theme::dark)
        };
        let interval = match cfg.interval {
            Some(v) if self.interval == 1.0 => v,
            _ => self.interval,
        };
        let pane = match cfg.pane {
            Some(p) if self.pane == PaneId::Use => p,
            _ => self.pane,
        };
        let columns = cfg.columns.clone();
        let mut filter = Vec::new();
        if let Some(u) = &self.user {
            filter.push(format!("user:{u}"));
        }
        if let Some(PidList(p)) = &self.pids {
            let list: Vec<String> = p.iter().map(|p| p.to_string()).collect();
            filter.push(format!("pid:{}", list.join(",")));
        }
        let key_aliases = cfg
            .keys
            .iter()
            .filter_map(|(action, KeyName(k))| {
                crate::app::keys::parse_key(action.default_key())
                    .ok()
                    .map(|to| (*k, to))
            })
            .collect();
        Ok(Options {
            interval: Duration::from_secs_f64(interval),
            history: self.history,
            pane,
            theme,
            thresholds: cfg.thresholds.clone(),
            ui: UiOptions {
                read_only: self.read_only || cfg.read_only,
                columns,
                filter: filter.join(" "),
                key_aliases,
                root: None,
            },
        })
    }
}

/// Runs the mode the arguments select; returns the text to print in headless mode.
pub fn run(cli: Cli) -> Result<()> {
    let cfg = Config::load(cli.config.as_deref())?;
    let mut opts = cli.options(&cfg)?;
    let roots = cli.roots();
    if cli.headless {
        let text = render_headless(HeadlessOptions {
            app: opts,
            cols: cli.size.0,
            rows: cli.size.1,
            frames: cli.frames,
            keys: cli.keys.clone(),
            roots,
            virtual_clock: cli.virtual_clock,
        })?;
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth a message.
        let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        return Ok(());
    }
    if roots.len() > 1 {
        anyhow::bail!("several --proc-root/--sys-root values are only for --headless");
    }
    let root = roots.into_iter().next().unwrap_or_default();
    if !root.proc.join("stat").exists() {
        anyhow::bail!(
            "{}: not a proc filesystem (no stat file)",
            root.proc.display()
        );
    }
    opts.ui.root = Some(root.clone());
    live::run(App::new(opts), Collectors::new(root))
}

//! Command-line interface. Bad values are a one-line error and exit status 2 (clap's
//! convention), checked before the terminal is touched.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;

use crate::app::config::{Config, KeyName};
use crate::app::{App, Options, UiOptions, live};
use crate::collectors::{Collectors, ProcRoot};
use crate::headless::{HeadlessOptions, render_from, render_headless};
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

/// The largest headless frame, per side: a frame is a buffer of cols × rows cells held
/// several times over, and 20000x20000 would ask for tens of gigabytes.
pub const MAX_FRAME_SIDE: u16 = 1000;

fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (c, r) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?} is not COLSxROWS"))?;
    let n = |v: &str| {
        v.parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{s:?} is not COLSxROWS"))
    };
    let (c, r) = (n(c)?, n(r)?);
    let max = u32::from(MAX_FRAME_SIDE);
    match (u16::try_from(c), u16::try_from(r)) {
        (Ok(c), Ok(r)) if u32::from(c) <= max && u32::from(r) <= max => Ok((c, r)),
        _ => Err(format!(
            "{c}x{r} is larger than the limit of {max}x{max} cells"
        )),
    }
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
    /// Refresh interval in seconds (0.1–60; default: the config's, else 1).
    #[arg(short, long, value_parser = parse_interval)]
    pub interval: Option<f64>,
    /// Pane to start on (default: the config's, else use).
    #[arg(short = 'P', long, value_parser = crate::panes::parse_pane)]
    pub pane: Option<PaneId>,
    /// Root of the proc filesystem (a fake tree for tests). Headless mode accepts it several
    /// times: frame i reads the i-th root (the last repeats).
    #[arg(long, default_value = "/proc", global = true)]
    pub proc_root: Vec<PathBuf>,
    /// Root of the sys filesystem.
    #[arg(long, default_value = "/sys", global = true)]
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
    /// Headless frame size, COLSxROWS (at most 1000x1000).
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
    /// Leave the mouse to the terminal: no mouse capture (select and paste as usual).
    #[arg(long)]
    pub no_mouse: bool,
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
    /// Record, replay, dump or serve instead of the dashboard.
    #[command(subcommand)]
    pub cmd: Option<Command>,
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

    /// `-u` names a user of the tree's passwd file, or is a number (a uid): anything else
    /// would show an empty table with no hint why.
    fn check_user(&self, user: &str) -> Result<()> {
        if user.parse::<u32>().is_ok() {
            return Ok(());
        }
        let Some(root) = self.roots().into_iter().next() else {
            return Ok(());
        };
        let path = root.etc.join("passwd");
        match std::fs::read(&path) {
            Ok(b) => {
                let known = crate::collectors::parse::parse_passwd(&b)
                    .values()
                    .any(|n| n == user);
                if known {
                    Ok(())
                } else {
                    anyhow::bail!("-u {user}: no such user in {}", path.display())
                }
            }
            // Without a passwd file names cannot be checked; the filter still matches names.
            Err(_) => Ok(()),
        }
    }

    /// Options from the flags over the config file over the defaults. A flag left at its
    /// default gives way to the config's value.
    pub fn options(&self, cfg: &Config) -> Result<Options> {
        let no_color = self.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let theme_name = self.theme.as_deref().or(cfg.theme.as_deref());
        let theme = if no_color {
            Theme::mono()
        } else {
            theme_name
                .and_then(Theme::builtin)
                .unwrap_or_else(Theme::dark)
        };
        // A flag given on the command line wins over the config, even when it names the
        // default.
        let interval = self.interval.or(cfg.interval).unwrap_or(1.0);
        // A flag given on the command line wins over the config, even when it names the
        // default.
        let pane = self.pane.or(cfg.pane).unwrap_or(PaneId::Use);
        let columns = cfg.columns.clone();
        let mut filter = Vec::new();
        if let Some(u) = &self.user {
            self.check_user(u)?;
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
                no_mouse: self.no_mouse || cfg.mouse == Some(false),
                replay: false,
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
    if let Some(cmd) = &cli.cmd {
        return run_command(cmd, &cli);
    }
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

// ---- Subcommands: record, replay, dump, serve ----

fn parse_count(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{s:?} is not a positive count")),
    }
}

fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    crate::store::parse_duration(s)
}

/// `ADDR:PORT`, or a bare address on the default port 9273.
fn parse_listen(s: &str) -> Result<std::net::SocketAddr, String> {
    s.parse().or_else(|_| {
        s.trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .map(|ip| std::net::SocketAddr::new(ip, 9273))
            .map_err(|_| format!("{s:?} is not an address like 127.0.0.1:9273 or [::1]:9273"))
    })
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Append raw samples to a recording file (created 0600; an existing recording is continued).
    Record(RecordArgs),
    /// Open the dashboard on a recording (every pane, drill-down, time travel).
    Replay(ReplayArgs),
    /// Print snapshots for scripts: JSON lines, CSV or OpenMetrics text.
    Dump(DumpArgs),
    /// Serve OpenMetrics text at /metrics (and /healthz) for Prometheus.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The recording file.
    #[arg(short, long, required_unless_present = "dir", conflicts_with = "dir")]
    pub output: Option<PathBuf>,
    /// Record as a service into this directory: one file per UTC day, a new segment after a
    /// reboot, old files removed by --keep and --max-size (the service uses /var/log/usetop).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// With --dir: remove files whose day ended longer ago than this (default 7d).
    #[arg(long, value_parser = parse_keep, requires = "dir")]
    pub keep: Option<Duration>,
    /// With --dir: remove the oldest files while all of them take more than this (2G, 500M).
    #[arg(long, value_parser = crate::store::dir::parse_size, requires = "dir")]
    pub max_size: Option<u64>,
    /// Seconds between samples (0.1–60; default 1, or 10 with --dir).
    #[arg(short, long, value_parser = parse_interval)]
    pub interval: Option<f64>,
    /// Stop after this long (90s, 10m, 2h, 1d).
    #[arg(long, value_parser = parse_duration_arg, conflicts_with = "count")]
    pub duration: Option<Duration>,
    /// Stop after this many samples.
    #[arg(short = 'n', long, value_parser = parse_count)]
    pub count: Option<u64>,
    /// Record every thread too, so replay can drill down to threads (larger files).
    #[arg(long)]
    pub threads: bool,
}

fn parse_keep(s: &str) -> Result<Duration, String> {
    let d = crate::store::parse_duration(s)?;
    if d < Duration::from_secs(60) {
        return Err(format!("{s:?}: keep at least 1m (14d, 36h)"));
    }
    Ok(d)
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The recording: a file, or a directory `record --dir` writes (its daily files in order).
    pub file: PathBuf,
    /// Start here: a local time ("2026-12-01 03:00"), UTC with a Z or UTC suffix
    /// (2026-12-01T03:00Z), Unix seconds, or back from the end of the recording (-2h, -10m).
    #[arg(long, allow_hyphen_values = true)]
    pub begin: Option<String>,
    /// Stop after the last frame at or before this time (as --begin).
    #[arg(long, allow_hyphen_values = true)]
    pub end: Option<String>,
    /// Pane to start on (default: the top-level --pane).
    #[arg(long, value_parser = crate::panes::parse_pane)]
    pub pane: Option<PaneId>,
    /// Print frames as text instead of opening the dashboard.
    #[arg(long)]
    pub headless: bool,
    /// Headless frame size, COLSxROWS (at most 1000x1000).
    #[arg(long, default_value = "80x24", value_parser = parse_size)]
    pub size: (u16, u16),
    /// Headless frame count (default: every frame loaded).
    #[arg(long)]
    pub frames: Option<usize>,
    /// Headless: key names fed before the last frame.
    #[arg(long, default_value = "")]
    pub keys: String,
}

#[derive(Debug, clap::Args)]
pub struct DumpArgs {
    #[arg(long, value_enum, default_value = "json")]
    pub format: crate::export::dump::Format,
    /// Snapshots to print (live: default 1; replay: default all).
    #[arg(short = 'n', long, value_parser = parse_count)]
    pub count: Option<u64>,
    /// Seconds between live samples (0.1–60).
    #[arg(short, long, default_value = "1", value_parser = parse_interval)]
    pub interval: f64,
    /// Read a recording (a file, or a directory `record --dir` writes) instead of sampling
    /// this machine.
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// With --replay: start here (as `replay --begin`).
    #[arg(long, allow_hyphen_values = true, requires = "replay")]
    pub begin: Option<String>,
    /// With --replay: stop after the last frame at or before this time (as `replay --end`).
    #[arg(long, allow_hyphen_values = true, requires = "replay")]
    pub end: Option<String>,
    /// What to print: use or mem (system summary), cpu (each CPU), proc (each process), disk
    /// (each block device), net (each interface), sock (each TCP socket), slab (each cache),
    /// perf (each CPU's counters), cgroup (each cgroup).
    #[arg(long, value_parser = parse_dump_view, default_value = "use")]
    pub pane: crate::export::dump::View,
}

/// A pane name with a dump view (a pane of the dashboard, or `cgroup`).
fn parse_dump_view(name: &str) -> Result<crate::export::dump::View, String> {
    crate::export::dump::View::for_pane(name)
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; loopback unless an explicit other address is given.
    #[arg(long, default_value = crate::export::serve::DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: std::net::SocketAddr,
    /// Seconds between samples (0.1–60); scrapes read the latest, never /proc.
    #[arg(short, long, default_value = "1", value_parser = parse_interval)]
    pub interval: f64,
    /// Export per-process series for the N busiest processes (pid and comm labels only).
    #[arg(long, default_value = "0")]
    pub per_process: usize,
    /// Connections open at once (at most a quarter of the open-files limit); at the cap a new
    /// connection closes the stalest idle one.
    #[arg(long, value_name = "N", default_value = "256", value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: u32,
    /// Seconds a client has to send a whole request head before the connection is closed.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_timeout)]
    pub header_timeout: f64,
    /// Seconds an idle keep-alive connection (or a stalled response) is kept.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_timeout)]
    pub idle_timeout: f64,
    /// Export usetop_cgroup_* series for cgroups at most this deep (the root is 0).
    #[arg(long, default_value_t = crate::export::cgroup::DEFAULT_CGROUP_DEPTH)]
    pub cgroup_depth: usize,
    /// ... and for at most this many of them (shallowest, then busiest, first; 0: none).
    #[arg(long, default_value_t = crate::export::cgroup::DEFAULT_CGROUP_LIMIT)]
    pub cgroup_limit: usize,
}

fn parse_timeout(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if (0.1..=3600.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is outside 0.1–3600 seconds"))
    }
}

fn single_root(cli: &Cli) -> Result<ProcRoot> {
    let roots = cli.roots();
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
    Ok(root)
}

fn print_out(text: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_ok()
}

fn run_command(cmd: &Command, cli: &Cli) -> Result<()> {
    match cmd {
        Command::Record(a) => run_record(a, cli),
        Command::Replay(a) => run_replay(a, cli),
        Command::Dump(a) => run_dump(a, cli),
        Command::Serve(a) => run_serve(a, cli),
    }
}

fn run_record(a: &RecordArgs, cli: &Cli) -> Result<()> {
    use crate::store::dir::{self, DirOptions, Retention};
    use crate::store::record::{self, RecordOptions};
    let root = single_root(cli)?;
    let boot_id = dir::read_boot_id(&root);
    let Some(output) = &a.output else {
        let Some(path) = &a.dir else {
            anyhow::bail!("record needs -o FILE or --dir DIR");
        };
        let interval = a.interval.unwrap_or(dir::DEFAULT_INTERVAL_S);
        let opts = DirOptions {
            dir: path.clone(),
            interval: Duration::from_secs_f64(interval),
            retention: Retention {
                keep: a.keep.unwrap_or(dir::DEFAULT_KEEP),
                max_size: a.max_size,
            },
            count: a.count,
            duration: a.duration,
            threads: a.threads,
            boot_id,
        };
        eprintln!(
            "usetop: recording to {} every {interval} s, one file per UTC day (Ctrl-C stops)",
            path.display()
        );
        let frames = dir::run(
            &opts,
            Collectors::new(root),
            &crate::collectors::SystemClock,
        )?;
        eprintln!("usetop: recorded {frames} sample(s) in {}", path.display());
        return Ok(());
    };
    let interval = a.interval.unwrap_or(1.0);
    let opts = RecordOptions {
        path: output.clone(),
        interval: Duration::from_secs_f64(interval),
        count: a.count,
        duration: a.duration,
        threads: a.threads,
        boot_id,
    };
    eprintln!(
        "usetop: recording to {} every {} s (Ctrl-C stops)",
        output.display(),
        interval
    );
    let summary = record::run(
        &opts,
        Collectors::new(root),
        &crate::collectors::SystemClock,
        |_, _| {},
    )?;
    eprintln!(
        "usetop: recorded {} sample(s), {} bytes in {}{}",
        summary.frames,
        summary.bytes,
        output.display(),
        if summary.existing_frames > 0 {
            format!(" (after {} earlier)", summary.existing_frames)
        } else {
            String::new()
        }
    );
    Ok(())
}

fn run_replay(a: &ReplayArgs, cli: &Cli) -> Result<()> {
    let headless = a.headless || cli.headless;
    let max = match (headless, a.frames) {
        (true, Some(n)) => n.max(1),
        (true, None) => usize::MAX,
        (false, _) => cli.history,
    };
    let loaded =
        crate::store::replay::load_range(&a.file, a.begin.as_deref(), a.end.as_deref(), max)?;
    let mut opts = cli.options(&Config::load(cli.config.as_deref())?)?;
    opts.pane = a.pane.or(cli.pane).unwrap_or(opts.pane);
    let describe = loaded.describe();
    if headless {
        eprintln!("usetop: {describe}");
        let frames = loaded.samples.len();
        opts.ui.replay = true;
        let mut source = loaded.samples.into_iter();
        let text = render_from(opts, a.size, frames, &a.keys, &mut source)?;
        print_out(&text);
        return Ok(());
    }
    opts.history = opts.history.max(loaded.samples.len()).max(2);
    opts.ui.replay = true;
    let mut app = App::new(opts);
    app.status = Some(format!(
        "{describe}; ←/→ step, {{ }} ±1 min, ( ) ±1 h, @ jump to a time"
    ));
    live::run_source(app, live::Source::Loaded(loaded.samples))
}

fn run_dump(a: &DumpArgs, cli: &Cli) -> Result<()> {
    use crate::export::dump::{self, DumpOptions};
    let view = a.pane;
    // A bad config file is reported here as in every other mode.
    cli.options(&Config::load(cli.config.as_deref())?)?;
    let opts = DumpOptions {
        view,
        format: a.format,
        count: a.count,
    };
    let mut out = std::io::stdout().lock();
    match &a.replay {
        Some(path) => {
            let stats =
                dump::run_replay(opts, path, a.begin.as_deref(), a.end.as_deref(), &mut out)?;
            if let Some(problems) = stats.summary() {
                eprintln!("usetop: {}: {problems}", path.display());
            }
        }
        None => {
            let mut collectors = Collectors::new(single_root(cli)?);
            dump::run_live(
                opts,
                Duration::from_secs_f64(a.interval),
                &crate::collectors::SystemClock,
                |clock, req| collectors.sample(clock, req),
                &mut out,
            );
        }
    }
    Ok(())
}

fn run_serve(a: &ServeArgs, cli: &Cli) -> Result<()> {
    use crate::export::serve::{self, Limits, ServeOptions};
    let root = single_root(cli)?;
    if !serve::is_loopback(&a.listen) {
        eprintln!(
            "usetop: warning: serving metrics on {} is reachable from other machines; \
             there is no authentication",
            a.listen
        );
    }
    serve::run(
        ServeOptions {
            listen: a.listen,
            interval: Duration::from_secs_f64(a.interval),
            per_process: a.per_process,
            limits: Limits {
                max_connections: a.max_connections as usize,
                header_timeout: Duration::from_secs_f64(a.header_timeout),
                idle_timeout: Duration::from_secs_f64(a.idle_timeout),
            },
            cgroup_limits: crate::export::cgroup::CgroupLimits {
                max_depth: a.cgroup_depth,
                max_count: a.cgroup_limit,
            },
        },
        Collectors::new(root),
        |addr, l| {
            eprintln!(
                "usetop: serving OpenMetrics on http://{addr}/metrics (at most {} connections, \
                 {} s for a request head, {} s idle)",
                l.max_connections,
                l.header_timeout.as_secs_f64(),
                l.idle_timeout.as_secs_f64()
            )
        },
    )
}

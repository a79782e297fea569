//! The live loop: the only code that owns a real terminal. One channel carries samples (from
//! the sampler thread) and terminal events (from the input thread); the loop blocks on it,
//! so an idle usetop costs nothing between refreshes. The terminal is restored on every
//! exit path: normal quit, error, SIGTERM/SIGINT/SIGHUP (an ssh drop) and panic; on
//! SIGTSTP (or Ctrl-Z) it is restored before stopping and taken back, redrawn, on SIGCONT.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyModifiers,
};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};

use super::App;
use crate::collectors::{Collectors, Control, spawn_sampler};
use crate::model::Sample;

enum Msg {
    Sample(Box<Sample>),
    Term(Event),
    InputClosed(String),
}

static SIGNALLED: AtomicI32 = AtomicI32::new(0);
static STOP_ASKED: AtomicBool = AtomicBool::new(false);
static CONTINUED: AtomicBool = AtomicBool::new(false);
static PANICKED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNALLED.store(sig, Ordering::SeqCst);
}

extern "C" fn on_tstp(_: libc::c_int) {
    STOP_ASKED.store(true, Ordering::SeqCst);
}

extern "C" fn on_cont(_: libc::c_int) {
    CONTINUED.store(true, Ordering::SeqCst);
}

fn install_signal_handlers() {
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 5] = [
        (libc::SIGTERM, on_signal),
        (libc::SIGINT, on_signal),
        (libc::SIGHUP, on_signal),
        (libc::SIGTSTP, on_tstp),
        (libc::SIGCONT, on_cont),
    ];
    for (sig, handler) in handlers {
        // SAFETY: each handler only stores to an atomic, which is async-signal-safe.
        unsafe { libc::signal(sig, handler as *const () as libc::sighandler_t) };
    }
}

/// Whether the dashboard captures the mouse (off with `--no-mouse` / `mouse = false`).
static MOUSE: AtomicBool = AtomicBool::new(true);

/// Takes the terminal: raw mode, alternate screen, hidden cursor, and the mouse unless it
/// was left to the terminal.
fn enter_terminal() -> Result<()> {
    enable_raw_mode().context("cannot switch the terminal to raw mode")?;
    let mut out = io::stdout();
    let mut r = execute!(out, EnterAlternateScreen, cursor::Hide);
    if r.is_ok() && MOUSE.load(Ordering::SeqCst) {
        r = execute!(out, EnableMouseCapture);
    }
    if let Err(e) = r {
        restore_terminal();
        return Err(e).context("cannot enter the alternate screen");
    }
    Ok(())
}

/// Job control: gives the terminal back to the shell, stops, and on continue takes it again.
/// The stop is SIGSTOP, which cannot be caught, so this returns only once continued.
fn suspend() -> Result<()> {
    restore_terminal();
    // SAFETY: raising a signal on ourselves has no memory effects.
    unsafe { libc::raise(libc::SIGSTOP) };
    enter_terminal()
}

/// Ctrl-Z reaches a raw-mode terminal as a key, not a signal: it suspends all the same.
fn is_suspend_key(k: &KeyEvent) -> bool {
    k.code == KeyCode::Char('z') && k.modifiers.contains(KeyModifiers::CONTROL)
}

/// For the terminal-fault tests only: `USETOP_TEST_PANIC=1` panics after the first frame, to
/// check that the terminal is restored and the message readable.
fn test_panic_requested() -> bool {
    std::env::var_os("USETOP_TEST_PANIC").is_some_and(|v| v == "1")
}

/// Leaves the alternate screen, shows the cursor and turns raw mode off. Safe to call twice.
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = io::stdout().flush();
}

/// Restores the terminal before the default panic message is printed.
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic on the sampler thread must end the loop too, not leave it drawing over a
        // restored terminal.
        PANICKED.store(true, Ordering::SeqCst);
        restore_terminal();
        default(info);
    }));
}

/// Where the live loop's samples come from.
pub enum Source {
    /// The collectors, sampled on their own thread at the app's interval.
    Sampler(Box<Collectors>),
    /// Samples already loaded (a recording), pushed through the same derive before the
    /// first frame; the view starts paused on the first of them.
    Loaded(Vec<Sample>),
}

pub fn run(app: App, collectors: Collectors) -> Result<()> {
    run_source(app, Source::Sampler(Box::new(collectors)))
}

/// Why the full-screen dashboard cannot run here, if it cannot: stdin/stdout not a terminal
/// (whatever TERM says), or TERM=dumb (a terminal that cannot move the cursor).
pub fn unusable_terminal(term: Option<&std::ffi::OsStr>, ttys: bool) -> Option<String> {
    const HINT: &str = "use `usetop dump` or `usetop --headless` for text output";
    if !ttys {
        return Some(format!(
            "the dashboard needs a terminal on stdin and stdout; {HINT}"
        ));
    }
    if term.is_some_and(|t| t == "dumb") {
        return Some(format!(
            "TERM=dumb cannot show the full-screen dashboard; {HINT}"
        ));
    }
    None
}

pub fn run_source(mut app: App, source: Source) -> Result<()> {
    let ttys = io::stdin().is_terminal() && io::stdout().is_terminal();
    if let Some(why) = unusable_terminal(std::env::var_os("TERM").as_deref(), ttys) {
        bail!(why);
    }
    install_panic_hook();
    install_signal_handlers();
    MOUSE.store(!app.ui.no_mouse, Ordering::SeqCst);
    enter_terminal()?;
    let result = event_loop(&mut app, source);
    restore_terminal();
    result
}

fn event_loop(app: &mut App, source: Source) -> Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let (tx, rx) = mpsc::channel::<Msg>();
    let (ctl_tx, ctl_rx) = mpsc::channel::<Control>();
    let sample_tx = tx.clone();
    let mut req = app.request();
    let mut interval = app.interval;
    match source {
        Source::Sampler(collectors) => {
            spawn_sampler(*collectors, app.interval, req, ctl_rx, move |s| {
                sample_tx.send(Msg::Sample(Box::new(s))).is_ok()
            })
            .context("cannot start the sampler thread")?;
        }
        Source::Loaded(samples) => {
            drop(sample_tx);
            for s in samples {
                app.push_sample(s);
            }
            // The first snapshot has no interval to rate over: start on the second.
            app.timeline.oldest();
            app.timeline.step(1);
        }
    }
    std::thread::Builder::new()
        .name("usetop-input".into())
        .spawn(move || {
            loop {
                match event::read() {
                    Ok(ev) => {
                        if tx.send(Msg::Term(ev)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Msg::InputClosed(e.to_string()));
                        return;
                    }
                }
            }
        })
        .context("cannot start the input thread")?;

    let mut dirty = true;
    let panic_after_first_frame = test_panic_requested();
    loop {
        if dirty {
            app.prepare();
            terminal.draw(|f| crate::app::ui::draw(f, app))?;
            dirty = false;
            if panic_after_first_frame {
                panic!("USETOP_TEST_PANIC=1: forced panic after the first frame");
            }
        }
        // Wake at least every 250 ms to notice signals.
        let msg = match rx.recv_timeout(Duration::from_millis(250)) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => bail!("sampler and input threads stopped"),
        };
        let sig = SIGNALLED.load(Ordering::SeqCst);
        if sig != 0 {
            return Ok(());
        }
        if PANICKED.load(Ordering::SeqCst) {
            bail!("a usetop thread panicked");
        }
        let suspend_key = matches!(&msg, Some(Msg::Term(Event::Key(k))) if is_suspend_key(k));
        let mut resumed = false;
        if STOP_ASKED.swap(false, Ordering::SeqCst) || suspend_key {
            suspend()?;
            resumed = true;
        }
        if CONTINUED.swap(false, Ordering::SeqCst) || resumed {
            // Back from a stop: the screen holds whatever the shell drew meanwhile, and the
            // size may have changed. `resize` clears and forces a full redraw; `clear` would
            // ask the terminal for the cursor position, a reply the input thread swallows.
            let size = terminal.size()?;
            terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))?;
            dirty = true;
        }
        if suspend_key {
            continue;
        }
        match msg {
            None => continue,
            Some(Msg::Sample(s)) => {
                app.push_sample(*s);
                dirty = true;
            }
            Some(Msg::Term(Event::Key(k))) => {
                app.handle_key(k);
                dirty = true;
            }
            Some(Msg::Term(Event::Mouse(m))) => {
                let size = terminal.size()?;
                app.handle_mouse(m, ratatui::layout::Rect::new(0, 0, size.width, size.height));
                dirty = true;
            }
            Some(Msg::Term(Event::Resize(..))) => {
                terminal.autoresize()?;
                dirty = true;
            }
            Some(Msg::Term(_)) => {}
            Some(Msg::InputClosed(e)) => bail!("terminal input closed: {e}"),
        }
        if app.quit {
            return Ok(());
        }
        let r = app.request();
        if r != req {
            req = r;
            let _ = ctl_tx.send(Control::Request(Box::new(r)));
        }
        if app.interval != interval {
            interval = app.interval;
            let _ = ctl_tx.send(Control::Interval(interval));
        }
    }
}

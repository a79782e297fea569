//! Headless mode: the same panes drawn into ratatui's TestBackend and printed as text, one
//! frame per sample, frames separated by a line holding only a form feed. With a virtual
//! clock and fixture trees the output is a pure function of its inputs, which is what the
//! snapshot tests rely on.

use std::time::Duration;

use anyhow::Result;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;

use crate::app::keys::parse_keys;
use crate::app::{App, Options};
use crate::collectors::{Clock, Collectors, ProcRoot, SystemClock, VirtualClock};
use crate::panes;

pub struct HeadlessOptions {
    pub app: Options,
    pub cols: u16,
    pub rows: u16,
    pub frames: usize,
    /// Keys fed to the app before the last frame.
    pub keys: String,
    /// Roots read in turn, one per frame (the last one repeats): a fixture sequence.
    pub roots: Vec<ProcRoot>,
    /// Advance time by the interval per frame without sleeping.
    pub virtual_clock: bool,
}

/// The text of a buffer, one line per row, trailing spaces removed.
pub fn buffer_text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        // A wide character covers the next cell, which TestBackend leaves holding whatever
        // was drawn there before (diffs skip it): never print that cell.
        let mut hidden = 0;
        for x in 0..buf.area.width {
            if hidden > 0 {
                hidden -= 1;
                continue;
            }
            let sym = buf[(x, y)].symbol();
            hidden = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
            line.push_str(sym);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn render_headless(opts: HeadlessOptions) -> Result<String> {
    let keys = parse_keys(&opts.keys).map_err(anyhow::Error::msg)?;
    let interval = opts.app.interval;
    let mut app = App::new(opts.app);
    let mut terminal = Terminal::new(TestBackend::new(opts.cols, opts.rows))?;
    let roots = if opts.roots.is_empty() {
        vec![ProcRoot::default()]
    } else {
        opts.roots
    };
    let mut collectors: Vec<Collectors> = Vec::new();
    let mut vclock = VirtualClock::new();
    let mut out = String::new();
    for frame in 0..opts.frames.max(1) {
        if frame > 0 {
            if opts.virtual_clock {
                vclock.advance(interval);
            } else {
                std::thread::sleep(interval);
            }
        }
        let i = frame.min(roots.len() - 1);
        // One collector per root: each fake tree is its own "machine state" at that time,
        // but the task cache must carry over, so collectors are created lazily and reused.
        while collectors.len() <= i {
            collectors.push(Collectors::new(roots[collectors.len()].clone()));
        }
        if frame + 1 == opts.frames.max(1) {
            // Keys go in before the last sample, so what they ask of the sampler (threads,
            // for one) is in the frame they produce.
            for k in &keys {
                app.handle_key(*k);
                app.prepare();
            }
        }
        let clock: &dyn Clock = if opts.virtual_clock {
            &vclock
        } else {
            &SystemClock
        };
        let sample = collectors[i].sample(clock, app.request());
        app.push_sample(sample);
        app.prepare();
        terminal.draw(|f| panes::draw(f, &app))?;
        if frame > 0 {
            out.push_str("\x0c\n");
        }
        out.push_str(&buffer_text(terminal.backend().buffer()));
        if app.quit {
            break;
        }
    }
    Ok(out)
}

/// Interval for a headless run when none is given.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

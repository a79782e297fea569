//! Headless mode: the same panes drawn into ratatui's TestBackend and printed as text, one
//! frame per sample, frames separated by a line holding only a form feed. With a virtual
//! clock and fixture trees the output is a pure function of its inputs, which is what the
//! snapshot tests rely on.

use std::time::Duration;

use anyhow::Result;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::keys::parse_keys;
use crate::app::source::{RootsSource, SampleSource};
use crate::app::{App, Options};
use crate::collectors::ProcRoot;

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

pub use crate::widgets::buffer_text;

pub fn render_headless(opts: HeadlessOptions) -> Result<String> {
    // Keys may drive the kill dialog, but headless never signals: a fixture tree refuses as
    // not live, and the live tree is not handed to the dialog at all.
    let mut app_opts = opts.app;
    app_opts.ui.root = opts.roots.first().filter(|r| !r.is_live()).cloned();
    let mut source = RootsSource::new(opts.roots, app_opts.interval, opts.virtual_clock);
    render_from(
        app_opts,
        (opts.cols, opts.rows),
        opts.frames,
        &opts.keys,
        &mut source,
    )
}

/// Headless frames from any sample source (fixture roots, a recording): up to `frames`
/// frames, fewer when the source runs out. Keys go in before the last frame; `Tick` among
/// them takes an extra sample there (see `SampleSource::tick`), so a key script can open a
/// view and then act on what it shows.
pub fn render_from(
    app_opts: Options,
    (cols, rows): (u16, u16),
    frames: usize,
    keys: &str,
    source: &mut dyn SampleSource,
) -> Result<String> {
    let groups = keys
        .split_whitespace()
        .collect::<Vec<_>>()
        .split(|k| *k == "Tick")
        .map(|g| parse_keys(&g.join(" ")))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let mut app = App::new(app_opts);
    let mut terminal = Terminal::new(TestBackend::new(cols, rows))?;
    let mut out = String::new();
    let frames = frames.max(1);
    for frame in 0..frames {
        if frame + 1 == frames {
            // Keys go in before the last sample, so what they ask of the sampler (threads,
            // for one) is in the frame they produce.
            for (g, keys) in groups.iter().enumerate() {
                if g > 0
                    && let Some(sample) = source.tick(frame, app.request())
                {
                    app.push_sample(sample);
                    app.prepare();
                }
                for k in keys {
                    app.handle_key(*k);
                    app.prepare();
                }
            }
        }
        let Some(sample) = source.next_sample(frame, app.request()) else {
            break;
        };
        app.push_sample(sample);
        app.prepare();
        terminal.draw(|f| crate::app::ui::draw(f, &app))?;
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

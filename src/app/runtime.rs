//! The runtime loop: the only code that touches tokio and the terminal. It turns terminal
//! events, the clock and effect results into actions, feeds them to `update`, runs effects on
//! blocking threads (the latest of a slot wins: the older task is aborted and its result
//! never arrives), and draws only when something changed, at most once per [`FRAME_MIN`],
//! inside a synchronized update.

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::time::Duration;

use crossterm::event::Event;
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::{Backend, CrosstermBackend, TestBackend};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::action::Action;
use super::effect::{Effect, Services, perform};
use super::state::{State, UiError};
use super::update::{init, is_quiet, update};
use crate::ui::{self, Theme, ViewState};

/// The clock tick: notices expire and files are polled for outside changes.
pub const TICK: Duration = Duration::from_millis(500);
/// The shortest time between two frames (coalesces bursts of actions into one draw).
pub const FRAME_MIN: Duration = Duration::from_millis(8);
/// After a key whose effects are still running (a search), how long the frame waits for
/// their results, so the next frame shows the outcome instead of only the typed character.
pub const INPUT_GRACE: Duration = Duration::from_millis(12);

/// What the loop needs of a backend besides drawing: bracketing a frame in a synchronized
/// update, so the terminal shows it whole, and the clipboard.
pub trait TerminalExt {
    /// Starts buffering.
    fn begin_frame(&mut self) -> io::Result<()>;
    /// Shows the buffered frame.
    fn end_frame(&mut self) -> io::Result<()>;
    /// Puts `text` on the clipboard of the terminal (OSC 52, which also works over SSH).
    fn copy_to_clipboard(&mut self, text: &str) -> io::Result<()>;
}

impl<W: io::Write> TerminalExt for CrosstermBackend<W> {
    fn begin_frame(&mut self) -> io::Result<()> {
        crossterm::queue!(self, crossterm::terminal::BeginSynchronizedUpdate)
    }
    fn end_frame(&mut self) -> io::Result<()> {
        crossterm::execute!(self, crossterm::terminal::EndSynchronizedUpdate)
    }
    fn copy_to_clipboard(&mut self, text: &str) -> io::Result<()> {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        write!(self, "\x1b]52;c;{encoded}\x07")?;
        io::Write::flush(self)
    }
}

impl TerminalExt for TestBackend {
    fn begin_frame(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn end_frame(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn copy_to_clipboard(&mut self, _text: &str) -> io::Result<()> {
        Ok(())
    }
}

/// Draws one frame of `state`.
pub fn draw<B>(
    terminal: &mut Terminal<B>,
    state: &State,
    view: &mut ViewState,
    theme: &Theme,
) -> io::Result<()>
where
    B: Backend + TerminalExt,
    B::Error: std::fmt::Display,
{
    terminal.backend_mut().begin_frame()?;
    terminal
        .draw(|f| ui::root(f, state, view, theme))
        .map_err(|e| io::Error::other(e.to_string()))?;
    terminal.backend_mut().end_frame()
}

/// The action a terminal event becomes.
pub fn action_of(event: Event) -> Option<Action> {
    match event {
        Event::Key(k) => Some(Action::Key(k)),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

/// Timings of the loop, for the log and the benchmarks.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Frames drawn.
    pub frames: u64,
    /// From the start of the loop to the first frame.
    pub first_frame: Option<Duration>,
    /// For each key: from its arrival to the first frame drawn with no effect in flight.
    pub key_to_frame: Vec<Duration>,
}

struct Tasks {
    slots: HashMap<&'static str, AbortHandle>,
    in_flight: usize,
}

/// Runs the TUI until the user quits or the event stream ends; returns the final state and
/// the loop's timings.
pub async fn run<B, S>(
    terminal: &mut Terminal<B>,
    events: S,
    state: State,
    svc: Services,
    theme: &Theme,
) -> io::Result<(State, Stats)>
where
    B: Backend + TerminalExt,
    B::Error: std::fmt::Display,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    run_until(terminal, events, state, svc, theme, |_| false).await
}

/// [`run`], also ending after the first frame drawn of a state for which `done` holds (tests
/// and benchmarks wait on a state this way instead of sleeping).
pub async fn run_until<B, S>(
    terminal: &mut Terminal<B>,
    mut events: S,
    mut state: State,
    svc: Services,
    theme: &Theme,
    mut done: impl FnMut(&State) -> bool,
) -> io::Result<(State, Stats)>
where
    B: Backend + TerminalExt,
    B::Error: std::fmt::Display,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    let started = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    let mut view = ViewState::default();
    let mut tasks = Tasks {
        slots: HashMap::new(),
        in_flight: 0,
    };
    let mut timings = Stats::default();
    let mut ticker = tokio::time::interval_at(started + TICK, TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    if let Ok(size) = terminal.size() {
        update(&mut state, Action::Resize(size.width, size.height));
    }
    let _ = tx.send(Action::ServerStatus(svc.server.status()));
    for e in init(&state) {
        spawn(e, &svc, &tx, &mut tasks);
    }
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    let mut key_at: Option<Instant> = None;
    let mut pending = Vec::new();
    loop {
        let mut next_frame = last_draw.map_or(started, |t| t + FRAME_MIN);
        if tasks.in_flight > 0
            && let Some(k) = key_at
        {
            next_frame = next_frame.max(k + INPUT_GRACE);
        }
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(next_frame), if dirty => {
                draw(terminal, &state, &mut view, theme)?;
                let now = Instant::now();
                dirty = false;
                last_draw = Some(now);
                timings.frames += 1;
                tracing::debug!(frame = timings.frames, "frame drawn");
                if timings.first_frame.is_none() {
                    let d = now - started;
                    timings.first_frame = Some(d);
                    let unix_us = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |t| t.as_micros());
                    tracing::info!(loop_us = d.as_micros(), unix_us, "first frame");
                }
                if tasks.in_flight == 0 && let Some(k) = key_at.take() {
                    let d = now - k;
                    tracing::debug!(key_to_frame_us = d.as_micros(), "frame after key");
                    timings.key_to_frame.push(d);
                }
                if done(&state) {
                    break;
                }
                continue;
            }
            Some(a) = rx.recv() => {
                tasks.in_flight = tasks.in_flight.saturating_sub(1);
                pending.push(a);
            }
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    if let Some(a) = action_of(ev) {
                        if matches!(a, Action::Key(_)) {
                            key_at = Some(Instant::now());
                        }
                        pending.push(a);
                    }
                }
                Some(Err(e)) => return Err(e),
                None => break,
            },
            _ = ticker.tick() => pending.push(Action::Tick),
        }
        while let Ok(a) = rx.try_recv() {
            tasks.in_flight = tasks.in_flight.saturating_sub(1);
            pending.push(a);
        }
        for a in pending.drain(..) {
            if !is_quiet(&a) {
                dirty = true;
            }
            for e in update(&mut state, a) {
                match e {
                    Effect::Quit => state.quit = true,
                    Effect::Redraw => dirty = true,
                    Effect::Clipboard(text) => terminal.backend_mut().copy_to_clipboard(&text)?,
                    e => spawn(e, &svc, &tx, &mut tasks),
                }
            }
        }
        if state.quit {
            break;
        }
    }
    for (_, h) in tasks.slots.drain() {
        h.abort();
    }
    Ok((state, timings))
}

fn spawn(effect: Effect, svc: &Services, tx: &mpsc::UnboundedSender<Action>, tasks: &mut Tasks) {
    let slot = effect.slot();
    let svc = svc.clone();
    let tx = tx.clone();
    let handle = tokio::spawn(async move {
        match tokio::task::spawn_blocking(move || perform(effect, &svc)).await {
            Ok(Some(action)) => {
                tracing::debug!(slot = slot.unwrap_or("-"), "effect done");
                let _ = tx.send(action);
            }
            Ok(None) => {}
            Err(e) => {
                // Never log the effect itself: an add request carries secret values.
                tracing::error!(slot = slot.unwrap_or("-"), error = %e, "effect task failed");
                let _ = tx.send(Action::Changed(Err(UiError::msg(
                    "INTERNAL_ERROR",
                    format!("an operation failed unexpectedly: {e}"),
                ))));
            }
        }
    });
    tasks.in_flight += 1;
    if let Some(slot) = slot
        && let Some(old) = tasks.slots.insert(slot, handle.abort_handle())
        && !old.is_finished()
    {
        tracing::debug!(slot, "effect replaced by a newer one");
        old.abort();
        tasks.in_flight = tasks.in_flight.saturating_sub(1);
    }
}

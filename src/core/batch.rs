//! Group commit: jobs submitted by many threads run in batches. The first caller to find no
//! batch running runs everything queued so far, its own job included; the others wait for
//! their own result. Concurrent deploys into one file thus become one fsync'd write, and their
//! audit records one append (RELIABILITY.md 1.5).

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A queue of jobs of type `J` whose results are `R`.
pub struct Batcher<J, R> {
    state: Mutex<State<J, R>>,
    finished: Condvar,
}

struct State<J, R> {
    next_id: u64,
    pending: Vec<(u64, J)>,
    running: bool,
    done: HashMap<u64, R>,
}

impl<J, R> Default for Batcher<J, R> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                next_id: 0,
                pending: Vec::new(),
                running: false,
                done: HashMap::new(),
            }),
            finished: Condvar::new(),
        }
    }
}

impl<J, R> Batcher<J, R> {
    /// Queues `job` and returns its result. `run` gets a batch of jobs in submission order and
    /// returns one result per job, in the same order; it runs on this thread when no other
    /// batch is running, else the thread running one picks `job` up next.
    pub fn submit(&self, job: J, mut run: impl FnMut(Vec<J>) -> Vec<R>) -> R {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.pending.push((id, job));
        loop {
            if let Some(result) = state.done.remove(&id) {
                return result;
            }
            if state.running {
                state = self
                    .finished
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.running = true;
            let (ids, jobs): (Vec<u64>, Vec<J>) =
                std::mem::take(&mut state.pending).into_iter().unzip();
            drop(state);
            let results = run(jobs);
            state = self.lock();
            state.running = false;
            state.done.extend(ids.into_iter().zip(results));
            self.finished.notify_all();
        }
    }

    /// Jobs submitted so far, and whether a batch is running (for tests).
    #[cfg(test)]
    pub fn progress(&self) -> (u64, bool) {
        let state = self.lock();
        (state.next_id, state.running)
    }

    fn lock(&self) -> MutexGuard<'_, State<J, R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

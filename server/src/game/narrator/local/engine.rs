//! The thread that owns the model and its contexts and writes turns, one at a time.
//!
//! Each context remembers the tokens it has computed. A game's prompt starts with its system
//! message (the same every turn), so its next turn reuses that prefix and computes only the new
//! turn's lines: the first words come sooner. `gm_contexts` contexts are kept; a game with none
//! of its own takes a fresh one while there is room, else the least recently used.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;

use super::turn::Turn;
use super::{Job, Tuning};
use crate::game::narrator::{NarrateError, Work};

/// Tokens a context holds: the prompt (at most ~600: actions and the last answer are cut short in
/// the prompt) and an answer; the answer ends where the context does.
pub(super) const CONTEXT_TOKENS: u32 = 1024;
/// Tokens computed in one pass over a prompt.
pub(super) const BATCH_TOKENS: usize = 256;
/// Longest sentence the model may write; a longer one is closed with a full stop.
pub(super) const SENTENCE_TOKENS: usize = 48;
/// A sentence ends at its first full stop once it has this many words (not at "Mr.").
pub(super) const SENTENCE_MIN_WORDS: usize = 4;
/// The engine's OS priority: below chat's (nice 0), so generation yields to it on a busy node.
const NICE: i32 = 10;

/// The engine's counts since the process started (one engine per process), in [`Work`]'s order.
static COUNTS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
pub(super) const TURNS: usize = 0;
pub(super) const PROMPT: usize = 1;
pub(super) const REUSED: usize = 2;
pub(super) const GENERATED: usize = 3;
pub(super) const PROMPT_US: usize = 4;
pub(super) const GENERATE_US: usize = 5;

pub(super) fn count(what: usize, n: u64) {
    COUNTS[what].fetch_add(n, Ordering::Relaxed);
}

pub(super) fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros() as u64
}

/// What the engine has computed so far.
pub(super) fn work() -> Work {
    let n = |i: usize| COUNTS[i].load(Ordering::Relaxed);
    Work {
        turns: n(TURNS),
        prompt_tokens: n(PROMPT),
        reused_tokens: n(REUSED),
        generated_tokens: n(GENERATED),
        prompt_micros: n(PROMPT_US),
        generate_micros: n(GENERATE_US),
    }
}

/// Starts the engine thread, loads the model, and returns its inbox once it can take jobs.
pub(super) fn start(tuning: &Tuning) -> super::Inbox {
    let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
    let (ready, loaded) = std::sync::mpsc::channel();
    let tuning = tuning.clone();
    std::thread::Builder::new()
        .name("game-master".into())
        .spawn(move || {
            lower_priority();
            let model = load(&tuning);
            match model {
                Ok((backend, model)) => {
                    let _ = ready.send(Ok(()));
                    serve(&backend, &model, &tuning, inbox);
                }
                Err(why) => {
                    let _ = ready.send(Err(why));
                }
            }
        })
        .map_err(|e| e.to_string())?;
    loaded.recv().map_err(|_| "the engine thread died while loading".to_owned())??;
    Ok(jobs)
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // Per thread on Linux; threads llama.cpp starts from this one inherit it.
    // SAFETY: plain syscalls on this thread's own id.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, NICE);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

fn load(tuning: &Tuning) -> Result<(LlamaBackend, LlamaModel), String> {
    if !tuning.model.exists() {
        return Err(format!("no model file at {}", tuning.model.display()));
    }
    let mut backend = LlamaBackend::init().map_err(|e| e.to_string())?;
    backend.void_logs();
    let model = LlamaModel::load_from_file(&backend, &tuning.model, &LlamaModelParams::default())
        .map_err(|e| format!("{}: {e}", tuning.model.display()))?;
    Ok((backend, model))
}

/// A context and the tokens it has computed, in order.
pub(super) struct Slot<'m> {
    pub ctx: LlamaContext<'m>,
    pub tokens: Vec<LlamaToken>,
    used: u64,
}

fn serve(backend: &LlamaBackend, model: &LlamaModel, tuning: &Tuning, inbox: std::sync::mpsc::Receiver<Job>) {
    let mut slots: Vec<Slot<'_>> = Vec::new();
    // Turns being written, each in a slot of its own: they take one step each in turn (a prompt,
    // or a token), so a game's first words do not wait for another game's whole answer.
    let mut active: Vec<(Job, usize, Turn)> = Vec::new();
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut clock = 0u64;
    loop {
        if active.is_empty() && waiting.is_empty() {
            match inbox.recv() {
                Ok(job) => waiting.push_back(job),
                Err(_) => return, // every narrator is gone
            }
        }
        waiting.extend(inbox.try_iter());
        // The game stopped waiting (paused, ended, or another node took the turn).
        waiting.retain(|job| !job.out.is_closed());
        while active.len() < tuning.contexts
            && let Some(job) = waiting.pop_front()
        {
            clock += 1;
            let busy: Vec<usize> = active.iter().map(|(_, slot, _)| *slot).collect();
            let system = model.vocab().tokenize(system_text(&job).as_bytes(), false, true);
            let started = pick(backend, model, tuning, &mut slots, &busy, &system).and_then(|i| {
                slots[i].used = clock;
                Ok((i, Turn::new(model, &mut slots[i], &job, system)?))
            });
            match started {
                Ok((i, turn)) => active.push((job, i, turn)),
                Err(e) => fail(&job, e),
            }
        }
        active.retain_mut(|(job, i, turn)| match turn.step(model, &mut slots[*i], job) {
            Ok(more) => more,
            Err(e) => {
                fail(job, e);
                false
            }
        });
    }
}

fn fail(job: &Job, e: String) {
    tracing::warn!("game master: {e}");
    let _ = job.out.blocking_send(Err(NarrateError::Failed(e)));
}

pub(super) fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The slot for a job among those no turn is using: one that already holds its system message,
/// else a new one, else the least recently used.
fn pick<'m>(
    backend: &LlamaBackend,
    model: &'m LlamaModel,
    tuning: &Tuning,
    slots: &mut Vec<Slot<'m>>,
    busy: &[usize],
    system: &[LlamaToken],
) -> Result<usize, String> {
    let free = || (0..slots.len()).filter(|i| !busy.contains(i));
    let own = free().max_by_key(|&i| common_prefix(&slots[i].tokens, system));
    if let Some(i) = own.filter(|&i| common_prefix(&slots[i].tokens, system) == system.len()) {
        return Ok(i);
    }
    if slots.len() < tuning.contexts {
        let threads = i32::try_from(tuning.threads).unwrap_or(1);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(CONTEXT_TOKENS))
            .with_n_batch(BATCH_TOKENS as u32)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = model.new_context(backend, params).map_err(|e| e.to_string())?;
        slots.push(Slot { ctx, tokens: Vec::new(), used: 0 });
        return Ok(slots.len() - 1);
    }
    free().min_by_key(|&i| slots[i].used).ok_or_else(|| "no free context".to_owned())
}

fn system_text(job: &Job) -> String {
    format!("<|im_start|>system\n{}<|im_end|>\n", job.system)
}

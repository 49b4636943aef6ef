//! The thread that owns the model and its contexts and writes turns, one at a time.
//!
//! Each context remembers the tokens it has computed. A game's prompt starts with its system
//! message (the same every turn), so its next turn reuses that prefix and computes only the new
//! turn's lines: the first words come sooner. `gm_contexts` contexts are kept; a game with none
//! of its own takes a fresh one while there is room, else the least recently used.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;

use super::{Job, Tuning};
use crate::game::narrator::{NarrateError, Work};

/// Tokens a context holds: the prompt (at most ~600: actions and the last answer are cut short in
/// the prompt) and an answer; the answer ends where the context does.
const CONTEXT_TOKENS: u32 = 1024;
/// Tokens computed in one pass over a prompt.
const BATCH_TOKENS: usize = 256;
/// Longest sentence the model may write; a longer one is closed with a full stop.
const SENTENCE_TOKENS: usize = 48;
/// A sentence ends at its first full stop once it has this many words (not at "Mr.").
const SENTENCE_MIN_WORDS: usize = 4;
/// The engine's OS priority: below chat's (nice 0), so generation yields to it on a busy node.
const NICE: i32 = 10;

/// The engine's counts since the process started (one engine per process), in [`Work`]'s order.
static COUNTS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
const TURNS: usize = 0;
const PROMPT: usize = 1;
const REUSED: usize = 2;
const GENERATED: usize = 3;
const PROMPT_US: usize = 4;
const GENERATE_US: usize = 5;

fn count(what: usize, n: u64) {
    COUNTS[what].fetch_add(n, Ordering::Relaxed);
}

fn micros(since: Instant) -> u64 {
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
struct Slot<'m> {
    ctx: LlamaContext<'m>,
    tokens: Vec<LlamaToken>,
    used: u64,
}

fn serve(backend: &LlamaBackend, model: &LlamaModel, tuning: &Tuning, inbox: std::sync::mpsc::Receiver<Job>) {
    let mut slots: Vec<Slot<'_>> = Vec::new();
    for (clock, job) in (1u64..).zip(inbox.iter()) {
        if job.out.is_closed() {
            continue; // the game stopped waiting (paused, ended, or another node took the turn)
        }
        let result = pick(backend, model, tuning, &mut slots, &job)
            .and_then(|i| {
                slots[i].used = clock;
                Turn::new(model, &mut slots[i], &job)?.write(&job)
            })
            .map_err(NarrateError::Failed);
        if let Err(e) = result {
            tracing::warn!("game master: {e}");
            let _ = job.out.blocking_send(Err(e));
        }
    }
}

fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The slot for a job: one that already holds its system message, else a new one, else the LRU.
fn pick<'m>(
    backend: &LlamaBackend,
    model: &'m LlamaModel,
    tuning: &Tuning,
    slots: &mut Vec<Slot<'m>>,
    job: &Job,
) -> Result<usize, String> {
    let system = model.vocab().tokenize(system_text(job).as_bytes(), false, true);
    let own = (0..slots.len()).max_by_key(|&i| common_prefix(&slots[i].tokens, &system));
    if let Some(i) = own.filter(|&i| common_prefix(&slots[i].tokens, &system) == system.len()) {
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
    Ok((0..slots.len()).min_by_key(|&i| slots[i].used).unwrap_or(0))
}

fn system_text(job: &Job) -> String {
    format!("<|im_start|>system\n{}<|im_end|>\n", job.system)
}

/// One turn being written into a slot.
struct Turn<'a, 'm> {
    model: &'m LlamaModel,
    slot: &'a mut Slot<'m>,
    sampler: LlamaSampler,
    batch: LlamaBatch<'static>,
    /// Where in the last batch the logits to sample from are.
    logits_at: i32,
    utf8: Vec<u8>,
}

impl<'a, 'm> Turn<'a, 'm> {
    /// Computes the prompt (reusing what the slot already holds of it).
    fn new(model: &'m LlamaModel, slot: &'a mut Slot<'m>, job: &Job) -> Result<Turn<'a, 'm>, String> {
        let vocab = model.vocab();
        let mut prompt = vocab.tokenize(system_text(job).as_bytes(), false, true);
        let user = format!("<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n", job.user);
        prompt.extend(vocab.tokenize(user.as_bytes(), false, true));
        if prompt.len() + SENTENCE_TOKENS >= CONTEXT_TOKENS as usize {
            return Err(format!("the turn's prompt is {} tokens, too long for the local model", prompt.len()));
        }
        // Keep the computed prefix, but always compute the last token again for fresh logits.
        let keep = common_prefix(&slot.tokens, &prompt).min(prompt.len() - 1);
        slot.ctx.clear_kv_cache_seq(Some(0), Some(keep as u32), None).map_err(|e| e.to_string())?;
        slot.tokens.truncate(keep);
        // The model must not end the answer itself (the frame does), nor open a new message.
        let banned: Vec<LlamaLogitBias> = [vocab.eos(), vocab.eot()]
            .into_iter()
            .filter(|t| t.0 >= 0)
            .map(|t| LlamaLogitBias::new(t, f32::NEG_INFINITY))
            .collect();
        let sampler = LlamaSampler::chain_simple([
            LlamaSampler::logit_bias(model.n_vocab(), &banned),
            LlamaSampler::penalties(model.n_vocab(), 64, 1.25, 0.0, 0.0),
            LlamaSampler::top_k(40),
            LlamaSampler::top_p(0.9, 1),
            LlamaSampler::temp(0.7),
            LlamaSampler::dist(job.seed),
        ]);
        let mut turn =
            Turn { model, slot, sampler, batch: LlamaBatch::new(BATCH_TOKENS, 1), logits_at: 0, utf8: Vec::new() };
        let started = Instant::now();
        turn.feed(&prompt[keep..])?;
        count(TURNS, 1);
        count(PROMPT, (prompt.len() - keep) as u64);
        count(REUSED, keep as u64);
        count(PROMPT_US, micros(started));
        Ok(turn)
    }

    /// Computes `tokens` after what the slot holds; the logits of the last one are kept.
    fn feed(&mut self, tokens: &[LlamaToken]) -> Result<(), String> {
        for (n, part) in tokens.chunks(BATCH_TOKENS).enumerate() {
            self.batch.clear();
            let last = n == tokens.len().div_ceil(BATCH_TOKENS) - 1;
            for (i, &t) in part.iter().enumerate() {
                let pos = (self.slot.tokens.len() + i) as i32;
                self.batch.add(t, pos, &[0], last && i == part.len() - 1).map_err(|e| e.to_string())?;
            }
            self.slot.ctx.decode(&mut self.batch).map_err(|e| e.to_string())?;
            self.slot.tokens.extend_from_slice(part);
        }
        self.logits_at = self.batch.n_tokens() - 1;
        Ok(())
    }

    fn room(&self) -> bool {
        self.slot.tokens.len() + 2 < CONTEXT_TOKENS as usize
    }

    /// Writes the frame's sentences, sending each piece as it is made. Stops early, without an
    /// error, when no one listens any more or the context is full.
    fn write(mut self, job: &Job) -> Result<(), String> {
        for sentence in &job.frame {
            if !sentence.lead.is_empty() {
                let lead = self.model.vocab().tokenize(sentence.lead.as_bytes(), false, false);
                if !self.room() || lead.len() + 2 >= CONTEXT_TOKENS as usize - self.slot.tokens.len() {
                    return Ok(());
                }
                self.sampler.accept_many(&lead);
                self.feed(&lead)?;
                if job.out.blocking_send(Ok(sentence.lead.clone())).is_err() {
                    return Ok(());
                }
            }
            if !self.sentence(job)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The model's words up to the end of one sentence; false when no one listens or no room.
    fn sentence(&mut self, job: &Job) -> Result<bool, String> {
        let vocab = self.model.vocab();
        let mut text = String::new();
        // Punctuation that would dangle if the sentence stopped here (a colon before a list)
        // waits for the next words.
        let mut held = String::new();
        for _ in 0..SENTENCE_TOKENS {
            if !self.room() || job.out.is_closed() {
                return Ok(false);
            }
            let started = Instant::now();
            let token = self.sampler.sample(&self.slot.ctx, self.logits_at);
            if vocab.is_eog(token) || vocab.is_control(token) {
                break;
            }
            self.utf8.extend(vocab.token_to_piece(token, false, None));
            let piece = take_utf8(&mut self.utf8);
            if piece.contains('\n') {
                break; // a list or a new paragraph: the sentence is over
            }
            self.feed(&[token])?;
            count(GENERATED, 1);
            count(GENERATE_US, micros(started));
            text.push_str(&piece);
            if !piece.is_empty() && piece.trim().chars().all(|c| DANGLING.contains(c)) {
                held.push_str(&piece);
                continue;
            }
            let out = std::mem::take(&mut held) + &piece;
            if !out.is_empty() && job.out.blocking_send(Ok(out)).is_err() {
                return Ok(false);
            }
            if ends_sentence(&text) {
                return Ok(true);
            }
        }
        // Cut short (by the length cap, a new line or the end of text): close it properly.
        if !ends_sentence(&text) {
            let stop = self.model.vocab().tokenize(b".", false, false);
            self.feed(&stop)?;
            return Ok(job.out.blocking_send(Ok(".".into())).is_ok());
        }
        Ok(true)
    }
}

/// Punctuation a sentence must not end on.
const DANGLING: &str = ":;,-–—(";

/// The longest whole UTF-8 prefix of `bytes`, taken out (a token may end inside a character).
fn take_utf8(bytes: &mut Vec<u8>) -> String {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_some() => bytes.len(), // broken for good: let it be replaced
        Err(e) => e.valid_up_to(),
    };
    let text = String::from_utf8_lossy(&bytes[..valid]).into_owned();
    bytes.drain(..valid);
    text
}

/// True when `text` ends a sentence of at least [`SENTENCE_MIN_WORDS`] words.
fn ends_sentence(text: &str) -> bool {
    let end = text.trim_end().trim_end_matches(['"', '\'', '”', '’', ')']);
    end.ends_with(['.', '!', '?']) && text.split_whitespace().count() >= SENTENCE_MIN_WORDS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_ends_at_a_stop_after_a_few_words() {
        assert!(!ends_sentence(" Mr."), "too short to be a sentence");
        assert!(ends_sentence(" The door opens at last."));
        assert!(ends_sentence(" You hear a voice: \"Run!\""));
        assert!(!ends_sentence(" The door opens at last"));
    }

    #[test]
    fn a_character_split_across_tokens_waits_for_its_rest() {
        let mut bytes = "dé".as_bytes()[..2].to_vec();
        assert_eq!(take_utf8(&mut bytes), "d");
        bytes.extend(&"é".as_bytes()[1..]);
        assert_eq!(take_utf8(&mut bytes), "é");
        assert!(bytes.is_empty());
    }
}

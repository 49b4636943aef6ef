//! The `local` narrator: SmolLM2-135M-Instruct (a GGUF file the set-up installs) run by llama.cpp
//! in this process. A 135M model alone wanders off and forgets players, so the narrator writes the
//! frame and the model fills it one sentence at a time: an opening sentence, then one sentence per
//! player that the narrator starts with the player's name, then (on the last turn) a closing one.
//! The prompt says what each move came to, so the sentence the model writes answers it.
//!
//! The model runs on a thread of its own (llama.cpp's context is not `Send`), at a lower OS
//! priority and on `gm_threads` cores, so chat in other rooms keeps its latency. It is loaded at
//! the first turn it narrates, not at start, so a node that never hosts a game never pays for it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::{NarrateError, Narrator, Pieces, Work, prompt, script::Script};
use dungeontalk_app::wire::Outcome;

use crate::game::plan::{Scene, Stage};

mod engine;
mod turn;

/// One sentence of an answer: the narrator's opening words (possibly none), then the model's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub lead: String,
}

/// What the engine thread is asked to do for one turn.
struct Job {
    system: String,
    user: String,
    frame: Vec<Sentence>,
    seed: u32,
    out: tokio::sync::mpsc::Sender<Result<String, NarrateError>>,
}

/// The sentences of a turn's answer: the narrator opens each one (the place; each player, their
/// move and which way it went), the model finishes it.
pub fn frame(scene: &Scene) -> Vec<Sentence> {
    let mut place = scene.place().to_owned();
    if let Some(first) = place.get(..1) {
        place.replace_range(..1, &first.to_uppercase());
    }
    let mut out = vec![Sentence { lead: place }];
    out.extend(scene.beats.iter().map(|b| {
        let name = b.nickname.trim();
        let lead = match &b.action {
            Some(action) => {
                let action: String = bare_move(action).chars().take(100).collect();
                let which_way = match b.outcome {
                    Outcome::Triumph => "and succeeds brilliantly,",
                    Outcome::Success => "and succeeds,",
                    Outcome::Partial => "and half succeeds, but",
                    Outcome::Failure => "but fails,",
                    Outcome::Fumble => "but fails badly,",
                };
                format!(" {name} tries to \"{action}\" {which_way}")
            }
            None => format!(" {name} hesitates, and"),
        };
        Sentence { lead }
    }));
    if scene.stage == Stage::End {
        out.push(Sentence { lead: " In the end, the party".into() });
    }
    out
}

/// A move as the words after "tries to": without a leading "I", "try to" or "to", or an end stop.
fn bare_move(action: &str) -> &str {
    let mut rest = action.trim().trim_end_matches(['.', '!', '?']);
    for prefix in ["i ", "try to ", "to "] {
        if rest.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix)) {
            rest = rest[prefix.len()..].trim_start();
        }
    }
    rest
}

/// How the engine runs: the model file, the cores it uses and the games it keeps computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    pub model: PathBuf,
    pub threads: usize,
    pub contexts: usize,
}

impl Tuning {
    /// `threads` 0 means half the cores, at least one.
    pub fn new(model: &Path, threads: usize, contexts: usize) -> Tuning {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = if threads == 0 { (cores / 2).max(1) } else { threads };
        Tuning { model: model.to_owned(), threads, contexts: contexts.max(1) }
    }
}

/// The engine thread's inbox, or why there is none.
type Inbox = Result<std::sync::mpsc::Sender<Job>, String>;

/// llama.cpp's backend can be set up once per process, so one engine (the first one started)
/// serves every narrator in it.
static ENGINE: Mutex<Option<(Tuning, std::sync::mpsc::Sender<Job>)>> = Mutex::new(None);

/// The local narrator. Falls back to `fallback` (with one log line) when the model cannot run.
pub struct Local {
    tuning: Tuning,
    inbox: Arc<OnceLock<Inbox>>,
    fallback: Script,
}

impl Local {
    /// A narrator that loads `tuning.model` when it first narrates.
    pub fn new(tuning: Tuning, fallback: Script) -> Local {
        Local { tuning, inbox: Arc::default(), fallback }
    }

    /// Loads the model now (the first turn would otherwise wait for it); the error says why not.
    pub fn warm(&self) -> Result<(), String> {
        ready(&self.inbox, &self.tuning).map(|_| ())
    }
}

/// The engine's inbox, starting the engine (and loading the model) the first time.
fn ready<'a>(inbox: &'a OnceLock<Inbox>, tuning: &Tuning) -> Result<&'a std::sync::mpsc::Sender<Job>, String> {
    let inbox = inbox.get_or_init(|| {
        let mut engine = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
        match &*engine {
            Some((running, jobs)) if running == tuning => return Ok(jobs.clone()),
            Some((running, _)) => {
                let why = format!("this process already runs the model at {}", running.model.display());
                tracing::warn!("game master: {why}; script narrates instead");
                return Err(why);
            }
            None => {}
        }
        let started = std::time::Instant::now();
        let inbox = engine::start(tuning);
        match &inbox {
            Ok(jobs) => {
                *engine = Some((tuning.clone(), jobs.clone()));
                tracing::info!(
                    model = %tuning.model.display(),
                    threads = tuning.threads,
                    ms = started.elapsed().as_millis() as u64,
                    "game master: local model loaded"
                )
            }
            Err(why) => tracing::warn!("game master: the local model cannot run ({why}); script narrates instead"),
        }
        inbox
    });
    inbox.as_ref().map_err(Clone::clone)
}

/// Hands a turn to the engine; its pieces come back through a channel.
fn ask(inbox: std::sync::mpsc::Sender<Job>, scene: &Scene) -> Pieces {
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let job = Job {
        system: prompt::system(scene),
        user: prompt::brief(scene),
        frame: frame(scene),
        seed: (scene.plan.seed as u32) ^ scene.turn.wrapping_mul(0x9E37_79B9),
        out: tx,
    };
    if let Err(lost) = inbox.send(job) {
        let _ = lost.0.out.try_send(Err(NarrateError::Failed("the local game master has stopped".into())));
    }
    Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

impl Narrator for Local {
    fn name(&self) -> &'static str {
        "local"
    }

    fn narrate(&self, scene: Scene) -> Pieces {
        if let Some(Ok(inbox)) = self.inbox.get() {
            return ask(inbox.clone(), &scene);
        }
        // The first turn loads the model (a fraction of a second), off the async threads.
        let (inbox, tuning, pace) = (self.inbox.clone(), self.tuning.clone(), self.fallback.pace);
        let first = async move {
            let loaded = tokio::task::spawn_blocking(move || ready(&inbox, &tuning).cloned()).await;
            match loaded {
                Ok(Ok(inbox)) => ask(inbox, &scene),
                _ => Script { pace }.narrate(scene),
            }
        };
        Box::pin(futures_util::StreamExt::flatten(futures_util::stream::once(first)))
    }

    fn work(&self) -> Work {
        engine::work()
    }
}

#[cfg(test)]
mod tests;

//! The game master: a narrator turns a [`Scene`] into text that streams. Three kinds behind one
//! trait, chosen once from the settings: `script` (templates, seeded, for tests and as the
//! fallback), `local` (a small model in this process) and `http` (any OpenAI-compatible server).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;

use super::plan::Scene;
use crate::config::{GmKind, Settings};

pub mod http;
#[cfg(feature = "local-gm")]
pub mod local;
mod prompt;
pub mod script;

/// Why a narrator gave no (whole) answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NarrateError {
    #[error("the narrator did not answer within {0} s")]
    Timeout(u64),
    #[error("the narrator failed: {0}")]
    Failed(String),
}

/// Pieces of an answer as they are made.
pub type Pieces = Pin<Box<dyn Stream<Item = Result<String, NarrateError>> + Send>>;

/// What a model has computed since the process started (zero for narrators without one).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    pub turns: u64,
    /// Prompt tokens computed, and those reused from a game's earlier turn.
    pub prompt_tokens: u64,
    pub reused_tokens: u64,
    pub generated_tokens: u64,
    pub prompt_micros: u64,
    pub generate_micros: u64,
}

impl Work {
    /// The counts as (label, value) pairs, for `/metrics`.
    pub fn labelled(&self) -> [(&'static str, u64); 6] {
        [
            ("turns", self.turns),
            ("prompt_tokens", self.prompt_tokens),
            ("reused_tokens", self.reused_tokens),
            ("generated_tokens", self.generated_tokens),
            ("prompt_micros", self.prompt_micros),
            ("generate_micros", self.generate_micros),
        ]
    }
}

/// Something that phrases a scene.
pub trait Narrator: Send + Sync + 'static {
    /// `script`, `local` or `http`.
    fn name(&self) -> &'static str;
    /// The answer to `scene`, piece by piece.
    fn narrate(&self, scene: Scene) -> Pieces;
    /// What its model has computed so far.
    fn work(&self) -> Work {
        Work::default()
    }
}

/// The narrator the settings ask for (`auto`: `local` when its model file is there).
pub fn narrator_for(s: &Settings) -> Arc<dyn Narrator> {
    let script = Arc::new(script::Script { pace: Duration::from_millis(s.gm_script_pace_ms) });
    match (s.gm, &s.gm_url) {
        (GmKind::Script, _) => script,
        (GmKind::Http, Some(url)) => {
            tracing::info!(url, model = s.gm_model, "game master: http");
            Arc::new(http::Http::new(url, &s.gm_model, s.gm_api_key.clone()))
        }
        _ => {
            let why = match s.gm_model_path.exists() {
                false => format!("no model file at {} (bash .ci/setup tools installs it)", s.gm_model_path.display()),
                true => return local_narrator(s, script),
            };
            match s.gm {
                GmKind::Auto => tracing::info!("game master: script ({why})"),
                _ => tracing::warn!("game master: {why}; the script game master narrates instead"),
            }
            script
        }
    }
}

/// The `local` narrator, which loads its model at the first turn (script narrates if it can't).
#[cfg(feature = "local-gm")]
fn local_narrator(s: &Settings, script: Arc<script::Script>) -> Arc<dyn Narrator> {
    use local::{Local, Tuning};
    tracing::info!(model = %s.gm_model_path.display(), "game master: local");
    let tuning = Tuning::new(&s.gm_model_path, s.gm_threads, s.gm_contexts);
    Arc::new(Local::new(tuning, script::Script { pace: script.pace }))
}

#[cfg(not(feature = "local-gm"))]
fn local_narrator(s: &Settings, script: Arc<script::Script>) -> Arc<dyn Narrator> {
    let why = "the local game master is not built into this version (the local-gm feature)";
    match s.gm {
        GmKind::Auto => tracing::info!("game master: script ({why})"),
        _ => tracing::warn!("game master: {why}; the script game master narrates instead"),
    }
    script
}

/// Cuts a narrator's pieces into the chunks a room sees: whole words only (so the profanity
/// filter sees each word whole), masked, and no more than `max_chars` in all (ending at the last
/// sentence that fits, where there is one).
pub struct Chunker {
    pending: String,
    sent_chars: usize,
    max_chars: usize,
    done: bool,
}

impl Chunker {
    /// A chunker for an answer of at most `max_chars`.
    pub fn new(max_chars: usize) -> Chunker {
        Chunker { pending: String::new(), sent_chars: 0, max_chars, done: false }
    }

    /// True once the answer is as long as it may be: stop reading the narrator.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Takes a piece; returns the text ready to go out (whole words), if any.
    pub fn push(&mut self, piece: &str, mask: impl Fn(&str) -> String) -> Option<String> {
        if self.done {
            return None;
        }
        self.pending.push_str(piece);
        let cut = self.pending.rfind(char::is_whitespace)? + 1;
        let ready: String = self.pending.drain(..cut).collect();
        self.emit(ready, mask)
    }

    /// The rest, once the narrator has finished.
    pub fn finish(&mut self, mask: impl Fn(&str) -> String) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        self.emit(rest, mask)
    }

    fn emit(&mut self, text: String, mask: impl Fn(&str) -> String) -> Option<String> {
        if self.done || text.is_empty() {
            return None;
        }
        let room = self.max_chars.saturating_sub(self.sent_chars);
        let chars = text.chars().count();
        let text = if chars > room {
            self.done = true;
            let head: String = text.chars().take(room).collect();
            // End on the last sentence that fits; with none, at what went out already (or, for
            // an answer that is one long sentence, at the last whole word).
            match head.rfind(['.', '!', '?']) {
                Some(i) => head[..=i].to_owned(),
                None if self.sent_chars > 0 => String::new(),
                None => head.rfind(' ').map_or(head.clone(), |i| head[..i].to_owned()),
            }
        } else {
            text
        };
        if text.is_empty() {
            return None;
        }
        self.sent_chars += text.chars().count();
        Some(mask(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_picks_the_local_game_master_when_its_model_file_is_there() {
        let mut s = Settings { gm_model_path: "/nonexistent/model.gguf".into(), ..Settings::default() };
        assert_eq!(narrator_for(&s).name(), "script");
        let file = tempfile::NamedTempFile::new().unwrap();
        s.gm_model_path = file.path().to_owned();
        let want = if cfg!(feature = "local-gm") { "local" } else { "script" };
        assert_eq!(narrator_for(&s).name(), want);
        s.gm = GmKind::Script;
        assert_eq!(narrator_for(&s).name(), "script", "asked for by name");
    }

    fn same(s: &str) -> String {
        s.to_owned()
    }

    #[test]
    fn chunks_are_whole_words_and_join_to_the_answer() {
        let mut c = Chunker::new(1000);
        let mut out = Vec::new();
        for piece in ["The do", "or cre", "aks open", ". Dust"] {
            out.extend(c.push(piece, same));
        }
        out.extend(c.finish(same));
        assert_eq!(out, ["The ", "door ", "creaks ", "open. ", "Dust"]);
        assert_eq!(out.concat(), "The door creaks open. Dust");
    }

    #[test]
    fn a_long_answer_ends_at_the_last_sentence_that_fits() {
        let mut c = Chunker::new(30);
        let mut out = String::new();
        for piece in ["One sentence here. ", "Another one that is too long to fit. ", "More."] {
            if let Some(t) = c.push(piece, same) {
                out.push_str(&t);
            }
            if c.done() {
                break;
            }
        }
        assert!(c.done());
        assert_eq!(out, "One sentence here. ", "not a sentence cut in the middle");
        assert!(out.chars().count() <= 30);
    }

    #[test]
    fn each_chunk_is_masked() {
        let mut c = Chunker::new(100);
        let mask = |s: &str| s.replace("darn", "****");
        let mut got: Vec<_> = ["da", "rn it ", "all"].iter().filter_map(|p| c.push(p, mask)).collect();
        got.extend(c.finish(mask));
        assert_eq!(got.concat(), "**** it all", "a word split across pieces is masked whole");
    }
}

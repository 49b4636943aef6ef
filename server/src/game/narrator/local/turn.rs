//! One turn's answer being written into a context, a step at a time (the prompt, then one token
//! per step), so the engine can take turns between games.

use std::time::Instant;

use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;

use super::Job;
use super::engine::{
    BATCH_TOKENS, CONTEXT_TOKENS, GENERATE_US, GENERATED, PROMPT, PROMPT_US, REUSED, SENTENCE_MIN_WORDS,
    SENTENCE_TOKENS, Slot, TURNS, common_prefix, count, micros,
};

/// Punctuation a sentence must not end on.
const DANGLING: &str = ":;,-–—(";

/// Where a turn is in its frame.
enum Stage {
    /// The narrator's opening words of sentence `n` go in next.
    Lead(usize),
    /// The model is writing sentence `n`: its tokens so far, its text, and punctuation held back.
    Words {
        n: usize,
        tokens: usize,
        text: String,
        held: String,
    },
    Done,
}

/// A turn's answer in the making.
pub(super) struct Turn {
    sampler: LlamaSampler,
    batch: LlamaBatch<'static>,
    /// Where in the last batch the logits to sample from are.
    logits_at: i32,
    utf8: Vec<u8>,
    stage: Stage,
}

impl Turn {
    /// Computes the prompt (`system`, the job's system message as tokens, then its user message)
    /// in `slot`, reusing what the slot already holds of it.
    pub(super) fn new(
        model: &LlamaModel,
        slot: &mut Slot<'_>,
        job: &Job,
        system: Vec<LlamaToken>,
    ) -> Result<Turn, String> {
        let vocab = model.vocab();
        let mut prompt = system;
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
        let batch = LlamaBatch::new(BATCH_TOKENS, 1);
        let mut turn = Turn { sampler, batch, logits_at: 0, utf8: Vec::new(), stage: Stage::Lead(0) };
        let started = Instant::now();
        turn.feed(slot, &prompt[keep..])?;
        count(TURNS, 1);
        count(PROMPT, (prompt.len() - keep) as u64);
        count(REUSED, keep as u64);
        count(PROMPT_US, micros(started));
        Ok(turn)
    }

    /// Computes `tokens` after what the slot holds; the logits of the last one are kept.
    fn feed(&mut self, slot: &mut Slot<'_>, tokens: &[LlamaToken]) -> Result<(), String> {
        for (n, part) in tokens.chunks(BATCH_TOKENS).enumerate() {
            self.batch.clear();
            let last = n == tokens.len().div_ceil(BATCH_TOKENS) - 1;
            for (i, &t) in part.iter().enumerate() {
                let pos = (slot.tokens.len() + i) as i32;
                self.batch.add(t, pos, &[0], last && i == part.len() - 1).map_err(|e| e.to_string())?;
            }
            slot.ctx.decode(&mut self.batch).map_err(|e| e.to_string())?;
            slot.tokens.extend_from_slice(part);
        }
        self.logits_at = self.batch.n_tokens() - 1;
        Ok(())
    }

    /// One step: a sentence's opening words, or one token of the model's. False once the answer
    /// is over (its frame written, the context full, or no one listening).
    pub(super) fn step(&mut self, model: &LlamaModel, slot: &mut Slot<'_>, job: &Job) -> Result<bool, String> {
        let room = slot.tokens.len() + 2 < CONTEXT_TOKENS as usize;
        if job.out.is_closed() || !room {
            return Ok(false);
        }
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Done => Ok(false),
            Stage::Lead(n) if n >= job.frame.len() => Ok(false),
            Stage::Lead(n) => {
                let lead = &job.frame[n].lead;
                if !lead.is_empty() {
                    let tokens = model.vocab().tokenize(lead.as_bytes(), false, false);
                    if slot.tokens.len() + tokens.len() + 2 >= CONTEXT_TOKENS as usize {
                        return Ok(false);
                    }
                    self.sampler.accept_many(&tokens);
                    self.feed(slot, &tokens)?;
                    if job.out.blocking_send(Ok(lead.clone())).is_err() {
                        return Ok(false);
                    }
                }
                // The sentence's words so far include the lead (a full stop right after a lead
                // of a few words ends it).
                self.stage = Stage::Words { n, tokens: 0, text: lead.clone(), held: String::new() };
                Ok(true)
            }
            Stage::Words { n, tokens, mut text, mut held } => {
                let word = if tokens < SENTENCE_TOKENS { self.word(model, slot)? } else { None };
                let Some(piece) = word else {
                    // Cut short (the length cap, a new line, the end of text): close it properly.
                    if !ends_sentence(&text) {
                        let stop = model.vocab().tokenize(b".", false, false);
                        self.feed(slot, &stop)?;
                        if job.out.blocking_send(Ok(".".into())).is_err() {
                            return Ok(false);
                        }
                    }
                    self.stage = Stage::Lead(n + 1);
                    return Ok(true);
                };
                text.push_str(&piece);
                // Punctuation that would dangle if the sentence stopped here (a colon before a
                // list) waits for the next words.
                if !piece.is_empty() && piece.trim().chars().all(|c| DANGLING.contains(c)) {
                    held.push_str(&piece);
                } else {
                    let out = std::mem::take(&mut held) + &piece;
                    if !out.is_empty() && job.out.blocking_send(Ok(out)).is_err() {
                        return Ok(false);
                    }
                }
                self.stage = match ends_sentence(&text) && held.is_empty() {
                    true => Stage::Lead(n + 1),
                    false => Stage::Words { n, tokens: tokens + 1, text, held },
                };
                Ok(true)
            }
        }
    }

    /// The model's next piece of text, computed into the slot; `None` where the sentence must
    /// end (the end of text, a control token, a new line).
    fn word(&mut self, model: &LlamaModel, slot: &mut Slot<'_>) -> Result<Option<String>, String> {
        let vocab = model.vocab();
        let started = Instant::now();
        let token = self.sampler.sample(&slot.ctx, self.logits_at);
        if vocab.is_eog(token) || vocab.is_control(token) {
            return Ok(None);
        }
        self.utf8.extend(vocab.token_to_piece(token, false, None));
        let piece = take_utf8(&mut self.utf8);
        if piece.contains('\n') {
            return Ok(None); // a list or a new paragraph: the sentence is over
        }
        self.feed(slot, &[token])?;
        count(GENERATED, 1);
        count(GENERATE_US, micros(started));
        Ok(Some(piece))
    }
}

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

//! llama-cpp-2 bench: load SmolLM2-135M Q4_1 GGUF, process a ChatML prompt, generate N tokens.
//! usage: llamacpp-bench [MODEL] [N_GEN] [greedy|temp]   (threads: N_THREADS, default 2)
use std::io::Write;
use std::num::NonZeroU32;
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;

const SYSTEM: &str = "You are the game master of a fantasy dungeon adventure. Narrate in the present tense, speaking to the players. Answer every player by name and say what came of what they did, exactly as the outcome given for them says. Write four to six sentences, no lists, no headings, no questions to the game master, and never invent players.";
const USER: &str = "Turn 2 of 10, the rising action: the danger grows.\nPlace: the Whispering Stair.\nFoe: the Bone Warden.\nThe party seeks: the Ember Crown.\nAlly: a talking raven.\nLast turn: The party entered the Mossgate ruins and found a raven that speaks of a crown below.\nThis turn:\n- Aria tries to search the altar for a hidden lever (rolled Dexterity 17): it works.\n- Bo tries to light a torch and read the runes: it fails.\n- Cyd tries to guard the stairs with a raised shield: it half works, at a cost.\nNarrate this turn.";

fn rss() -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).cloned().unwrap_or_else(|| {
        "/root/.cache/dungeontalk-tools/models/smollm2-135m-instruct-q4_1.gguf".into()
    });
    let n_gen: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let temp = matches!(args.get(3).map(String::as_str), Some("temp"));
    let n_threads: i32 = std::env::var("N_THREADS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    let stop_at_eos = std::env::var("STOP_AT_EOS").is_ok();

    // ---- load ----
    let t_load = Instant::now();
    let mut backend = LlamaBackend::init()?;
    if std::env::var("LLAMA_LOGS").is_err() {
        backend.void_logs();
    }
    if let Ok(f) = std::env::var("TOKTEST") {
        let model = LlamaModel::load_from_file(&backend, &path, &LlamaModelParams::default().with_vocab_only(true))?;
        for line in std::fs::read_to_string(f)?.lines() {
            let text = line.replace("\\n", "\n").replace("\\t", "\t");
            let ids: Vec<i32> = model.vocab().tokenize(text.as_bytes(), false, true).iter().map(|t| t.0).collect();
            println!("{ids:?}");
        }
        return Ok(());
    }
    let model = LlamaModel::load_from_file(&backend, &path, &LlamaModelParams::default())?;
    let load_model = t_load.elapsed();
    let ctx_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(2048))
        .with_n_batch(512)
        .with_n_threads(n_threads)
        .with_n_threads_batch(n_threads);
    let mut ctx = model.new_context(&backend, ctx_params)?;
    let load = t_load.elapsed();
    println!(
        "load: {:.3} s (model {:.3} s + context {:.3} s) threads={} | {}",
        load.as_secs_f64(),
        load_model.as_secs_f64(),
        (load - load_model).as_secs_f64(),
        n_threads,
        rss()
    );

    // ---- prompt ----
    // LONG=1: user message given twice (a longer prompt, to see how prompt time scales)
    let user = if std::env::var("LONG").is_ok() { format!("{USER}\n\n{USER}") } else { USER.to_string() };
    let prompt = format!(
        "<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    );
    let vocab = model.vocab();
    let mut sampler = if temp {
        LlamaSampler::chain_simple([LlamaSampler::temp(0.7), LlamaSampler::dist(42)])
    } else {
        LlamaSampler::greedy()
    };

    let t_prompt = Instant::now();
    let ids = vocab.tokenize(prompt.as_bytes(), false, true);
    let t_enc = t_prompt.elapsed();
    let mut batch = LlamaBatch::new(512, 1);
    let last = ids.len() - 1;
    for (i, &t) in ids.iter().enumerate() {
        batch.add(t, i as i32, &[0], i == last)?;
    }
    ctx.decode(&mut batch)?;
    let mut next = sampler.sample(&ctx, batch.n_tokens() - 1);
    let ttft = t_prompt.elapsed();
    println!(
        "prompt: {} tokens, tokenize {:.2} ms, time to first token {:.3} s ({:.1} prompt tok/s)",
        ids.len(),
        t_enc.as_secs_f64() * 1e3,
        ttft.as_secs_f64(),
        ids.len() as f64 / ttft.as_secs_f64()
    );
    if std::env::var("PRINT_IDS").is_ok() {
        println!("prompt ids: {:?}", ids.iter().map(|t| t.0).collect::<Vec<_>>());
    }

    // ---- generate ----
    let mut out_ids = vec![next.0];
    let mut decoder = encoding_rs_free_utf8::Utf8Stream::default();
    let mut text = String::new();
    if !vocab.is_eog(next) {
        text.push_str(&decoder.push(&vocab.token_to_piece(next, false, None)));
    }
    let mut eos_at = None;
    let t_gen = Instant::now();
    let mut steps = 0;
    for i in 0..n_gen {
        if vocab.is_eog(next) {
            eos_at.get_or_insert(i);
            if stop_at_eos {
                break;
            }
        }
        batch.clear();
        batch.add(next, (ids.len() + i) as i32, &[0], true)?;
        ctx.decode(&mut batch)?;
        next = sampler.sample(&ctx, 0);
        steps += 1;
        out_ids.push(next.0);
        if eos_at.is_none() && !vocab.is_eog(next) {
            text.push_str(&decoder.push(&vocab.token_to_piece(next, false, None)));
        }
    }
    let gen_time = t_gen.elapsed();
    println!(
        "generate: {} decode steps in {:.3} s = {:.2} tok/s (first EOS after {:?} tokens) | {}",
        steps,
        gen_time.as_secs_f64(),
        steps as f64 / gen_time.as_secs_f64(),
        eos_at,
        rss()
    );
    println!("first ids: {:?}", &out_ids[..out_ids.len().min(40)]);
    println!("--- output (up to first end-of-generation token) ---\n{}\n---", text.trim_end());
    std::io::stdout().flush()?;
    Ok(())
}

/// Tiny UTF-8 stream joiner (a token may end in the middle of a multi-byte char).
mod encoding_rs_free_utf8 {
    #[derive(Default)]
    pub struct Utf8Stream {
        pending: Vec<u8>,
    }
    impl Utf8Stream {
        pub fn push(&mut self, bytes: &[u8]) -> String {
            self.pending.extend_from_slice(bytes);
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    let s = s.to_string();
                    self.pending.clear();
                    s
                }
                Err(e) if e.error_len().is_some() => {
                    let s = String::from_utf8_lossy(&self.pending).into_owned();
                    self.pending.clear();
                    s
                }
                Err(e) => {
                    let v = e.valid_up_to();
                    let s = std::str::from_utf8(&self.pending[..v]).unwrap().to_string();
                    self.pending.drain(..v);
                    s
                }
            }
        }
    }
}

//! candle bench: load SmolLM2-135M Q4_1 GGUF, process a ChatML prompt, generate N tokens.
//! usage: candle-bench [MODEL] [N_GEN] [greedy|temp]   (threads: CANDLE_NUM_THREADS, default 2)
mod tokenizer;

use std::io::Write;
use std::time::Instant;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::ModelWeights;
use tokenizer::{Gpt2Tokenizer, StreamDecoder};

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
    // 2 threads unless told otherwise; must be set before candle's pools start.
    for k in ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS"] {
        if std::env::var(k).is_err() {
            unsafe { std::env::set_var(k, "2") };
        }
    }
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).cloned().unwrap_or_else(|| {
        "/root/.cache/dungeontalk-tools/models/smollm2-135m-instruct-q4_1.gguf".into()
    });
    let n_gen: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(200);
    let sampling = match args.get(3).map(String::as_str) {
        Some("temp") => Sampling::All { temperature: 0.7 },
        _ => Sampling::ArgMax,
    };
    let stop_at_eos = std::env::var("STOP_AT_EOS").is_ok();
    println!("threads: {} (candle get_num_threads)", candle_core::utils::get_num_threads());
    println!(
        "cpu features: avx={} avx2={} f16c={} (compile-time)",
        cfg!(target_feature = "avx"),
        cfg!(target_feature = "avx2"),
        cfg!(target_feature = "f16c")
    );

    // ---- load ----
    let t_load = Instant::now();
    let device = Device::Cpu;
    let mut file = std::fs::File::open(&path)?;
    let content = gguf_file::Content::read(&mut file)?;
    let t_tok = Instant::now();
    let mut tok = Gpt2Tokenizer::from_gguf(&content)?;
    let tok_build = t_tok.elapsed();
    if let Ok(f) = std::env::var("TOKTEST") {
        // tokenizer check mode: one escaped test string per line -> ids
        for line in std::fs::read_to_string(f)?.lines() {
            let text = line.replace("\\n", "\n").replace("\\t", "\t");
            let ids = tok.encode(&text);
            assert_eq!(tok.decode(&ids, false), text);
            println!("{ids:?}");
        }
        return Ok(());
    }
    let mut model = ModelWeights::from_gguf(content, &mut file, &device)?;
    let load = t_load.elapsed();
    println!("load: {:.3} s (of which tokenizer build {:.3} s) | {}", load.as_secs_f64(), tok_build.as_secs_f64(), rss());

    // ---- prompt ----
    // LONG=1: user message given twice (a longer prompt, to see how prompt time scales)
    let user = if std::env::var("LONG").is_ok() { format!("{USER}\n\n{USER}") } else { USER.to_string() };
    let prompt = format!(
        "<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    );
    let eos = tok.token_id("<|im_end|>").unwrap();
    let eot = tok.token_id("<|endoftext|>").unwrap();
    let mut lp = LogitsProcessor::from_sampling(42, sampling);

    let t_prompt = Instant::now();
    let ids = tok.encode(&prompt);
    let t_enc = t_prompt.elapsed();
    let input = Tensor::new(ids.as_slice(), &device)?.unsqueeze(0)?;
    let logits = model.forward(&input, 0)?.squeeze(0)?;
    let mut next = lp.sample(&logits)?;
    let ttft = t_prompt.elapsed();
    println!(
        "prompt: {} tokens, encode {:.2} ms, time to first token {:.3} s ({:.1} prompt tok/s)",
        ids.len(),
        t_enc.as_secs_f64() * 1e3,
        ttft.as_secs_f64(),
        ids.len() as f64 / ttft.as_secs_f64()
    );
    if std::env::var("PRINT_IDS").is_ok() {
        println!("prompt ids: {ids:?}");
        assert_eq!(tok.decode(&ids, false), prompt, "decode(encode(x)) != x");
        println!("roundtrip ok");
    }

    // ---- generate ----
    let mut out_ids = vec![next];
    let mut dec = StreamDecoder::default();
    let mut text = dec.push(&tok, next);
    let mut eos_at = None;
    let t_gen = Instant::now();
    let mut steps = 0;
    let (mut t_fwd, mut t_smp) = (0f64, 0f64);
    for i in 0..n_gen {
        if next == eos || next == eot {
            eos_at.get_or_insert(i);
            if stop_at_eos {
                break;
            }
        }
        let t0 = Instant::now();
        let input = Tensor::new(&[next], &device)?.unsqueeze(0)?;
        let logits = model.forward(&input, ids.len() + i)?.squeeze(0)?;
        let t1 = Instant::now();
        next = lp.sample(&logits)?;
        t_fwd += (t1 - t0).as_secs_f64();
        t_smp += t1.elapsed().as_secs_f64();
        steps += 1;
        out_ids.push(next);
        if eos_at.is_none() && next != eos && next != eot {
            text.push_str(&dec.push(&tok, next));
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
    println!("  of which forward {:.3} s, sampling {:.3} s", t_fwd, t_smp);
    println!("first ids: {:?}", &out_ids[..out_ids.len().min(40)]);
    println!("--- output (up to first <|im_end|>) ---\n{}\n---", text.trim_end());
    std::io::stdout().flush()?;
    Ok(())
}

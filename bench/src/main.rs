//! `dtbench`: drives many clients against a running server (DungeonTalk over WebSocket, SSE+POST
//! or long polling+POST; Socket.IO over WebSocket or polling; the bare broadcast peer) and writes
//! what it measured into a JSON results file, which `dtbench plot` turns into SVG plots.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

mod fanout;
mod game;
mod idle;
mod plot;
mod probe;
mod proto;
mod report;
mod storm;

use proto::{Endpoint, Kind, Transport};
use report::Results;

#[derive(Parser)]
#[command(name = "dtbench", about = "Measures DungeonTalk and its peers: fan-out, latency, bytes, memory, reconnects")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The server under test.
#[derive(Args, Clone)]
struct Target {
    /// The protocol the server speaks.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The transport to use.
    #[arg(long, value_enum, default_value = "ws")]
    transport: Transport,
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The name the results use for this server.
    #[arg(long)]
    server: String,
    /// The results file (runs are added to what it holds).
    #[arg(long, default_value = "bench/results/results.json")]
    out: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Rooms × subscribers with a sender per room; the rate rises step by step until a step fails.
    Fanout {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        /// Subscribers per room.
        #[arg(long, default_value_t = 10)]
        subs: usize,
        /// Messages per second (all rooms together) at each step.
        #[arg(long, value_delimiter = ',', default_value = "1000,5000,10000,20000,40000,60000,80000")]
        rates: Vec<u64>,
        #[arg(long, default_value_t = 5)]
        step_secs: u64,
        /// How long after a step's last send deliveries may still arrive.
        #[arg(long, default_value_t = 1500)]
        grace_ms: u64,
        #[arg(long, default_value_t = 100.0)]
        p99_ms: f64,
    },
    /// Server memory per idle connection (RSS before and after).
    Idle {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 2000)]
        conns: usize,
        /// The server's process id (its /proc/PID/status is read).
        #[arg(long)]
        pid: u32,
    },
    /// Every client drops and reconnects at once while messages flow.
    Storm {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 100)]
        rooms: usize,
    },
    /// Plays whole games (three players each, matched through the queue) and measures the game
    /// master: first words after a turn closes, streaming speed, the server's memory, and chat
    /// latency in another room while the games narrate against none.
    Game {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "dungeontalk")]
        server: String,
        #[arg(long, default_value = "bench/results/results.json")]
        out: PathBuf,
        /// Games at once (1 to 3).
        #[arg(long, default_value_t = 2)]
        games: usize,
        /// The server's process id (its /proc/PID/status is read).
        #[arg(long)]
        pid: u32,
        /// Seconds of chat measured before any game starts.
        #[arg(long, default_value_t = 20)]
        baseline_secs: u64,
        /// Where to write the first game's transcript (Markdown).
        #[arg(long)]
        transcript: Option<PathBuf>,
        /// A second node of the same cluster: the second player reads each game there, and each
        /// chunk's hop between the nodes is measured.
        #[arg(long)]
        url_b: Option<String>,
    },
    /// Writes the SVG plots of a results file.
    Plot {
        #[arg(long, default_value = "bench/results/results.json")]
        results: PathBuf,
        #[arg(long, default_value = "bench/results")]
        dir: PathBuf,
    },
}

fn endpoint(t: &Target) -> Endpoint {
    endpoint_with_pool(t, 1024)
}

/// `idle`'s endpoint keeps no idle HTTP connection: the sign-ins and JOINs that set each client up
/// would otherwise leave up to 64 pooled keep-alive connections open in the server, each with
/// hyper's buffers, counted as the idle connections' memory.
fn endpoint_with_pool(t: &Target, max_idle: usize) -> Endpoint {
    let http = reqwest::Client::builder().pool_max_idle_per_host(max_idle).build().expect("an HTTP client");
    Endpoint { kind: t.kind, transport: t.transport, base: t.url.trim_end_matches('/').to_owned(), http }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
        .expect("a valid template");
    bar.set_style(style);
    bar.set_prefix(what.to_owned());
    bar
}

fn load(path: &Path) -> Results {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| Results { machine: machine(), ..Results::default() })
}

fn save(path: &Path, results: &Results) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_vec_pretty(results)?)?;
    Ok(())
}

/// Cores and memory of this machine, for the record.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .map_or(0, |kib| kib / 1024 / 1024);
    format!("{cores} cores, {mem} GiB")
}

#[tokio::main]
async fn main() -> Result<()> {
    probe::clock();
    match Cli::parse().command {
        Command::Fanout { target, rooms, subs, rates, step_secs, grace_ms, p99_ms } => {
            let ep = endpoint(&target);
            let world = proto::World::make(&ep, rooms, "fanout").await?;
            let connecting = bar((rooms * subs) as u64, &format!("{} {:?} connect", target.server, target.transport));
            let mut crowd = fanout::crowd(&ep, &world, rooms, subs, &connecting).await?;
            connecting.finish();
            let plan = fanout::Plan {
                rooms,
                subs,
                rates: rates.clone(),
                step: Duration::from_secs(step_secs),
                grace: Duration::from_millis(grace_ms),
                p99_limit_ms: p99_ms,
                server: target.server.clone(),
            };
            let stepping = bar(rates.len() as u64, &format!("{} {:?} steps", target.server, target.transport));
            let run = fanout::run(&ep, &plan, &mut crowd, &stepping).await;
            stepping.finish();
            for s in &run.steps {
                println!(
                    "{:>7} msg/s: {:>9.0} deliveries/s, p50 {:.2} p99 {:.2} max {:.1} ms, lost {}, dup {}, {:.0} B/delivery{}",
                    s.rate,
                    s.deliveries_per_sec,
                    s.latency.p50,
                    s.latency.p99,
                    s.latency.max,
                    s.lost,
                    s.duplicates,
                    s.bytes_per_delivery,
                    if s.passed { "" } else { "  (failed)" }
                );
            }
            println!("max sustained: {:.0} deliveries/s", run.max_sustained);
            let mut results = load(&target.out);
            results.fanout.push(run);
            save(&target.out, &results)?;
        }
        Command::Idle { target, conns, pid } => {
            let ep = endpoint_with_pool(&target, 0);
            let b = bar(conns as u64, &format!("{} {:?} idle", target.server, target.transport));
            let idle = idle::run(&ep, &target.server, conns, pid, &b).await?;
            b.finish();
            println!("{:.1} KiB per idle connection ({} connections)", idle.kib_per_connection, conns);
            let mut results = load(&target.out);
            results.idle.push(idle);
            save(&target.out, &results)?;
        }
        Command::Storm { target, clients, rooms } => {
            let ep = endpoint(&target);
            let b = bar(clients as u64, &format!("{} {:?} storm", target.server, target.transport));
            let storm = storm::run(&ep, &target.server, clients, rooms, &b).await?;
            b.finish();
            println!(
                "{} clients: all reconnected in {:.0} ms, all caught up in {:.0} ms ({} failed)",
                storm.clients, storm.reconnected_ms, storm.caught_up_ms, storm.failed
            );
            let mut results = load(&target.out);
            results.storm.push(storm);
            save(&target.out, &results)?;
        }
        Command::Game { url, server, out, games, pid, baseline_secs, transcript, url_b } => {
            let node = |url: &str| Endpoint {
                kind: Kind::Dt,
                transport: Transport::Ws,
                base: url.trim_end_matches('/').to_owned(),
                http: reqwest::Client::new(),
            };
            let ep = node(&url);
            let ep_b = url_b.as_deref().map(node);
            let every = Duration::from_millis(50);
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let probe = tokio::spawn(game::chat_probe(ep.clone(), every, stop.clone()));
            tokio::time::sleep(Duration::from_secs(baseline_secs)).await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let chat_idle = report::Latency::of(&probe.await??);
            let before = game::gm_work(&ep).await?;
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let probe = tokio::spawn(game::chat_probe(ep.clone(), every, stop.clone()));
            let played =
                futures_util::future::try_join_all((0..games.clamp(1, 3)).map(|g| game::play(&ep, g, ep_b.as_ref())))
                    .await?;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let chat_during = report::Latency::of(&probe.await??);
            let after = game::gm_work(&ep).await?;
            let (rss_kib, rss_peak_kib) = game::rss(pid);
            let delta = |k: &str| after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0);
            let model_turns = delta("turns").max(1.0);
            let first: Vec<u64> = played.iter().flat_map(|p| p.first_chunk_us.iter().copied()).collect();
            let chars: u64 = played.iter().map(|p| p.chars).sum();
            let streaming: u64 = played.iter().map(|p| p.streaming_us).sum();
            let hops: Vec<u64> = played.iter().flat_map(|p| p.cross_node_us.iter().copied()).collect();
            let run = report::Game {
                server,
                games: played.len(),
                turns: played.iter().map(|p| p.turns).sum(),
                first_chunk: game::latency(&first),
                chars_per_sec: chars as f64 / (streaming as f64 / 1e6).max(1e-9),
                tokens_per_sec: delta("generated_tokens") / (delta("generate_micros") / 1e6).max(1e-9),
                prompt_tokens_per_turn: delta("prompt_tokens") / model_turns,
                reused_tokens_per_turn: delta("reused_tokens") / model_turns,
                rss_kib,
                rss_peak_kib,
                chat_idle,
                chat_during,
                cross_node: (!hops.is_empty()).then(|| game::latency(&hops)),
            };
            println!(
                "{} games, {} turns: first words after a turn closes p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                run.games, run.turns, run.first_chunk.p50, run.first_chunk.p99, run.first_chunk.max
            );
            println!(
                "streaming: {:.0} chars/s; model: {:.1} tokens/s, {:.0} prompt tokens computed and {:.0} reused per turn",
                run.chars_per_sec, run.tokens_per_sec, run.prompt_tokens_per_turn, run.reused_tokens_per_turn
            );
            println!("server memory: RSS {} MiB, peak {} MiB", rss_kib / 1024, rss_peak_kib / 1024);
            println!(
                "chat echo in another room: no game p50 {:.2} p99 {:.2} ms; {} games narrating p50 {:.2} p99 {:.2} ms",
                run.chat_idle.p50, run.chat_idle.p99, run.games, run.chat_during.p50, run.chat_during.p99
            );
            if let Some(hop) = &run.cross_node {
                println!(
                    "a chunk from made on the narrating node to a client of the other node: p50 {:.2} ms, p99 {:.2} ms ({} chunks)",
                    hop.p50,
                    hop.p99,
                    hops.len()
                );
            }
            if let (Some(path), Some(first)) = (transcript, played.first()) {
                std::fs::write(&path, &first.transcript)?;
                println!("wrote {}", path.display());
            }
            let mut results = load(&out);
            results.game.push(run);
            save(&out, &results)?;
        }
        Command::Plot { results, dir } => {
            let r = load(&results);
            for path in plot::all(&r, &dir)? {
                println!("wrote {path}");
            }
        }
    }
    Ok(())
}

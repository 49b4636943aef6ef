//! `dungeontalk`: parse the command line, start the server, stop it on Ctrl-C or SIGTERM.

use dungeontalk::config::Settings;
use tracing_subscriber::EnvFilter;

// glibc's malloc gives each thread an arena of its own and keeps what was freed in it: under
// churn the soak test saw resident memory grow ~5-10 KiB per round while the live heap stayed
// at a few MiB. jemalloc reports its live bytes (`/metrics`) and, with a background thread,
// returns freed pages to the system within a second or two, busy or idle.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start (the symbol name is the prefixed `malloc_conf`).
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:1000\0";

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = match Settings::from_command_line() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("dungeontalk: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    tracing::info!(?settings, "starting");
    let files = dungeontalk::serve::raise_open_files();
    tracing::info!(open_files = files, "open-file limit");

    let running = match dungeontalk::start(settings).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dungeontalk: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Scripts and tests read this line to learn the port (with --bind 127.0.0.1:0).
    println!("dungeontalk listening on http://{}", running.addr);
    let token = running.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        token.cancel();
    });
    running.wait().await;
    tracing::info!("stopped");
    std::process::ExitCode::SUCCESS
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

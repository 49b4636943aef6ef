//! `dungeontalk`: parse the command line, start the server, stop it on Ctrl-C or SIGTERM.

use clap::Parser;
use dungeontalk::config::{Cli, Settings};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let settings = match Settings::load(Cli::parse()) {
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

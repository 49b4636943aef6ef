//! DungeonTalk's server: the hub, its backends (store, room log, shared state), the transports,
//! and the embedded UI. `main.rs` only parses the command line and calls [`start`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub mod accounts;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod error;
pub mod game;
pub mod http;
pub mod hub;
pub mod log;
pub mod metrics;
pub mod model;
pub mod profanity;
pub mod reads;
pub mod serve;
pub mod session;
pub mod state;
pub mod store;

use config::Settings;
use hub::{Delivery, Hub, HubLimits};
use metrics::Metrics;
use model::{Inbox, Revoked};
use state::AppState;
use store::Store;
use store::accounts::AccountStore;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Log(#[from] log::LogError),
    #[error("{0}")]
    Cluster(#[from] cluster::ClusterError),
    #[error("cannot resume the games in progress: {0}")]
    Game(String),
    #[error("cannot set up auth: {0}")]
    Auth(String),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// A started server: where it listens, and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Running {
    /// Waits until the server has stopped (after [`Running::shutdown_token`] is cancelled).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    /// The token that stops this server when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// The state for `settings` with the backends they name (embedded ones by default), and the
/// background tasks that must finish before the process exits.
pub async fn build_state(
    settings: Settings,
    shutdown: CancellationToken,
) -> Result<(AppState, Vec<JoinHandle<()>>), StartError> {
    let metrics = Arc::new(Metrics::new());
    let revoked = Arc::new(Revoked::default());
    let ring = hub::rooms::RingSize::from_settings(&settings);
    let delivery = Arc::new(Delivery::new(ring, settings.notify_queue_len, revoked.clone(), metrics.clone()));
    let inbox: Arc<dyn Inbox> = delivery.clone();
    let timeout = std::time::Duration::from_millis(settings.backend_timeout_ms);
    type Stores = (Arc<dyn Store>, Arc<dyn AccountStore>, Arc<dyn store::reads::ReadMarks>);
    let (store, account_store, read_marks): Stores = match &settings.mongodb_uri {
        Some(uri) => {
            let mongo = Arc::new(store::mongo::MongoStore::connect(uri.expose_str(), timeout).await?);
            (mongo.clone(), mongo.clone(), mongo)
        }
        None => {
            let disk = Arc::new(store::disk::DiskStore::open_with(
                &settings.data_dir,
                settings.store_cache_bytes,
                settings.store_journal_bytes,
            )?);
            (disk.clone(), disk.clone(), disk)
        }
    };
    let (log, mut tasks): (Arc<dyn log::RoomLog>, Vec<JoinHandle<()>>) = match &settings.kafka_brokers {
        Some(brokers) => {
            let (log, tasks) = log::kafka::KafkaLog::start(
                &settings,
                brokers,
                store.clone(),
                inbox.clone(),
                metrics.clone(),
                shutdown.clone(),
            )
            .await?;
            (Arc::new(log), tasks)
        }
        None => {
            let batch = log::local::BatchLimits::from_settings(&settings);
            let (log, writer) =
                log::local::LocalLog::start(store.clone(), inbox.clone(), metrics.clone(), batch).await?;
            (Arc::new(log), vec![writer])
        }
    };
    let cluster = match &settings.redis_url {
        Some(url) => {
            let url = url.expose_str();
            cluster::redis::connect(&settings, url, inbox.clone(), metrics.clone(), shutdown.clone()).await?
        }
        None => {
            let cluster = cluster::local::cluster(&settings, inbox.clone(), account_store.clone());
            for (jti, exp) in cluster.channel.revoked().await? {
                revoked.insert(&jti, exp);
            }
            cluster
        }
    };
    let limits = HubLimits::from_settings(&settings);
    let hub = Arc::new(Hub::new(store, log, cluster.clone(), &delivery, limits, metrics));
    let auth = auth::Auth::from_settings(&settings, revoked).map_err(|e| StartError::Auth(e.to_string()))?;
    let accounts = accounts::Accounts::new(account_store, cluster.limits.clone(), cluster.channel.clone(), &settings)
        .map_err(|e| StartError::Auth(e.to_string()))?;
    let auth = Arc::new(auth);
    let settings = Arc::new(settings);
    let fns = http::fns::data(&auth, &hub, &settings);
    let narrator = game::narrator_for(&settings);
    let games = game::Games::new(
        hub.clone(),
        game::GameSettings::from_settings(&settings),
        narrator,
        settings.node_id.clone(),
        shutdown.clone(),
    );
    // A game whose node stopped (this one, before a restart, or another) goes on here.
    games.resume_all().await.map_err(|e| StartError::Game(e.to_string()))?;
    let reads = Arc::new(reads::Reads::new(hub.clone(), read_marks));
    let ttl = std::time::Duration::from_secs(settings.read_mark_ttl_days.saturating_mul(86_400));
    tasks.push(tokio::spawn(reads.clone().sweep(ttl, shutdown.clone())));
    let state = AppState { settings, hub, games, auth, accounts: Arc::new(accounts), reads, fns, shutdown };
    Ok((state, tasks))
}

/// Renews this node in the shared state and takes idle members (and those of stopped nodes) out
/// of their rooms, until the server stops.
async fn expire_idle(hub: Arc<Hub>, liveness: std::time::Duration, shutdown: CancellationToken) {
    let mut timer = tokio::time::interval(hub.expiry_period(liveness));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = timer.tick() => hub.expire_idle().await,
        }
    }
}

/// A listening socket with room for `backlog` connections not yet accepted: tokio's `bind` keeps
/// 1024, and a reconnect storm of 1000 clients overflowed it (each overflowed connect waits for
/// its kernel's SYN retry, 1 s).
fn listen(addr: SocketAddr, backlog: u32) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    // As tokio's `bind` does: a restarted server binds while old connections linger in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Opens the store, binds, and serves until the shutdown token is cancelled.
pub async fn start(settings: Settings) -> Result<Running, StartError> {
    let shutdown = CancellationToken::new();
    let bind = settings.bind;
    let (state, tasks) = build_state(settings, shutdown.clone()).await?;
    let listener = listen(bind, state.settings.listen_backlog).map_err(|e| StartError::Bind(bind, e))?;
    let addr = listener.local_addr().map_err(|e| StartError::Bind(bind, e))?;
    let liveness = std::time::Duration::from_secs(state.settings.presence_ttl_secs);
    tokio::spawn(expire_idle(state.hub.clone(), liveness, shutdown.clone()));
    tokio::spawn(http::fns::report(state.hub.clone(), state.settings.node_id.clone(), shutdown.clone()));
    let header_timeout = std::time::Duration::from_secs(state.settings.http_header_timeout_secs);
    let app = http::router(state);
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        serve::serve(listener, app, header_timeout, token).await;
        // Every handle on the hub is gone now: the writer drains its queue and the store closes.
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(std::time::Duration::from_secs(10), all).await.is_err() {
            tracing::warn!("background tasks did not finish within 10 s");
        }
    });
    Ok(Running { addr, shutdown, task })
}

#[cfg(test)]
mod tests;

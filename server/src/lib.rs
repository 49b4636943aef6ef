//! DungeonTalk's server: the hub (ordered room logs), its store and bus, the transports, and the
//! embedded UI. `main.rs` only parses the command line and calls [`start`].

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub mod accounts;
pub mod auth;
pub mod bus;
pub mod config;
pub mod error;
pub mod http;
pub mod hub;
pub mod profanity;
pub mod state;
pub mod store;

use config::Settings;
use hub::{Hub, HubLimits, fanout::Fanout, notify::Notifier};
use state::AppState;
use store::Store;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store: {0}")]
    Store(#[from] store::StoreError),
    #[error("cannot set up auth: {0}")]
    Auth(std::io::Error),
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

/// The state for `settings` with the embedded store and the in-process bus.
pub fn build_state(settings: Settings, shutdown: CancellationToken) -> Result<(AppState, JoinHandle<()>), StartError> {
    let disk = Arc::new(store::disk::DiskStore::open(&settings.data_dir)?);
    let store: Arc<dyn Store> = disk.clone();
    let fanout = Arc::new(Fanout::new(settings.outgoing_queue_len));
    let notifier = Arc::new(Notifier::new(settings.outgoing_queue_len));
    let bus = Arc::new(bus::LocalBus::new(fanout.clone(), notifier.clone()));
    let limits = HubLimits::from_settings(&settings);
    let (hub, writer) = Hub::start(store, bus, fanout, notifier, limits);
    let auth = auth::Auth::from_settings(&settings).map_err(StartError::Auth)?;
    for (jti, exp) in disk.revoked_access_now()? {
        auth.revoke(&jti, exp);
    }
    let accounts = accounts::Accounts::new(disk, &settings).map_err(|e| StartError::Auth(std::io::Error::other(e)))?;
    let state = AppState {
        settings: Arc::new(settings),
        hub: Arc::new(hub),
        auth: Arc::new(auth),
        accounts: Arc::new(accounts),
        shutdown,
    };
    Ok((state, writer))
}

/// Takes idle members out of their rooms until the server stops.
async fn expire_idle(hub: Arc<Hub>, shutdown: CancellationToken) {
    let mut timer = tokio::time::interval(hub.expiry_period());
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = timer.tick() => hub.expire_idle().await,
        }
    }
}

/// Opens the store, binds, and serves until the shutdown token is cancelled.
pub async fn start(settings: Settings) -> Result<Running, StartError> {
    let shutdown = CancellationToken::new();
    let bind = settings.bind;
    let (state, writer) = build_state(settings, shutdown.clone())?;
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| StartError::Bind(bind, e))?;
    let addr = listener.local_addr().map_err(|e| StartError::Bind(bind, e))?;
    tokio::spawn(expire_idle(state.hub.clone(), shutdown.clone()));
    let app = http::router(state);
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "server error");
        }
        // Every handle on the hub is gone now: the writer drains its queue and the store closes.
        if tokio::time::timeout(std::time::Duration::from_secs(10), writer).await.is_err() {
            tracing::warn!("the writer did not finish within 10 s");
        }
    });
    Ok(Running { addr, shutdown, task })
}

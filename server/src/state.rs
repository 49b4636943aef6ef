//! The one shared state every handler gets: cheap to clone, built once at start.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::auth::Auth;
use crate::config::Settings;
use crate::game::Games;
use crate::hub::Hub;

/// Settings, hub, auth, accounts, the server functions' data and the shutdown signal.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub hub: Arc<Hub>,
    /// AI game rooms and the matching queue.
    pub games: Arc<Games>,
    pub auth: Arc<Auth>,
    pub accounts: Arc<Accounts>,
    /// Members' read marks and the room list's unread counts.
    pub reads: Arc<crate::reads::Reads>,
    /// What the UI's server functions see (`/api/fn/*`).
    pub fns: dungeontalk_app::fns::ServerData,
    /// Cancelled when the server stops: long-lived connections close on it.
    pub shutdown: CancellationToken,
}

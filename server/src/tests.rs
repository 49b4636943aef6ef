//! What `build_state` makes of the settings: each one reaches the part it sizes.

use dungeontalk_app::wire::{MemberId, Notification};
use tokio::sync::broadcast::error::TryRecvError;

use crate::config::Settings;
use crate::model::Actor;

/// The signing secret of every state these tests build.
pub(crate) const SECRET: &str = "router-test-secret-router-test-secret";

/// A state built from `settings` (everything embedded, in a fresh directory, tokens signed with
/// [`SECRET`]); the directory lives as long as the returned guard.
pub(crate) async fn state(settings: Settings) -> (crate::state::AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let settings =
        Settings { data_dir: dir.path().to_path_buf(), jwt_secret: Some(SECRET.parse().unwrap()), ..settings };
    (crate::build_state(settings, Default::default()).await.unwrap().0, dir)
}

/// An `Auth` signing with [`SECRET`], and the revocation list it checks.
pub(crate) fn auth() -> (std::sync::Arc<crate::auth::Auth>, std::sync::Arc<crate::model::Revoked>) {
    let revoked = std::sync::Arc::new(crate::model::Revoked::default());
    let settings = Settings { jwt_secret: Some(SECRET.parse().unwrap()), ..Settings::default() };
    (std::sync::Arc::new(crate::auth::Auth::from_settings(&settings, revoked.clone()).unwrap()), revoked)
}

/// How many of `sent` notifications a stream that read nothing meanwhile still gets, and how many
/// it was told it missed.
async fn kept_of(notify_queue_len: usize, sent: usize) -> (usize, u64) {
    let (state, _dir) = state(Settings { notify_queue_len, ..Settings::default() }).await;
    let actor = Actor { member_id: MemberId("m1".into()), nickname: "Aria".into() };
    let mut rx = state.hub.notifications(&actor).await;
    for _ in 0..sent {
        let n = Notification::Connected { member_id: actor.member_id.clone(), nickname: "Aria".into() };
        assert!(state.hub.notify(&actor.member_id, &n).await.unwrap(), "the stream is open");
    }
    let (mut kept, mut missed) = (0, 0);
    loop {
        match rx.try_recv() {
            Ok(_) => kept += 1,
            Err(TryRecvError::Lagged(n)) => missed += n,
            Err(_) => break,
        }
    }
    (kept, missed)
}

#[tokio::test]
async fn a_notification_stream_holds_notify_queue_len_before_it_skips_the_oldest() {
    assert_eq!(kept_of(4, 6).await, (4, 2), "four kept, the two oldest skipped");
    assert_eq!(kept_of(16, 6).await, (6, 0), "sixteen hold all six");
}

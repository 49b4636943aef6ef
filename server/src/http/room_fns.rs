//! The room list's server functions on the server's side ([`RoomFns`]): unread activity, read
//! marks and invitations by name, each for the member the token names.

use std::sync::Arc;

use dungeontalk_app::fns::{Answer, RoomFns};
use dungeontalk_app::wire::{ErrorBody, Invited, ReadMark, RoomActivity, RoomId};

use super::notify::{invite_member, member_named};
use crate::error::AppError;
use crate::model::Actor;
use crate::state::AppState;

/// [`RoomFns`] over the server's state (made per call: the state is a handful of `Arc`s).
pub struct Fns(pub AppState);

fn body(e: AppError) -> ErrorBody {
    ErrorBody { code: e.code, message: e.message, retry_after_ms: e.retry_after_ms }
}

impl Fns {
    /// The server's state for a call by the member the token names.
    fn caller(&self, token: &str) -> Result<(AppState, Actor), ErrorBody> {
        let actor = self.0.auth.verify(token).map_err(body)?;
        Ok((self.0.clone(), actor))
    }
}

impl RoomFns for Fns {
    fn activity(&self, token: String) -> Answer<Vec<RoomActivity>> {
        let called = self.caller(&token);
        Box::pin(async move {
            let (state, actor) = called?;
            state.reads.activity(&actor).await.map_err(body)
        })
    }

    fn mark_read(&self, token: String, room_id: RoomId, seq: u64) -> Answer<ReadMark> {
        let called = self.caller(&token);
        Box::pin(async move {
            let (state, actor) = called?;
            let room = state.hub.room_for(&room_id, &actor).await.map_err(|e| body(e.into()))?;
            state.reads.mark(&actor, &room.room_id, seq).await.map_err(body)
        })
    }

    fn invite(&self, token: String, room_id: RoomId, name: String) -> Answer<Invited> {
        let called = self.caller(&token);
        Box::pin(async move {
            let (state, actor) = called?;
            let member = member_named(&state, &name).await.map_err(body)?;
            invite_member(&state, &actor, &room_id, member).await.map_err(body)
        })
    }
}

/// The context object the server functions find.
pub fn for_call(state: &AppState) -> Arc<dyn RoomFns> {
    Arc::new(Fns(state.clone()))
}

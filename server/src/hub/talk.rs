//! TALK: validation, whispers, the rate limit and the profanity filter, then the append.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use dungeontalk_app::wire::{ErrorCode, MemberId, RoomId, RoomType};
use uuid::Uuid;

use super::{Hub, HubError};
use crate::cluster::Kind;
use crate::model::{Actor, Appended, Draft, EventBody, Refusal, RoomRecord};
use crate::profanity::{Filter, Mode};

/// A stored TALK and, in WARN mode, the warning for its sender.
#[derive(Debug)]
pub struct Said {
    pub appended: Appended,
    pub warning: Option<Refusal>,
}

/// A TALK that has its place in the room's order and is becoming durable.
pub type PendingSaid = Pin<Box<dyn Future<Output = Result<Said, HubError>> + Send>>;

impl Hub {
    /// Validates and appends a chat message from `actor` (a whisper when `receiver_id` is set).
    pub async fn talk(
        self: &Arc<Self>,
        room: &RoomRecord,
        actor: &Actor,
        content: String,
        message_id: Option<Uuid>,
        receiver_id: Option<MemberId>,
    ) -> Result<Said, HubError> {
        self.talk_enqueue(room, actor, content, message_id, receiver_id).await?.await
    }

    /// Validates a chat message and gives it its place in the room's order; the returned future
    /// resolves once it is durable. Messages enqueued one after the other keep that order.
    pub async fn talk_enqueue(
        self: &Arc<Self>,
        room: &RoomRecord,
        actor: &Actor,
        content: String,
        message_id: Option<Uuid>,
        receiver_id: Option<MemberId>,
    ) -> Result<PendingSaid, HubError> {
        self.measure(&content)?;
        // A seat is what capacity limits: talking needs one (this also marks the activity).
        if !self.cluster.presence.touch(&room.room_id, &actor.member_id).await? {
            let msg = "Join the room before you talk in it.";
            return Err(HubError::Invalid(ErrorCode::NotJoined, msg.into()));
        }
        if let Some(to) = &receiver_id
            && (*to == actor.member_id || !self.is_joined(&room.room_id, to).await?)
        {
            let msg = "Whispers go to another member who is in this room.";
            return Err(HubError::Invalid(ErrorCode::ReceiverNotFound, msg.into()));
        }
        // Clients resend what they have not seen echoed; a retry of a stored message must not use
        // up the rate: without a token it still passes if stored (the store is asked only then),
        // and a token it took comes back once the append says it was a duplicate.
        let charged = self.charge(room, actor, message_id).await?;
        let (content, warning) = self.screen(room, content)?;
        let mentions = match receiver_id {
            // A whisper notifies its receiver only: a mention in it must not leak it to others.
            Some(_) => Vec::new(),
            None => self.mentioned(room, actor, &content).await?,
        };
        let body = EventBody::Talk {
            message_id: message_id.unwrap_or_else(Uuid::now_v7),
            sender_id: actor.member_id.clone(),
            sender_nickname: actor.nickname.clone(),
            content,
            receiver_id,
            mentions,
        };
        let pending = self.log.enqueue(Draft::new(room.room_id.clone(), body)).await.map_err(|e| self.log_failed(e))?;
        let (hub, actor) = (self.clone(), actor.clone());
        Ok(Box::pin(async move {
            let appended = pending.await.map_err(|e| hub.log_failed(e))?;
            if appended.duplicate() && charged {
                hub.cluster.limits.refund(&actor.member_id, Kind::Talk).await?;
            }
            // The first send already got any warning.
            let warning = warning.filter(|_| !appended.duplicate());
            Ok(Said { appended, warning })
        }))
    }

    /// The members an `@nickname` in `content` names: those in the room now (joined) with that
    /// nickname, who may read it, never the sender. Resolved once, here, and carried by id, so
    /// a nickname taken by someone outside the room reaches nobody.
    async fn mentioned(&self, room: &RoomRecord, actor: &Actor, content: &str) -> Result<Vec<MemberId>, HubError> {
        if !content.contains('@') {
            return Ok(Vec::new());
        }
        let named = super::notify::mentions(content);
        if named.is_empty() {
            return Ok(Vec::new());
        }
        let (_, members) = self.cluster.presence.snapshot(&room.room_id).await?;
        Ok(members
            .into_iter()
            .filter(|m| m.member_id != actor.member_id && room.admits(&m.member_id))
            .filter(|m| named.contains(&m.nickname.to_lowercase()))
            .map(|m| m.member_id)
            .collect())
    }

    /// Refuses text that is empty or longer than `max_content_chars`.
    pub fn measure(&self, content: &str) -> Result<(), HubError> {
        if content.trim().is_empty() {
            return Err(HubError::Invalid(ErrorCode::EmptyMessage, "A message needs some text.".into()));
        }
        let chars = content.chars().count();
        if chars > self.limits.max_content_chars {
            let max = self.limits.max_content_chars;
            let msg = format!("A message may have at most {max} characters; this one has {chars}.");
            return Err(HubError::Invalid(ErrorCode::MessageTooLong, msg));
        }
        Ok(())
    }

    /// A player's text (a TALK or a game ACTION) through every check but the seat: its length,
    /// the rate limit (a retry of a stored `messageId` passes free) and the room's profanity
    /// filter. Returns the text to store, its warning, and whether a rate token was taken.
    pub async fn vet(
        &self,
        room: &RoomRecord,
        actor: &Actor,
        content: String,
        message_id: Option<Uuid>,
    ) -> Result<(String, Option<Refusal>, bool), HubError> {
        self.measure(&content)?;
        let charged = self.charge(room, actor, message_id).await?;
        let (content, warning) = self.screen(room, content)?;
        Ok((content, warning, charged))
    }

    /// Takes a message token (`chat.rate_limited` when there is none), except for a retry of a
    /// message stored already; true when a token was taken.
    pub async fn charge(&self, room: &RoomRecord, actor: &Actor, message_id: Option<Uuid>) -> Result<bool, HubError> {
        match self.cluster.limits.take(&actor.member_id, Kind::Talk).await? {
            Ok(()) => Ok(true),
            Err(_) if self.is_stored(&room.room_id, message_id).await? => Ok(false),
            Err(wait) => {
                let msg = "You are sending messages too fast; wait a moment.";
                Err(HubError::Refused(Refusal::new(ErrorCode::RateLimited, msg).retry_after(wait)))
            }
        }
    }

    /// Gives back a message token taken for what turned out to be a retry.
    pub async fn refund(&self, actor: &Actor) -> Result<(), HubError> {
        Ok(self.cluster.limits.refund(&actor.member_id, Kind::Talk).await?)
    }

    /// The game master's text through the game rooms' filter: masked whatever the mode, since a
    /// narrator's words cannot be refused or warned.
    pub fn mask(&self, text: &str) -> String {
        let found = self.profanity.find(text);
        if found.is_empty() { text.to_owned() } else { Filter::mask(text, &found) }
    }

    /// Whether the room holds a message under this `messageId` already (a retry).
    pub async fn is_stored(&self, room_id: &RoomId, message_id: Option<Uuid>) -> Result<bool, HubError> {
        Ok(match message_id {
            Some(id) => self.store.message_seq(room_id, id).await?.is_some(),
            None => false,
        })
    }

    /// The profanity filter of the room's type: the content to store, and a warning for its sender.
    fn screen(&self, room: &RoomRecord, content: String) -> Result<(String, Option<Refusal>), HubError> {
        let mode = match room.room_type {
            RoomType::Player => self.limits.profanity_player,
            RoomType::Game => self.limits.profanity_game,
        };
        let found = self.profanity.find(&content);
        Ok(match (found.is_empty(), mode) {
            (true, _) => (content, None),
            (false, Mode::Block) => {
                let msg = "That message was not sent: it contains words this room does not allow.";
                return Err(HubError::Refused(Refusal::new(ErrorCode::ProfanityBlocked, msg)));
            }
            (false, Mode::Filter) => (Filter::mask(&content, &found), None),
            (false, Mode::Warn) => {
                let msg = "Your message was sent, but please mind your language.";
                (content, Some(Refusal::new(ErrorCode::ProfanityWarning, msg)))
            }
        })
    }
}

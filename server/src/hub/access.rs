//! Which rooms exist and who may enter or read them: every transport and handler asks here, so
//! a room is refused alike (404 `room.not_found`, 403 `room.forbidden`, 409 `room.full`) whatever
//! the way in.

use dungeontalk_app::wire::{ErrorCode, RoomId};

use super::{Hub, HubError};
use crate::model::{Actor, RoomRecord};

impl Hub {
    /// Every room, private ones included.
    pub async fn all_rooms(&self) -> Result<Vec<RoomRecord>, HubError> {
        Ok(self.store.rooms().await?)
    }

    /// The rooms `actor` may enter.
    pub async fn rooms_for(&self, actor: &Actor) -> Result<Vec<RoomRecord>, HubError> {
        Ok(self.all_rooms().await?.into_iter().filter(|r| r.admits(&actor.member_id)).collect())
    }

    /// The room, or 404 `room.not_found`.
    pub async fn room(&self, room_id: &RoomId) -> Result<RoomRecord, HubError> {
        match self.store.room(room_id).await? {
            Some(room) => Ok(room),
            None => Err(HubError::Invalid(ErrorCode::RoomNotFound, "That room does not exist.".into())),
        }
    }

    /// The room if `actor` may enter it: as [`Hub::room`], or 403 `room.forbidden` (private).
    pub async fn room_for(&self, room_id: &RoomId, actor: &Actor) -> Result<RoomRecord, HubError> {
        let room = self.room(room_id).await?;
        if !room.admits(&actor.member_id) {
            let msg = "This room is private; you need an invitation.";
            return Err(HubError::Invalid(ErrorCode::RoomForbidden, msg.into()));
        }
        Ok(room)
    }

    /// The room if `actor` may read it now, and whether they hold a seat in it: as
    /// [`Hub::room_for`], or 409 `room.full` (see [`Hub::may_read`]).
    pub async fn reader_for(&self, room_id: &RoomId, actor: &Actor) -> Result<(RoomRecord, bool), HubError> {
        let room = self.room_for(room_id, actor).await?;
        let seated = self.may_read(&room, actor).await?;
        Ok((room, seated))
    }

    /// Records a new room.
    pub async fn create_room(&self, room: RoomRecord) -> Result<(), HubError> {
        Ok(self.store.create_room(room).await?)
    }

    /// Records a room's new settings (capacity, who is invited, its game).
    pub async fn update_room(&self, room: RoomRecord) -> Result<(), HubError> {
        Ok(self.store.update_room(room).await?)
    }
}

//! [`ReadMarks`] on MongoDB: `read_marks`, one document per (member, room), indexed by member
//! (the room list's read) and by when it last moved (`forget_reads`).

use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, RoomId};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, IndexModel};

use super::StoreError;
use super::mongo::{MongoStore, fail};
use super::reads::ReadMarks;

impl MongoStore {
    fn reads(&self) -> Collection<Document> {
        self.db.collection("read_marks")
    }

    /// The member index the room list reads by, and the one forgetting old marks reads by.
    pub(super) async fn create_read_indexes(&self) -> Result<(), StoreError> {
        let by_member = IndexModel::builder().keys(doc! {"member": 1}).build();
        let by_time = IndexModel::builder().keys(doc! {"at": 1}).build();
        self.reads().create_indexes([by_member, by_time]).await.map_err(fail)?;
        Ok(())
    }
}

#[async_trait]
impl ReadMarks for MongoStore {
    async fn read_marks(&self, member: &MemberId) -> Result<Vec<(RoomId, u64)>, StoreError> {
        let docs: Vec<Document> =
            self.reads().find(doc! {"member": &member.0}).await.map_err(fail)?.try_collect().await.map_err(fail)?;
        docs.iter()
            .map(|d| Ok((RoomId(d.get_str("room").map_err(fail)?.to_owned()), d.get_i64("seq").map_err(fail)? as u64)))
            .collect()
    }

    async fn mark_read(&self, member: &MemberId, room: &RoomId, seq: u64, now_ms: u64) -> Result<u64, StoreError> {
        let id = format!("{}\u{1f}{}", member.0, room.0);
        // $max: a late or stale tab never moves a mark back.
        let update = doc! {
            "$max": {"seq": seq as i64},
            "$set": {"member": &member.0, "room": &room.0, "at": now_ms as i64},
        };
        let found = self
            .reads()
            .find_one_and_update(doc! {"_id": id}, update)
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(fail)?;
        Ok(found.and_then(|d| d.get_i64("seq").ok()).map_or(seq, |s| s as u64))
    }

    async fn forget_reads(&self, before_ms: u64) -> Result<u64, StoreError> {
        let gone = self.reads().delete_many(doc! {"at": {"$lt": before_ms as i64}}).await.map_err(fail)?;
        Ok(gone.deleted_count)
    }
}

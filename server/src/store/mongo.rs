//! The store on MongoDB: rooms, messages (unique `(roomId, seq)` and `(roomId, messageId)`,
//! paged by `(roomId, seq)`), log watermarks; accounts in `mongo_accounts.rs`. Indexes are made
//! at start. Every call has the configured backend timeout (the driver's server selection).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use dungeontalk_app::wire::RoomId;
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use uuid::Uuid;

use super::{Inserted, Store, StoreError};
use crate::model::{RoomRecord, StoredEvent};

/// A MongoDB database holding everything.
#[derive(Clone)]
pub struct MongoStore {
    pub(super) db: Database,
    messages: Collection<Document>,
    rooms: Collection<Document>,
    watermarks: Collection<Document>,
}

pub(super) fn fail(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// The duplicate-key error of a unique index.
const DUPLICATE_KEY: i32 = 11000;

/// The unique key a non-TALK event gets in place of a messageId, so one unique index serves all.
fn event_key(event: &StoredEvent) -> String {
    match event.message_id {
        Some(id) => id.to_string(),
        None => format!("seq:{}", event.seq),
    }
}

impl MongoStore {
    /// Connects (failing within `timeout` if the server does not answer) and makes the indexes.
    pub async fn connect(uri: &str, timeout: Duration) -> Result<MongoStore, StoreError> {
        let mut options = ClientOptions::parse(uri).await.map_err(|e| fail(format!("mongodb_uri: {e}")))?;
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        options.app_name = Some("dungeontalk".into());
        let client = Client::with_options(options).map_err(|e| fail(format!("mongodb_uri: {e}")))?;
        let db = client.default_database().unwrap_or_else(|| client.database("dungeontalk"));
        db.run_command(doc! {"ping": 1}).await.map_err(|e| fail(format!("mongodb_uri: cannot reach MongoDB: {e}")))?;
        let store = MongoStore {
            messages: db.collection("messages"),
            rooms: db.collection("rooms"),
            watermarks: db.collection("watermarks"),
            db,
        };
        store.create_indexes().await?;
        Ok(store)
    }

    async fn create_indexes(&self) -> Result<(), StoreError> {
        let unique = |keys: Document, name: &str| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().unique(true).name(name.to_owned()).build())
                .build()
        };
        self.messages.create_index(unique(doc! {"roomId": 1, "seq": 1}, "room_seq")).await.map_err(fail)?;
        self.messages.create_index(unique(doc! {"roomId": 1, "messageId": 1}, "room_message")).await.map_err(fail)?;
        self.create_account_indexes().await?;
        self.create_read_indexes().await
    }
}

fn event_doc(event: &StoredEvent) -> Document {
    doc! {
        "roomId": event.room_id.0.as_str(),
        "seq": event.seq as i64,
        "messageId": event_key(event),
        "type": event.kind(),
        "frame": event.json.as_str(),
    }
}

fn from_doc(d: &Document) -> Result<StoredEvent, StoreError> {
    let room = d.get_str("roomId").map_err(fail)?;
    let seq = d.get_i64("seq").map_err(fail)?;
    let frame = d.get_str("frame").map_err(fail)?;
    Ok(StoredEvent::new(RoomId(room.to_owned()), seq as u64, Utf8Bytes::from(frame)))
}

#[async_trait]
impl Store for MongoStore {
    async fn create_room(&self, room: RoomRecord) -> Result<(), StoreError> {
        let mut d = mongodb::bson::to_document(&room).map_err(fail)?;
        d.insert("_id", room.room_id.0.as_str());
        self.rooms.insert_one(d).await.map_err(fail)?;
        Ok(())
    }

    async fn update_room(&self, room: RoomRecord) -> Result<(), StoreError> {
        let mut d = mongodb::bson::to_document(&room).map_err(fail)?;
        d.insert("_id", room.room_id.0.as_str());
        self.rooms.replace_one(doc! {"_id": room.room_id.0.as_str()}, d).upsert(true).await.map_err(fail)?;
        Ok(())
    }

    async fn rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        let docs: Vec<Document> = self
            .rooms
            .find(doc! {})
            .sort(doc! {"createdAt": 1})
            .await
            .map_err(fail)?
            .try_collect()
            .await
            .map_err(fail)?;
        docs.into_iter().map(|d| mongodb::bson::from_document(d).map_err(fail)).collect()
    }

    async fn room(&self, id: &RoomId) -> Result<Option<RoomRecord>, StoreError> {
        let found = self.rooms.find_one(doc! {"_id": id.0.as_str()}).await.map_err(fail)?;
        found.map(|d| mongodb::bson::from_document(d).map_err(fail)).transpose()
    }

    async fn insert(&self, events: Vec<Arc<StoredEvent>>) -> Result<Vec<Inserted>, StoreError> {
        let mut out = vec![Inserted::Stored; events.len()];
        if events.is_empty() {
            return Ok(out);
        }
        let failed: Vec<usize> =
            match self.messages.insert_many(events.iter().map(|e| event_doc(e))).ordered(false).await {
                Ok(_) => return Ok(out),
                Err(e) => match *e.kind {
                    ErrorKind::InsertMany(ref many) if many.write_concern_error.is_none() => {
                        let errors = many.write_errors.as_deref().unwrap_or_default();
                        if let Some(other) = errors.iter().find(|w| w.code != DUPLICATE_KEY) {
                            return Err(fail(&other.message));
                        }
                        errors.iter().map(|w| w.index).collect()
                    }
                    _ => return Err(fail(e)),
                },
            };
        // Each refused event is either a replay (stored before under the same seq) or a repeated
        // messageId (stored before under another seq): the stored copy says which.
        for i in failed {
            let event = &events[i];
            let found = self
                .messages
                .find_one(doc! {"roomId": event.room_id.0.as_str(), "messageId": event_key(event)})
                .await
                .map_err(fail)?;
            let seq = match found {
                Some(d) => d.get_i64("seq").map_err(fail)? as u64,
                None => {
                    return Err(fail(format!("seq {} of room {} is taken by another event", event.seq, event.room_id)));
                }
            };
            if seq != event.seq {
                out[i] = Inserted::Duplicate(seq);
            }
        }
        Ok(out)
    }

    async fn message_seqs(&self, keys: Vec<(RoomId, Uuid)>) -> Result<Vec<Option<u64>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let ors: Vec<Document> =
            keys.iter().map(|(r, m)| doc! {"roomId": r.0.as_str(), "messageId": m.to_string()}).collect();
        let docs: Vec<Document> = self
            .messages
            .find(doc! {"$or": ors})
            .projection(doc! {"roomId": 1, "messageId": 1, "seq": 1})
            .await
            .map_err(fail)?
            .try_collect()
            .await
            .map_err(fail)?;
        let mut found = HashMap::new();
        for d in &docs {
            let (Ok(r), Ok(m), Ok(s)) = (d.get_str("roomId"), d.get_str("messageId"), d.get_i64("seq")) else {
                continue;
            };
            found.insert((r.to_owned(), m.to_owned()), s as u64);
        }
        Ok(keys.iter().map(|(r, m)| found.get(&(r.0.clone(), m.to_string())).copied()).collect())
    }

    async fn after(&self, room: &RoomId, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let filter = doc! {"roomId": room.0.as_str(), "seq": {"$gt": after.min(i64::MAX as u64) as i64}};
        let docs: Vec<Document> = self
            .messages
            .find(filter)
            .sort(doc! {"seq": 1})
            .limit(limit as i64)
            .await
            .map_err(fail)?
            .try_collect()
            .await
            .map_err(fail)?;
        docs.iter().map(from_doc).collect()
    }

    async fn before(&self, room: &RoomId, before: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let filter = doc! {"roomId": room.0.as_str(), "seq": {"$lt": before.min(i64::MAX as u64) as i64}};
        let docs: Vec<Document> = self
            .messages
            .find(filter)
            .sort(doc! {"seq": -1})
            .limit(limit as i64)
            .await
            .map_err(fail)?
            .try_collect()
            .await
            .map_err(fail)?;
        docs.iter().map(from_doc).collect()
    }

    async fn heads(&self) -> Result<Vec<(RoomId, u64)>, StoreError> {
        let pipeline = vec![doc! {"$group": {"_id": "$roomId", "head": {"$max": "$seq"}}}];
        let docs: Vec<Document> =
            self.messages.aggregate(pipeline).await.map_err(fail)?.try_collect().await.map_err(fail)?;
        docs.iter()
            .map(|d| Ok((RoomId(d.get_str("_id").map_err(fail)?.to_owned()), d.get_i64("head").map_err(fail)? as u64)))
            .collect()
    }

    async fn watermark(&self, key: &str) -> Result<u64, StoreError> {
        let found = self.watermarks.find_one(doc! {"_id": key}).await.map_err(fail)?;
        Ok(found.and_then(|d| d.get_i64("through").ok()).map_or(0, |t| t as u64))
    }

    async fn set_watermark(&self, key: &str, through: u64) -> Result<(), StoreError> {
        // $max: a late writer never moves it back.
        let update = doc! {"$max": {"through": through as i64}};
        self.watermarks.update_one(doc! {"_id": key}, update).upsert(true).await.map_err(fail)?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! {"ping": 1}).await.map_err(fail)?;
        Ok(())
    }
}

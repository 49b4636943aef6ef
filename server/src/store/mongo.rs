//! The store on MongoDB: rooms, messages (unique `(roomId, seq)` and `(roomId, messageId)`,
//! paged by `(roomId, seq)`), log watermarks; accounts in `mongo_accounts.rs`. Indexes are made
//! at start. Every call has the configured backend timeout (the driver's server selection).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::model::Utf8Bytes;
use async_trait::async_trait;
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

impl MongoStore {
    /// Inserts in order, stopping at the first document a unique index refuses: its index in
    /// `docs`, or `None` when all went in.
    async fn insert_until_refused(&self, docs: impl Iterator<Item = Document>) -> Result<Option<usize>, StoreError> {
        let Err(e) = self.messages.insert_many(docs).ordered(true).await else { return Ok(None) };
        match *e.kind {
            ErrorKind::InsertMany(ref many) if many.write_concern_error.is_none() => {
                match many.write_errors.as_deref().unwrap_or_default() {
                    [first, ..] if first.code == DUPLICATE_KEY => Ok(Some(first.index)),
                    [other, ..] => Err(fail(&other.message)),
                    [] => Err(fail(e)),
                }
            }
            _ => Err(fail(e)),
        }
    }

    /// The seq stored under each event's unique key, keyed by (roomId, key), for those that have one.
    async fn held_keys(
        &self,
        keys: impl Iterator<Item = (&str, String)>,
    ) -> Result<HashMap<(String, String), u64>, StoreError> {
        let ors: Vec<Document> = keys.map(|(room, key)| doc! {"roomId": room, "messageId": key}).collect();
        if ors.is_empty() {
            return Ok(HashMap::new());
        }
        let docs: Vec<Document> = self
            .messages
            .find(doc! {"$or": ors})
            .projection(doc! {"roomId": 1, "messageId": 1, "seq": 1})
            .await
            .map_err(fail)?
            .try_collect()
            .await
            .map_err(fail)?;
        let mut held = HashMap::new();
        for d in &docs {
            if let (Ok(r), Ok(m), Ok(s)) = (d.get_str("roomId"), d.get_str("messageId"), d.get_i64("seq")) {
                held.insert((r.to_owned(), m.to_owned()), s as u64);
            }
        }
        Ok(held)
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
        // Ordered: MongoDB applies the batch in log order and stops at the first refusal, so a
        // reader never finds seq 105 stored while 103 is not (an unordered batch may apply in
        // any order). Each refusal is resolved, then the rest goes on, in order.
        let mut rest: Vec<usize> = (0..events.len()).collect();
        while !rest.is_empty() {
            let docs = rest.iter().map(|&i| event_doc(&events[i]));
            let Some(refused) = self.insert_until_refused(docs).await? else { break };
            // Everything before the refused one is in; it and what follows are looked up at once
            // (a replayed batch is refused whole: one lookup, not one per event).
            let tail = rest.split_off(refused);
            let held =
                self.held_keys(tail.iter().map(|&i| (events[i].room_id.0.as_str(), event_key(&events[i])))).await?;
            for &i in &tail {
                let event = &events[i];
                match held.get(&(event.room_id.0.clone(), event_key(event))) {
                    // A replay (stored before under the same seq), or a repeated messageId.
                    Some(&seq) if seq != event.seq => out[i] = Inserted::Duplicate(seq),
                    Some(_) => {}
                    None if i == tail[0] => {
                        return Err(fail(format!(
                            "seq {} of room {} is taken by another event",
                            event.seq, event.room_id
                        )));
                    }
                    None => rest.push(i),
                }
            }
        }
        Ok(out)
    }

    async fn message_seqs(&self, keys: Vec<(RoomId, Uuid)>) -> Result<Vec<Option<u64>>, StoreError> {
        let found = self.held_keys(keys.iter().map(|(r, m)| (r.0.as_str(), m.to_string()))).await?;
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

//! A store whose event writes always fail, as when the disk is full.

use std::sync::Arc;

use async_trait::async_trait;
use dungeontalk_app::wire::RoomId;
use uuid::Uuid;

use crate::model::{RoomRecord, StoredEvent};
use crate::store::{Inserted, Store, StoreError};

pub struct BrokenStore;

#[async_trait]
impl Store for BrokenStore {
    async fn create_room(&self, _: RoomRecord) -> Result<(), StoreError> {
        Ok(())
    }
    async fn update_room(&self, _: RoomRecord) -> Result<(), StoreError> {
        Err(StoreError("disk on fire".into()))
    }
    async fn rooms(&self) -> Result<Vec<RoomRecord>, StoreError> {
        Ok(Vec::new())
    }
    async fn room(&self, _: &RoomId) -> Result<Option<RoomRecord>, StoreError> {
        Ok(None)
    }
    async fn insert(&self, _: Vec<Arc<StoredEvent>>) -> Result<Vec<Inserted>, StoreError> {
        Err(StoreError("disk full".into()))
    }
    async fn message_seqs(&self, keys: Vec<(RoomId, Uuid)>) -> Result<Vec<Option<u64>>, StoreError> {
        Ok(vec![None; keys.len()])
    }
    async fn after(&self, _: &RoomId, _: u64, _: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Vec::new())
    }
    async fn before(&self, _: &RoomId, _: u64, _: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Vec::new())
    }
    async fn heads(&self) -> Result<Vec<(RoomId, u64)>, StoreError> {
        Ok(Vec::new())
    }
    async fn watermark(&self, _: &str) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn set_watermark(&self, _: &str, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

//! Unread for the room list: every room a member may enter, with their read mark, what is new
//! since (counted by the rules in `dungeontalk_app::unread`) and the room's last line; marks move
//! as the UI reports lines seen, and every tab of the member hears of it (a READ notification).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use dungeontalk_app::unread::{add, is_new, preview};
use dungeontalk_app::wire::{Counts, Notification, ReadMark, RoomActivity, RoomId, ServerFrame};
use tokio_util::sync::CancellationToken;

use crate::error::AppError;
use crate::hub::Hub;
use crate::hub::latest::{Last, previewable};
use crate::model::{Actor, RoomRecord, now_ms};
use crate::store::reads::ReadMarks;

/// Events read past a mark per page when counting, and the most pages: past them the count
/// says "more".
const COUNT_PAGE: usize = 200;
const COUNT_PAGES: usize = 3;
/// Events looked back through for a room's last line when this node has not seen the room.
const PREVIEW_SCAN: usize = 50;
/// How often marks nobody moved for `read_mark_ttl_days` are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The members' read marks and the room list's activity.
pub struct Reads {
    hub: Arc<Hub>,
    marks: Arc<dyn ReadMarks>,
}

impl Reads {
    /// Reads over the hub's store and rooms, with marks kept in `marks`.
    pub fn new(hub: Arc<Hub>, marks: Arc<dyn ReadMarks>) -> Reads {
        Reads { hub, marks }
    }

    /// Every room the member may enter, in the store's order, with what is new for them.
    pub async fn activity(&self, actor: &Actor) -> Result<Vec<RoomActivity>, AppError> {
        let rooms: Vec<RoomRecord> = self.hub.rooms_for(actor).await?;
        let ids: Vec<RoomId> = rooms.iter().map(|r| r.room_id.clone()).collect();
        let online = self.hub.connected_counts(&ids).await;
        let marks: HashMap<RoomId, u64> = self.marks.read_marks(&actor.member_id).await?.into_iter().collect();
        let mut out = Vec::with_capacity(rooms.len());
        for (room, connected_count) in rooms.into_iter().zip(online) {
            let last = self.last(&room.room_id).await?;
            let read_seq = marks.get(&room.room_id).copied();
            let counts = match read_seq {
                Some(mark) if last.head > mark => self.count(&room.room_id, mark, actor).await?,
                _ => Counts::default(),
            };
            let line = last.line.and_then(|e| serde_json::from_str::<ServerFrame>(e.json.as_str()).ok());
            out.push(RoomActivity {
                room: room.summary(connected_count),
                head_seq: last.head,
                read_seq,
                counts,
                last: line.as_ref().and_then(preview),
            });
        }
        Ok(out)
    }

    /// Moves the member's mark in a room (one they may enter: the caller checked) up to `seq`,
    /// never past its newest event, never back, and tells their other tabs.
    pub async fn mark(&self, actor: &Actor, room_id: &RoomId, seq: u64) -> Result<ReadMark, AppError> {
        let head = self.last(room_id).await?.head;
        let read_seq = self.marks.mark_read(&actor.member_id, room_id, seq.min(head), now_ms()).await?;
        let read = Notification::Read { room_id: room_id.clone(), read_seq };
        if let Err(e) = self.hub.notify(&actor.member_id, &read).await {
            tracing::debug!(error = %e, "read mark not announced");
        }
        Ok(ReadMark { room_id: room_id.clone(), read_seq })
    }

    /// What this node knows of the room's newest event and line, read from the store once.
    async fn last(&self, room: &RoomId) -> Result<Last, AppError> {
        if let Some(last) = self.hub.latest().get(room) {
            return Ok(last);
        }
        self.hub.latest().begin(room);
        let events = self.hub.history_before(room, u64::MAX, PREVIEW_SCAN).await?.events;
        let head = events.first().map_or(0, |e| e.seq);
        let line = events.into_iter().find(previewable).map(Arc::new);
        Ok(self.hub.latest().fill(room, head, line))
    }

    /// What is new for the member after `mark`.
    async fn count(&self, room: &RoomId, mark: u64, actor: &Actor) -> Result<Counts, AppError> {
        let mut counts = Counts::default();
        let mut after = mark;
        for _ in 0..COUNT_PAGES {
            let page = self.hub.history_after(room, after, COUNT_PAGE).await?.events;
            for event in page.iter().filter(|e| e.visible_to(&actor.member_id)) {
                let Ok(frame) = serde_json::from_str::<ServerFrame>(event.json.as_str()) else { continue };
                if let Some(new) = is_new(&frame, &actor.member_id) {
                    add(&mut counts, new);
                }
            }
            match page.last() {
                Some(last) if page.len() == COUNT_PAGE && !counts.more => after = last.seq,
                _ => return Ok(counts),
            }
        }
        counts.more = true;
        Ok(counts)
    }

    /// Forgets marks nobody moved for `ttl`, every hour, until the server stops.
    pub async fn sweep(self: Arc<Self>, ttl: Duration, shutdown: CancellationToken) {
        let mut timer = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = timer.tick() => {
                    let before = now_ms().saturating_sub(ttl.as_millis() as u64);
                    match self.marks.forget_reads(before).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(forgotten = n, "old read marks forgotten"),
                        Err(e) => tracing::warn!(error = %e, "read marks not swept"),
                    }
                }
            }
        }
    }
}

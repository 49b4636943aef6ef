//! The shared state on Redis: a connection manager for commands (reconnects by itself; every call
//! bounded by `backend_timeout_ms`) and one Pub/Sub connection per node that hears every other
//! node: `room.{roomId}` (ephemeral frames), `member.{memberId}` (notifications),
//! `aichat.{roomId}` (the AI game master's frames, published by anyone) and `dt:revoked`.
//!
//! Standalone Redis (or Sentinel): the scripts touch keys they compute, which Redis Cluster forbids.

use std::sync::Arc;
use std::time::Duration;

use crate::model::Utf8Bytes;
use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, NodeStats, Notification, RoomId, ServerFrame};
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio_util::sync::CancellationToken;

use super::game_redis::{RedisLeases, RedisQueue};
use super::redis_limits::RedisLimits;
use super::redis_presence::RedisPresence;
use super::{Channel, Cluster, ClusterError};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::model::{Inbox, StoredEvent, now_ms};

/// Keys this server owns start with this.
pub(super) const PREFIX: &str = "dt:";
const REVOKED: &str = "dt:revoked";
const LISTENERS: &str = "dt:listeners";
/// node → its last report for the ops view (JSON); entries of silent nodes are dropped on read.
const NODES: &str = "dt:nodes";

pub(super) fn failed(e: impl std::fmt::Display) -> ClusterError {
    ClusterError(e.to_string())
}

/// Connects (failing at once if Redis does not answer), starts this node's subscriber, and
/// returns the shared state.
pub async fn connect(
    settings: &Settings,
    url: &str,
    inbox: Arc<dyn Inbox>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> Result<Cluster, ClusterError> {
    let timeout = Duration::from_millis(settings.backend_timeout_ms);
    let client = redis::Client::open(url).map_err(|e| failed(format!("redis_url: {e}")))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(1));
    let conn = tokio::time::timeout(timeout, client.get_connection_manager_with_config(config))
        .await
        .map_err(|_| failed("redis_url: Redis did not answer in time"))?
        .map_err(|e| failed(format!("redis_url: cannot reach Redis: {e}")))?;
    let ttl = Duration::from_secs(settings.presence_ttl_secs);
    let channel = Arc::new(RedisChannel { conn: conn.clone(), listen_ttl: ttl });
    let subscriber = Subscriber { client, inbox, channel: channel.clone(), metrics, timeout };
    subscriber.first_subscribe(shutdown).await?;
    Ok(Cluster {
        presence: Arc::new(RedisPresence::new(conn.clone(), settings.node_id.clone(), ttl)),
        limits: Arc::new(RedisLimits::new(conn.clone(), settings)),
        channel,
        leases: Arc::new(RedisLeases { conn: conn.clone() }),
        queue: Arc::new(RedisQueue { conn }),
    })
}

/// Publishes and reads what every node shares.
pub struct RedisChannel {
    conn: ConnectionManager,
    listen_ttl: Duration,
}

/// `audience\njson`: the members who may see a frame (empty: the room), then the frame.
fn encode_room(event: &StoredEvent) -> String {
    let audience = event.audience.as_ref().map(|a| a.iter().map(|m| m.0.as_str()).collect::<Vec<_>>().join(","));
    format!("{}\n{}", audience.unwrap_or_default(), event.json.as_str())
}

fn decode_room(room: &str, payload: &str) -> Option<StoredEvent> {
    let (audience, json) = payload.split_once('\n')?;
    let audience =
        (!audience.is_empty()).then(|| audience.split(',').map(|m| MemberId(m.to_owned())).collect::<Vec<_>>());
    Some(StoredEvent::ephemeral_from(RoomId(room.to_owned()), Utf8Bytes::from(json.to_owned()), audience))
}

#[async_trait]
impl Channel for RedisChannel {
    async fn room(&self, event: Arc<StoredEvent>) -> Result<(), ClusterError> {
        let channel = format!("room.{}", event.room_id);
        let _: i64 = redis::cmd("PUBLISH")
            .arg(channel)
            .arg(encode_room(&event))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn narrate(&self, event: Arc<StoredEvent>) -> Result<(), ClusterError> {
        // Every node reads `aichat.*`, so the frame reaches the room's readers everywhere, this
        // node's included.
        let _: i64 = redis::cmd("PUBLISH")
            .arg(format!("aichat.{}", event.room_id))
            .arg(event.json.as_str())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn member(&self, member: &MemberId, notification: &Notification) -> Result<bool, ClusterError> {
        let json = serde_json::to_string(notification).map_err(failed)?;
        let mut conn = self.conn.clone();
        let (_, until): (i64, Option<f64>) = redis::pipe()
            .cmd("PUBLISH")
            .arg(format!("member.{member}"))
            .arg(json)
            .cmd("ZSCORE")
            .arg(LISTENERS)
            .arg(&member.0)
            .query_async(&mut conn)
            .await
            .map_err(failed)?;
        Ok(until.is_some_and(|t| t as u64 > now_ms()))
    }

    async fn listening(&self, members: &[MemberId]) -> Result<(), ClusterError> {
        if members.is_empty() {
            return Ok(());
        }
        let until = now_ms() + self.listen_ttl.as_millis() as u64;
        let mut pipe = redis::pipe();
        for m in members {
            pipe.cmd("ZADD").arg(LISTENERS).arg(until).arg(&m.0).ignore();
        }
        pipe.cmd("ZREMRANGEBYSCORE").arg(LISTENERS).arg("-inf").arg(now_ms()).ignore();
        pipe.query_async::<()>(&mut self.conn.clone()).await.map_err(failed)
    }

    async fn revoke(&self, jti: &str, exp: u64) -> Result<(), ClusterError> {
        let now = jsonwebtoken::get_current_timestamp();
        redis::pipe()
            .cmd("ZADD")
            .arg(REVOKED)
            .arg(exp)
            .arg(jti)
            .ignore()
            .cmd("ZREMRANGEBYSCORE")
            .arg(REVOKED)
            .arg("-inf")
            .arg(now)
            .ignore()
            .cmd("PUBLISH")
            .arg(REVOKED)
            .arg(format!("{jti} {exp}"))
            .ignore()
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(failed)
    }

    async fn revoked(&self) -> Result<Vec<(String, u64)>, ClusterError> {
        let now = jsonwebtoken::get_current_timestamp();
        let flat: Vec<(String, f64)> = redis::cmd("ZRANGEBYSCORE")
            .arg(REVOKED)
            .arg(format!("({now}"))
            .arg("+inf")
            .arg("WITHSCORES")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(flat.into_iter().map(|(jti, exp)| (jti, exp as u64)).collect())
    }

    async fn ping(&self) -> Result<(), ClusterError> {
        redis::cmd("PING").query_async::<String>(&mut self.conn.clone()).await.map(|_| ()).map_err(failed)
    }

    async fn report(&self, stats: &NodeStats) -> Result<(), ClusterError> {
        let json = serde_json::to_string(stats).map_err(failed)?;
        redis::cmd("HSET")
            .arg(NODES)
            .arg(&stats.node)
            .arg(json)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)
    }

    async fn nodes(&self, since_ms: u64) -> Result<Vec<NodeStats>, ClusterError> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, String)> =
            redis::cmd("HGETALL").arg(NODES).query_async(&mut conn).await.map_err(failed)?;
        let (mut fresh, mut stale) = (Vec::new(), Vec::new());
        for (node, json) in all {
            match serde_json::from_str::<NodeStats>(&json) {
                Ok(s) if s.reported_at_ms >= since_ms => fresh.push(s),
                _ => stale.push(node),
            }
        }
        // A node that stopped reporting is gone: its entry goes with it.
        if !stale.is_empty() {
            redis::cmd("HDEL").arg(NODES).arg(stale).query_async::<()>(&mut conn).await.map_err(failed)?;
        }
        fresh.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(fresh)
    }
}

/// This node's ear: one Pub/Sub connection, reopened (and revocations reloaded) after a loss.
struct Subscriber {
    client: redis::Client,
    inbox: Arc<dyn Inbox>,
    channel: Arc<RedisChannel>,
    metrics: Arc<Metrics>,
    timeout: Duration,
}

impl Subscriber {
    async fn open(&self) -> Result<redis::aio::PubSub, ClusterError> {
        let mut pubsub = tokio::time::timeout(self.timeout, self.client.get_async_pubsub())
            .await
            .map_err(|_| failed("redis_url: Redis did not answer in time"))?
            .map_err(failed)?;
        for pattern in ["room.*", "member.*", "aichat.*"] {
            pubsub.psubscribe(pattern).await.map_err(failed)?;
        }
        pubsub.subscribe(REVOKED).await.map_err(failed)?;
        // Subscribed first, then loaded: a revocation in between arrives both ways, harmlessly.
        for (jti, exp) in self.channel.revoked().await? {
            self.inbox.revoked(&jti, exp);
        }
        Ok(pubsub)
    }

    /// Subscribes before the node serves (so it misses nothing), then keeps listening.
    async fn first_subscribe(self, shutdown: CancellationToken) -> Result<(), ClusterError> {
        let pubsub = self.open().await?;
        tokio::spawn(self.run(pubsub, shutdown));
        Ok(())
    }

    async fn run(self, mut pubsub: redis::aio::PubSub, shutdown: CancellationToken) {
        loop {
            {
                let mut messages = pubsub.on_message();
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        msg = messages.next() => match msg {
                            Some(msg) => self.handle(msg.get_channel_name(), msg.get_payload::<String>().ok()),
                            None => break,
                        },
                    }
                }
            }
            tracing::warn!("redis: subscription lost; reconnecting");
            self.metrics.backend_errors.with_label_values(&["redis"]).inc();
            let mut pause = Duration::from_millis(100);
            pubsub = loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                match self.open().await {
                    Ok(p) => break p,
                    Err(e) => tracing::debug!(error = %e, "redis: still unreachable"),
                }
                pause = (pause * 2).min(Duration::from_secs(2));
            };
            tracing::info!("redis: subscribed again");
        }
    }

    fn handle(&self, channel: &str, payload: Option<String>) {
        let Some(payload) = payload else { return };
        if let Some(room) = channel.strip_prefix("room.") {
            if let Some(event) = decode_room(room, &payload) {
                self.inbox.ephemeral(Arc::new(event));
            }
        } else if let Some(member) = channel.strip_prefix("member.") {
            if let Ok(n) = serde_json::from_str::<Notification>(&payload) {
                self.inbox.notify(&MemberId(member.to_owned()), &n);
            }
        } else if let Some(room) = channel.strip_prefix("aichat.") {
            self.ai_frame(room, payload);
        } else if channel == REVOKED
            && let Some((jti, exp)) = payload.split_once(' ')
            && let Ok(exp) = exp.parse()
        {
            self.inbox.revoked(jti, exp);
        }
    }

    /// A frame from the AI service: only the game's ephemeral frames for that room are passed on.
    fn ai_frame(&self, room: &str, payload: String) {
        match serde_json::from_str::<ServerFrame>(&payload) {
            Ok(ServerFrame::GmChunk { turn, index, text, sent_at_us, .. }) => {
                // The channel names the room; a roomId inside the frame cannot send it elsewhere.
                let room_id = RoomId(room.to_owned());
                let frame = ServerFrame::GmChunk { room_id: room_id.clone(), turn, index, text, sent_at_us };
                self.inbox.ephemeral(Arc::new(StoredEvent::ephemeral(room_id, &frame, None)));
            }
            _ => tracing::warn!(room, "aichat: dropped a frame that is not a GM_CHUNK"),
        }
    }
}

//! The game's shared state on Redis: leases (`dt:lease:{key}`, a value with the owner and a PX
//! expiry) and the matching queue (`dt:match:{WORLD}`, a sorted set member → queued at (ms), with
//! `dt:match:{WORLD}:who` member → nickname; `dt:matched:{member}` → "room\tWORLD" for a while).
//! Each decision two nodes could race on is one Lua script.

use std::time::Duration;

use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, RoomId, WorldType};
use redis::Script;
use redis::aio::ConnectionManager;

use super::redis::failed;
use super::{ClusterError, Leases, MatchQueue, Queued};
use crate::model::{Actor, now_ms};

const HOLD: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0";

/// KEYS: each world's zset and who-hash, in `WorldType::ALL` order. ARGV: the world's index (1-based),
/// member, nickname, now ms, max wait ms, party size. Returns {waiting, m1, nick1, m2, nick2, ...}.
const ENQUEUE: &str = r"
local w = tonumber(ARGV[1])
local member, now, max_wait, size = ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
for i = 1, #KEYS, 2 do
  redis.call('ZREM', KEYS[i], member)
  redis.call('HDEL', KEYS[i + 1], member)
end
redis.call('DEL', 'dt:matched:' .. member)
local line, who = KEYS[2 * w - 1], KEYS[2 * w]
for _, m in ipairs(redis.call('ZRANGEBYSCORE', line, '-inf', now - max_wait)) do
  redis.call('HDEL', who, m)
end
redis.call('ZREMRANGEBYSCORE', line, '-inf', now - max_wait)
redis.call('ZADD', line, now, member)
redis.call('HSET', who, member, ARGV[3])
local out = {0}
local n = redis.call('ZCARD', line)
if n >= size then
  local popped = redis.call('ZPOPMIN', line, size)
  for i = 1, #popped, 2 do
    table.insert(out, popped[i])
    table.insert(out, redis.call('HGET', who, popped[i]) or '')
    redis.call('HDEL', who, popped[i])
  end
  n = n - size
end
out[1] = tostring(n)
redis.call('PEXPIRE', line, max_wait)
redis.call('PEXPIRE', who, max_wait)
return out";

/// Leases on Redis: an owner's value with a PX expiry, so a dead owner's lease lapses by itself.
pub struct RedisLeases {
    pub(super) conn: ConnectionManager,
}

#[async_trait]
impl Leases for RedisLeases {
    async fn hold(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, ClusterError> {
        let held: i64 = Script::new(HOLD)
            .key(format!("dt:lease:{key}"))
            .arg(owner)
            .arg(ttl.as_millis() as u64)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(held == 1)
    }

    async fn release(&self, key: &str, owner: &str) -> Result<(), ClusterError> {
        let _: i64 = Script::new(RELEASE)
            .key(format!("dt:lease:{key}"))
            .arg(owner)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(())
    }
}

fn line(w: WorldType) -> String {
    format!("dt:match:{}", w.as_str())
}

fn who(w: WorldType) -> String {
    format!("dt:match:{}:who", w.as_str())
}

/// The matching queue on Redis, shared by every node.
pub struct RedisQueue {
    pub(super) conn: ConnectionManager,
}

#[async_trait]
impl MatchQueue for RedisQueue {
    async fn enqueue(
        &self,
        world: WorldType,
        actor: &Actor,
        size: u32,
        max_wait: Duration,
    ) -> Result<Queued, ClusterError> {
        let script = Script::new(ENQUEUE);
        let mut call = script.prepare_invoke();
        for w in WorldType::ALL {
            call.key(line(w)).key(who(w));
        }
        let index = WorldType::ALL.iter().position(|w| *w == world).expect("every world is listed") + 1;
        call.arg(index).arg(&actor.member_id.0).arg(&actor.nickname).arg(now_ms()).arg(max_wait.as_millis() as u64);
        let out: Vec<redis::Value> = call.arg(size).invoke_async(&mut self.conn.clone()).await.map_err(failed)?;
        let mut values = out.into_iter().map(|v| redis::from_redis_value::<String>(v).unwrap_or_default());
        let waiting = values.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let rest: Vec<String> = values.collect();
        let party = (!rest.is_empty()).then(|| {
            rest.chunks(2)
                .map(|p| Actor { member_id: MemberId(p[0].clone()), nickname: p.get(1).cloned().unwrap_or_default() })
                .collect()
        });
        Ok(Queued { waiting, party })
    }

    async fn dequeue(&self, member: &MemberId) -> Result<bool, ClusterError> {
        let mut pipe = redis::pipe();
        for w in WorldType::ALL {
            pipe.cmd("ZREM").arg(line(w)).arg(&member.0).cmd("HDEL").arg(who(w)).arg(&member.0).ignore();
        }
        let removed: Vec<i64> = pipe.query_async(&mut self.conn.clone()).await.map_err(failed)?;
        Ok(removed.iter().any(|n| *n > 0))
    }

    async fn status(&self, member: &MemberId) -> Result<Option<(WorldType, u32)>, ClusterError> {
        let mut pipe = redis::pipe();
        for w in WorldType::ALL {
            pipe.cmd("ZSCORE").arg(line(w)).arg(&member.0).cmd("ZCARD").arg(line(w));
        }
        let found: Vec<(Option<f64>, u32)> = pipe.query_async(&mut self.conn.clone()).await.map_err(failed)?;
        Ok(WorldType::ALL.into_iter().zip(found).find(|(_, (at, _))| at.is_some()).map(|(w, (_, n))| (w, n)))
    }

    async fn set_matched(
        &self,
        member: &MemberId,
        room: &RoomId,
        world: WorldType,
        ttl: Duration,
    ) -> Result<(), ClusterError> {
        redis::cmd("SET")
            .arg(format!("dt:matched:{member}"))
            .arg(format!("{room}\t{}", world.as_str()))
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(failed)
    }

    async fn matched(&self, member: &MemberId) -> Result<Option<(RoomId, WorldType)>, ClusterError> {
        let value: Option<String> = redis::cmd("GET")
            .arg(format!("dt:matched:{member}"))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(value.and_then(|v| {
            let (room, world) = v.split_once('\t')?;
            let world = WorldType::ALL.into_iter().find(|w| w.as_str() == world)?;
            Some((RoomId(room.to_owned()), world))
        }))
    }
}

//! Presence on Redis. Per room: `dt:pres:{room}:conn`, a sorted set of `node|member` scored by
//! when that node's entry expires (each node renews its own every third of `presence_ttl_secs`),
//! and `:joined` / `:active` hashes (member → nickname, member → last activity in ms). Every
//! change is one Lua script, so two nodes never both see "the last connection" or both admit the
//! member that fills a room. A node that stops renewing is gone once its entries expire: the
//! reaper (any node, atomically) takes its members out, and idle ones after a chat session.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use dungeontalk_app::wire::{MemberId, PresenceMember, PresenceType, RoomId};
use redis::Script;
use redis::aio::ConnectionManager;

use super::redis::{PREFIX, failed};
use super::{ClusterError, Departure, Joined, Presence};
use crate::model::{Actor, now_ms};

const ROOMS: &str = "dt:pres:rooms";

fn key(room: &RoomId, what: &str) -> String {
    format!("{PREFIX}pres:{room}:{what}")
}

/// KEYS: conn, rooms. ARGV: entry, expires, room.
const CONNECT: &str = r"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
return 1";

/// KEYS: conn, joined, active. ARGV: entry, member, now. 1 when that was the member's last live
/// connection anywhere and they were joined (they are out now).
const DISCONNECT: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
local suffix = '|' .. ARGV[2]
for _, e in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf')) do
  if string.sub(e, -#suffix) == suffix then return 0 end
end
redis.call('HDEL', KEYS[3], ARGV[2])
return redis.call('HDEL', KEYS[2], ARGV[2])";

/// KEYS: joined, active. ARGV: member, nickname, capacity, now.
const JOIN: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'already' end
local cap = tonumber(ARGV[3])
if cap > 0 and redis.call('HLEN', KEYS[1]) >= cap then return 'full' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
return 'now'";

/// KEYS: joined, active. ARGV: member, now.
const TOUCH: &str = r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) return 1 end
return 0";

/// KEYS: rooms. ARGV: now, session ms, key prefix. Returns room, member, nickname, why, ...
const EXPIRE: &str = r"
local out = {}
local now, session = tonumber(ARGV[1]), tonumber(ARGV[2])
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local conn = ARGV[3] .. room .. ':conn'
  local joined = ARGV[3] .. room .. ':joined'
  local active = ARGV[3] .. room .. ':active'
  redis.call('ZREMRANGEBYSCORE', conn, '-inf', '(' .. now)
  local live = {}
  for _, e in ipairs(redis.call('ZRANGE', conn, 0, -1)) do live[string.match(e, '|(.*)$')] = true end
  local j = redis.call('HGETALL', joined)
  for i = 1, #j, 2 do
    local m, nick = j[i], j[i + 1]
    local why = nil
    if not live[m] then why = 'LEAVE'
    elseif tonumber(redis.call('HGET', active, m) or '0') + session < now then why = 'SESSION_EXPIRED' end
    if why then
      redis.call('HDEL', joined, m)
      redis.call('HDEL', active, m)
      table.insert(out, room); table.insert(out, m); table.insert(out, nick); table.insert(out, why)
    end
  end
  if redis.call('ZCARD', conn) == 0 and redis.call('HLEN', joined) == 0 then
    redis.call('SREM', KEYS[1], room)
    redis.call('DEL', active)
  end
end
return out";

/// Presence shared by the nodes through Redis; this node remembers its own connections to renew.
pub struct RedisPresence {
    conn: ConnectionManager,
    node: String,
    ttl: Duration,
    /// This node's open connections per (room, member): entries exist while the count is > 0.
    local: Mutex<HashMap<(RoomId, MemberId), u32>>,
    connect: Script,
    disconnect: Script,
    join: Script,
    touch: Script,
    expire: Script,
}

impl RedisPresence {
    /// Presence for this node (`node` names its entries; they expire `ttl` after the last renewal).
    pub fn new(conn: ConnectionManager, node: String, ttl: Duration) -> RedisPresence {
        RedisPresence {
            conn,
            node,
            ttl,
            local: Mutex::new(HashMap::new()),
            connect: Script::new(CONNECT),
            disconnect: Script::new(DISCONNECT),
            join: Script::new(JOIN),
            touch: Script::new(TOUCH),
            expire: Script::new(EXPIRE),
        }
    }

    fn entry(&self, member: &MemberId) -> String {
        format!("{}|{}", self.node, member)
    }

    fn expires(&self) -> u64 {
        now_ms() + self.ttl.as_millis() as u64
    }
}

fn members_of(entries: Vec<String>) -> HashSet<String> {
    entries.into_iter().filter_map(|e| e.split_once('|').map(|(_, m)| m.to_owned())).collect()
}

#[async_trait]
impl Presence for RedisPresence {
    async fn connect(&self, room: &RoomId, actor: &Actor) -> Result<(), ClusterError> {
        let first = {
            let mut local = self.local.lock().expect("presence lock");
            let n = local.entry((room.clone(), actor.member_id.clone())).or_insert(0);
            *n += 1;
            *n == 1
        };
        if first {
            let mut inv = self.connect.prepare_invoke();
            inv.key(key(room, "conn")).key(ROOMS).arg(self.entry(&actor.member_id)).arg(self.expires()).arg(&room.0);
            inv.invoke_async::<i64>(&mut self.conn.clone()).await.map_err(failed)?;
        }
        Ok(())
    }

    async fn disconnect(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError> {
        let last = {
            let mut local = self.local.lock().expect("presence lock");
            let k = (room.clone(), member.clone());
            match local.get_mut(&k) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    local.remove(&k);
                    true
                }
                None => false,
            }
        };
        if !last {
            return Ok(false);
        }
        let mut inv = self.disconnect.prepare_invoke();
        inv.key(key(room, "conn")).key(key(room, "joined")).key(key(room, "active"));
        inv.arg(self.entry(member)).arg(&member.0).arg(now_ms());
        Ok(inv.invoke_async::<i64>(&mut self.conn.clone()).await.map_err(failed)? == 1)
    }

    async fn join(&self, room: &RoomId, actor: &Actor, capacity: u32) -> Result<Joined, ClusterError> {
        let mut inv = self.join.prepare_invoke();
        inv.key(key(room, "joined")).key(key(room, "active"));
        inv.arg(&actor.member_id.0).arg(&actor.nickname).arg(capacity).arg(now_ms());
        Ok(match inv.invoke_async::<String>(&mut self.conn.clone()).await.map_err(failed)?.as_str() {
            "already" => Joined::Already,
            "full" => Joined::Full,
            _ => Joined::Now,
        })
    }

    async fn leave(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError> {
        let (was, _): (i64, i64) = redis::pipe()
            .cmd("HDEL")
            .arg(key(room, "joined"))
            .arg(&member.0)
            .cmd("HDEL")
            .arg(key(room, "active"))
            .arg(&member.0)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        Ok(was == 1)
    }

    async fn touch(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError> {
        let mut inv = self.touch.prepare_invoke();
        inv.key(key(room, "joined")).key(key(room, "active")).arg(&member.0).arg(now_ms());
        Ok(inv.invoke_async::<i64>(&mut self.conn.clone()).await.map_err(failed)? == 1)
    }

    async fn seat(&self, room: &RoomId, member: &MemberId) -> Result<(bool, u32), ClusterError> {
        redis::pipe()
            .cmd("HEXISTS")
            .arg(key(room, "joined"))
            .arg(&member.0)
            .cmd("HLEN")
            .arg(key(room, "joined"))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)
    }

    async fn is_joined(&self, room: &RoomId, member: &MemberId) -> Result<bool, ClusterError> {
        redis::cmd("HEXISTS")
            .arg(key(room, "joined"))
            .arg(&member.0)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)
    }

    async fn snapshot(&self, room: &RoomId) -> Result<(u32, Vec<PresenceMember>), ClusterError> {
        let (entries, joined): (Vec<String>, HashMap<String, String>) = redis::pipe()
            .cmd("ZRANGEBYSCORE")
            .arg(key(room, "conn"))
            .arg(now_ms())
            .arg("+inf")
            .cmd("HGETALL")
            .arg(key(room, "joined"))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        let online = members_of(entries);
        let mut members: Vec<PresenceMember> = joined
            .into_iter()
            .map(|(id, nickname)| PresenceMember {
                status: if online.contains(&id) { "ONLINE" } else { "AWAY" }.to_owned(),
                member_id: MemberId(id),
                nickname,
            })
            .collect();
        members.sort_by(|a, b| a.nickname.cmp(&b.nickname).then(a.member_id.cmp(&b.member_id)));
        Ok((online.len() as u32, members))
    }

    async fn connected_counts(&self, rooms: &[RoomId]) -> Result<Vec<u32>, ClusterError> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let mut pipe = redis::pipe();
        for room in rooms {
            pipe.cmd("ZRANGEBYSCORE").arg(key(room, "conn")).arg(now).arg("+inf");
        }
        let all: Vec<Vec<String>> = pipe.query_async(&mut self.conn.clone()).await.map_err(failed)?;
        Ok(all.into_iter().map(|entries| members_of(entries).len() as u32).collect())
    }

    async fn expire(&self, session: Duration) -> Result<Vec<Departure>, ClusterError> {
        let mut inv = self.expire.prepare_invoke();
        inv.key(ROOMS).arg(now_ms()).arg(session.as_millis() as u64).arg(format!("{PREFIX}pres:"));
        let flat: Vec<String> = inv.invoke_async(&mut self.conn.clone()).await.map_err(failed)?;
        Ok(flat
            .chunks_exact(4)
            .map(|c| Departure {
                room_id: RoomId(c[0].clone()),
                actor: Actor { member_id: MemberId(c[1].clone()), nickname: c[2].clone() },
                why: if c[3] == "LEAVE" { PresenceType::Leave } else { PresenceType::SessionExpired },
            })
            .collect())
    }

    async fn renew(&self) -> Result<(), ClusterError> {
        let mine: Vec<(RoomId, MemberId)> = self.local.lock().expect("presence lock").keys().cloned().collect();
        if mine.is_empty() {
            return Ok(());
        }
        let expires = self.expires();
        let mut pipe = redis::pipe();
        for (room, member) in &mine {
            pipe.cmd("ZADD").arg(key(room, "conn")).arg(expires).arg(self.entry(member)).ignore();
            pipe.cmd("SADD").arg(ROOMS).arg(&room.0).ignore();
        }
        pipe.query_async::<()>(&mut self.conn.clone()).await.map_err(failed)
    }
}

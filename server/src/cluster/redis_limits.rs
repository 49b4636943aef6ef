//! Limits on Redis, counted once for the whole cluster: a token bucket per member
//! (`dt:rate:{member}`, a hash that expires once it would be full again) and failed logins per
//! account name (`dt:login:{name}`, forgotten `login_lock_secs` after the last failure). Each
//! decision is one Lua script, so two nodes never hand out the same token.

use std::time::Duration;

use async_trait::async_trait;
use dungeontalk_app::wire::MemberId;
use redis::Script;
use redis::aio::ConnectionManager;

use super::redis::{PREFIX, failed};
use super::{ClusterError, Kind, Limits};
use crate::config::Settings;
use crate::model::now_ms;

/// KEYS: bucket. ARGV: now ms, per second, burst, cost (1 take, -1 refund).
/// Returns -1 when a token was taken (or given back), else the ms until one is there.
const BUCKET: &str = r"
local now, rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local out = -1
if cost > 0 then
  if tokens >= 1 then tokens = tokens - 1 else out = math.ceil((1 - tokens) / rate * 1000) end
else
  tokens = math.min(burst, tokens + 1)
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return out";

/// KEYS: login record. ARGV: now ms, backoff base ms, lock after, lock ms.
/// Returns {wait ms, locked (0/1)}.
const FAILED: &str = r"
local now, base, after, lock = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0') + 1
local wait, locked = 0, 0
if failures >= after then
  failures, wait, locked = 0, lock, 1
else
  wait = math.min(base * 2 ^ math.min(failures - 1, 16), lock)
end
redis.call('HSET', KEYS[1], 'failures', failures, 'until', now + wait)
redis.call('PEXPIRE', KEYS[1], lock + wait)
return {wait, locked}";

/// Token buckets and login failures on Redis.
pub struct RedisLimits {
    conn: ConnectionManager,
    rates: Box<dyn Fn(Kind) -> super::Rate + Send + Sync>,
    backoff: Duration,
    lock_after: u32,
    lock_for: Duration,
    bucket: Script,
    failed: Script,
}

impl RedisLimits {
    /// Limits with the configured rates.
    pub fn new(conn: ConnectionManager, s: &Settings) -> RedisLimits {
        RedisLimits {
            conn,
            rates: Box::new(super::rates(s)),
            backoff: Duration::from_millis(s.login_backoff_ms),
            lock_after: s.login_lock_after.max(1),
            lock_for: Duration::from_secs(s.login_lock_secs),
            bucket: Script::new(BUCKET),
            failed: Script::new(FAILED),
        }
    }

    async fn bucket(&self, member: &MemberId, kind: Kind, cost: i64) -> Result<i64, ClusterError> {
        let rate = (self.rates)(kind);
        let mut inv = self.bucket.prepare_invoke();
        inv.key(format!("{PREFIX}rate:{}:{member}", kind.name()))
            .arg(now_ms())
            .arg(rate.per_sec)
            .arg(rate.burst)
            .arg(cost);
        inv.invoke_async(&mut self.conn.clone()).await.map_err(failed)
    }
}

fn login_key(name: &str) -> String {
    format!("{PREFIX}login:{name}")
}

#[async_trait]
impl Limits for RedisLimits {
    async fn take(&self, member: &MemberId, kind: Kind) -> Result<Result<(), u64>, ClusterError> {
        Ok(match self.bucket(member, kind, 1).await? {
            wait if wait >= 0 => Err(wait as u64),
            _ => Ok(()),
        })
    }

    async fn refund(&self, member: &MemberId, kind: Kind) -> Result<(), ClusterError> {
        self.bucket(member, kind, -1).await.map(|_| ())
    }

    async fn login_check(&self, name: &str) -> Result<Result<(), Duration>, ClusterError> {
        let until: Option<u64> = redis::cmd("HGET")
            .arg(login_key(name))
            .arg("until")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(failed)?;
        let now = now_ms();
        Ok(match until {
            Some(until) if until > now => Err(Duration::from_millis(until - now)),
            _ => Ok(()),
        })
    }

    async fn login_failed(&self, name: &str) -> Result<(Duration, bool), ClusterError> {
        let mut inv = self.failed.prepare_invoke();
        inv.key(login_key(name))
            .arg(now_ms())
            .arg(self.backoff.as_millis() as u64)
            .arg(self.lock_after)
            .arg(self.lock_for.as_millis() as u64);
        let (wait, locked): (u64, i64) = inv.invoke_async(&mut self.conn.clone()).await.map_err(failed)?;
        Ok((Duration::from_millis(wait), locked == 1))
    }

    async fn login_succeeded(&self, name: &str) -> Result<(), ClusterError> {
        redis::cmd("DEL").arg(login_key(name)).query_async::<i64>(&mut self.conn.clone()).await.map_err(failed)?;
        Ok(())
    }
}

//! Start-time checks: settings that make no sense are refused with the setting named.

use std::path::PathBuf;

use super::Settings;

/// Settings that make no sense, reported at start instead of failing later.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("bad config file {0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("bad config file {0}: {1}")]
    Key(PathBuf, String),
    /// A bad flag or variable (clap's own error, with its usage line).
    #[error("{0}")]
    Args(clap::Error),
    #[error("invalid setting: {0}")]
    Invalid(&'static str),
}

impl Settings {
    /// The first setting that makes no sense, named.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let kafka = self.kafka_brokers.is_some();
        let rates = [
            (self.membership_rate_per_sec, self.membership_burst),
            (self.typing_rate_per_sec, self.typing_burst),
            (self.invite_rate_per_sec, self.invite_burst),
            (self.room_rate_per_sec, self.room_burst),
        ];
        let checks: [(bool, &'static str); 36] = [
            (self.listen_backlog > 0, "listen_backlog must be > 0"),
            (self.max_frame_bytes > 0, "max_frame_bytes must be > 0"),
            (self.ws_max_message_bytes >= self.max_frame_bytes, "ws_max_message_bytes must be >= max_frame_bytes"),
            (self.outgoing_queue_len > 0, "outgoing_queue_len must be > 0"),
            ((1..=1024).contains(&self.notify_queue_len), "notify_queue_len must be 1..=1024"),
            (
                (256..=16384).contains(&self.ws_read_buffer_bytes) && self.ws_pipeline > 0,
                "ws_read_buffer_bytes must be 256..=16384 (a read on the stack), ws_pipeline > 0",
            ),
            (self.replay_page > 0 && self.max_page > 0, "replay_page and max_page must be > 0"),
            (self.write_batch_max > 0 && self.write_queue_len > 0, "write queue sizes must be > 0"),
            (self.guest_token_ttl_secs > 0, "guest_token_ttl_secs must be > 0"),
            (self.read_mark_ttl_days > 0, "read_mark_ttl_days must be > 0"),
            (
                self.store_journal_bytes <= 64 << 20,
                "store_journal_bytes must be <= 67108864: what it holds is also kept in memory",
            ),
            (self.sse_heartbeat_secs > 0, "sse_heartbeat_secs must be > 0"),
            (self.poll_batch_max > 0, "poll_batch_max must be > 0"),
            (self.access_token_ttl_secs > 0 && self.refresh_token_ttl_secs > 0, "token lifetimes must be > 0"),
            (self.login_lock_after > 0, "login_lock_after must be > 0"),
            (self.rate_per_sec > 0.0 && self.rate_burst >= 1.0, "rate_per_sec must be > 0 and rate_burst >= 1"),
            (self.chat_session_secs > 0, "chat_session_secs must be > 0"),
            (self.jwt_secret.as_ref().is_none_or(|s| s.expose().len() >= 32), "jwt_secret must be at least 32 bytes"),
            (
                !kafka || self.mongodb_uri.is_some(),
                "kafka_brokers needs mongodb_uri: nodes sharing a log share a store",
            ),
            (
                kafka || self.mongodb_uri.is_none(),
                "mongodb_uri needs kafka_brokers: without the shared log each node numbers a room's events \
                 itself, and two nodes on one database would give one room two writers",
            ),
            (!kafka || self.redis_url.is_some(), "kafka_brokers needs redis_url: nodes sharing a log share presence"),
            (!kafka || self.jwt_secret.is_some(), "kafka_brokers needs jwt_secret: every node verifies every token"),
            (self.kafka_brokers.as_ref().is_none_or(|b| !b.trim().is_empty()), "kafka_brokers must name a broker"),
            (
                !self.kafka_topic.is_empty() && self.kafka_partitions > 0 && self.kafka_replication > 0,
                "kafka_topic needs a name, partitions > 0 and replication > 0",
            ),
            (!self.node_id.is_empty() && !self.node_id.contains('|'), "node_id must be non-empty, without '|'"),
            (
                self.presence_ttl_secs >= 3 && self.dedupe_window_secs > 0,
                "presence_ttl_secs >= 3, dedupe_window_secs > 0",
            ),
            (self.backend_timeout_ms > 0, "backend_timeout_ms must be > 0"),
            (
                rates.iter().all(|(r, b)| *r > 0.0 && *b >= 1.0),
                "every *_rate_per_sec must be > 0 and every *_burst >= 1",
            ),
            (self.max_connections_per_member > 0 && self.max_connections_per_room > 0, "connection caps must be > 0"),
            (
                self.sockjs_heartbeat_secs > 0
                    && self.sockjs_disconnect_delay_ms > 0
                    && self.sockjs_response_limit_bytes > 0
                    && self.sockjs_max_send_bytes > 0
                    && self.sockjs_max_sessions > 0,
                "sockjs_* settings must be > 0",
            ),
            (
                self.http_header_timeout_secs > 0 && self.ws_ping_secs > 0,
                "http_header_timeout_secs and ws_ping_secs must be > 0",
            ),
            (
                (1..=100).contains(&self.game_turns) && (5..=3600).contains(&self.game_turn_secs),
                "game_turns must be 1..=100 and game_turn_secs 5..=3600",
            ),
            ((1..=5).contains(&self.match_size), "match_size must be 1..=5 (a game seats at most 5)"),
            (
                self.game_lease_ms >= 300
                    && self.gm_timeout_secs > 0
                    && self.match_wait_secs > 0
                    && self.game_idle_secs > 0,
                "game_lease_ms >= 300, gm_timeout_secs, match_wait_secs and game_idle_secs > 0",
            ),
            (
                (100..=8000).contains(&self.gm_max_chars) && (self.gm != super::GmKind::Http || self.gm_url.is_some()),
                "gm_max_chars must be 100..=8000, and gm = http needs gm_url",
            ),
            (
                self.gm_threads <= 64 && (1..=16).contains(&self.gm_contexts),
                "gm_threads must be 0..=64 (0: half the cores) and gm_contexts 1..=16",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err(ConfigError::Invalid(why)),
            None => Ok(()),
        }
    }
}

//! Typed settings, loaded once at start: defaults < `--config` TOML file < `DUNGEONTALK_*` env < flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

mod checks;
mod flags;

pub use checks::ConfigError;
pub use flags::{Cli, Overrides, Secret};

/// The settings in force; see [`Overrides`] for what each field means.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub store_cache_bytes: usize,
    pub store_journal_bytes: u64,
    pub jwt_secret: Option<Secret>,
    pub guest_token_ttl_secs: u64,
    pub read_mark_ttl_days: u64,
    pub max_frame_bytes: usize,
    pub ws_max_message_bytes: usize,
    pub ws_read_buffer_bytes: usize,
    pub ws_write_buffer_bytes: usize,
    pub ws_pipeline: usize,
    pub http_header_timeout_secs: u64,
    pub listen_backlog: u32,
    pub max_content_chars: usize,
    pub outgoing_queue_len: usize,
    pub history_on_join: usize,
    pub replay_page: usize,
    pub max_page: usize,
    pub write_batch_max: usize,
    pub write_queue_len: usize,
    pub write_group_us: u64,
    pub write_group_min: usize,
    pub send_timeout_ms: u64,
    pub default_room_capacity: u32,
    pub sse_heartbeat_secs: u64,
    pub poll_timeout_ms: u64,
    pub poll_batch_max: usize,
    pub poll_linger_ms: u64,
    pub ws_linger_ms: u64,
    pub stomp_heartbeat_ms: u64,
    pub ring_events_per_reader: usize,
    pub ring_min_events: usize,
    pub notify_queue_len: usize,
    pub stomp_max_subscriptions: usize,
    pub sockjs_heartbeat_secs: u64,
    pub sockjs_disconnect_delay_ms: u64,
    pub sockjs_response_limit_bytes: usize,
    pub sockjs_max_send_bytes: usize,
    pub sockjs_max_sessions: usize,
    pub ws_ping_secs: u64,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub refresh_grace_secs: u64,
    pub cookie_secure: bool,
    pub login_backoff_ms: u64,
    pub login_lock_after: u32,
    pub login_queue_max: usize,
    pub login_lock_secs: u64,
    pub rate_per_sec: f64,
    pub rate_burst: f64,
    pub membership_rate_per_sec: f64,
    pub membership_burst: f64,
    pub typing_rate_per_sec: f64,
    pub typing_burst: f64,
    pub invite_rate_per_sec: f64,
    pub invite_burst: f64,
    pub room_rate_per_sec: f64,
    pub room_burst: f64,
    pub max_rooms_per_member: usize,
    pub max_connections_per_member: usize,
    pub max_connections_per_room: usize,
    pub profanity_player: crate::profanity::Mode,
    pub profanity_game: crate::profanity::Mode,
    pub chat_session_secs: u64,
    pub mongodb_uri: Option<Secret>,
    pub kafka_brokers: Option<String>,
    pub kafka_topic: String,
    pub kafka_partitions: i32,
    pub kafka_replication: i32,
    pub kafka_store_group: String,
    pub kafka_store_writer: bool,
    pub redis_url: Option<Secret>,
    pub node_id: String,
    pub presence_ttl_secs: u64,
    pub dedupe_window_secs: u64,
    pub backend_timeout_ms: u64,
    pub gm: GmKind,
    pub gm_model_path: PathBuf,
    pub gm_url: Option<String>,
    pub gm_model: String,
    pub gm_api_key: Option<Secret>,
    pub gm_timeout_secs: u64,
    pub gm_max_chars: usize,
    pub gm_script_pace_ms: u64,
    pub gm_threads: usize,
    pub gm_contexts: usize,
    pub game_turns: u32,
    pub game_turn_secs: u32,
    pub game_lease_ms: u64,
    pub game_idle_secs: u64,
    pub match_size: u32,
    pub match_wait_secs: u64,
    pub log: String,
}

/// Which game master narrates (`gm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GmKind {
    /// `local` when its model file is there, else `script`.
    Auto,
    /// A small model in this process, on CPU (`gm_model_path`).
    Local,
    /// Templates over the game plan: seeded, reproducible.
    Script,
    /// An OpenAI-compatible `/v1/chat/completions` server (`gm_url`, `gm_model`, `gm_api_key`).
    Http,
}

/// Where the set-up commands put the game master's model: `~/.cache/dungeontalk-tools/models/`.
fn default_model_path() -> PathBuf {
    let tools = std::env::var_os("DUNGEONTALK_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from).join(".cache/dungeontalk-tools")
    });
    tools.join("models/smollm2-135m-instruct-q4_1.gguf")
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            store_cache_bytes: 64 * 1024 * 1024,
            store_journal_bytes: 4 * 1024 * 1024,
            jwt_secret: None,
            guest_token_ttl_secs: 86_400,
            read_mark_ttl_days: 90,
            max_frame_bytes: 128 * 1024,
            ws_max_message_bytes: 1024 * 1024,
            ws_read_buffer_bytes: 4096,
            ws_write_buffer_bytes: 4096,
            ws_pipeline: 32,
            http_header_timeout_secs: 10,
            listen_backlog: 4096,
            max_content_chars: 2000,
            outgoing_queue_len: 1024,
            history_on_join: 50,
            replay_page: 500,
            max_page: 200,
            write_batch_max: 256,
            write_queue_len: 4096,
            write_group_us: 1000,
            write_group_min: 16,
            send_timeout_ms: 20_000,
            default_room_capacity: 3,
            sse_heartbeat_secs: 15,
            poll_timeout_ms: 30_000,
            poll_batch_max: 500,
            poll_linger_ms: 15_000,
            ws_linger_ms: 5_000,
            stomp_heartbeat_ms: 30_000,
            ring_events_per_reader: 64,
            ring_min_events: 256,
            notify_queue_len: 16,
            stomp_max_subscriptions: 32,
            sockjs_heartbeat_secs: 30,
            sockjs_disconnect_delay_ms: 5_000,
            sockjs_response_limit_bytes: 128 * 1024,
            sockjs_max_send_bytes: 256 * 1024,
            sockjs_max_sessions: 10_000,
            ws_ping_secs: 25,
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 14 * 86_400,
            refresh_grace_secs: 10,
            cookie_secure: false,
            login_backoff_ms: 1000,
            login_lock_after: 5,
            login_queue_max: 64,
            login_lock_secs: 600,
            rate_per_sec: 5.0,
            rate_burst: 10.0,
            membership_rate_per_sec: 1.0,
            membership_burst: 5.0,
            typing_rate_per_sec: 1.0,
            typing_burst: 3.0,
            invite_rate_per_sec: 0.2,
            invite_burst: 5.0,
            room_rate_per_sec: 0.1,
            room_burst: 5.0,
            max_rooms_per_member: 50,
            max_connections_per_member: 20,
            max_connections_per_room: 10000,
            profanity_player: crate::profanity::Mode::Filter,
            profanity_game: crate::profanity::Mode::Filter,
            chat_session_secs: 1800,
            mongodb_uri: None,
            kafka_brokers: None,
            kafka_topic: "chat-messages".into(),
            kafka_partitions: 8,
            kafka_replication: 1,
            kafka_store_group: "dungeontalk-store".into(),
            kafka_store_writer: true,
            redis_url: None,
            node_id: format!("node-{}", &uuid::Uuid::now_v7().simple().to_string()[24..]),
            presence_ttl_secs: 15,
            dedupe_window_secs: 120,
            backend_timeout_ms: 5000,
            gm: GmKind::Auto,
            gm_model_path: default_model_path(),
            gm_url: None,
            gm_model: "default".into(),
            gm_api_key: None,
            gm_timeout_secs: 30,
            gm_max_chars: 1200,
            gm_script_pace_ms: 40,
            gm_threads: 0,
            gm_contexts: 2,
            game_turns: 10,
            game_turn_secs: 90,
            game_lease_ms: 5000,
            game_idle_secs: 3600,
            match_size: 3,
            match_wait_secs: 600,
            log: "info".into(),
        }
    }
}

impl Settings {
    /// The backends in use by role: store (`embedded`/`mongodb`), log (`local`/`kafka`) and
    /// shared state (`local`/`redis`).
    pub fn backends(&self) -> [(&'static str, &'static str); 3] {
        [
            ("store", if self.mongodb_uri.is_some() { "mongodb" } else { "embedded" }),
            ("log", if self.kafka_brokers.is_some() { "kafka" } else { "local" }),
            ("shared", if self.redis_url.is_some() { "redis" } else { "local" }),
        ]
    }

    /// Loads the layers for a parsed command line (flags and env are already merged by clap).
    pub fn load(cli: Cli) -> Result<Settings, ConfigError> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => Overrides::default(),
        };
        let settings = Settings::default().apply(file).apply(cli.overrides);
        settings.validate()?;
        Ok(settings)
    }

    /// This layer's values win over the current ones.
    pub fn apply(mut self, o: Overrides) -> Settings {
        macro_rules! take {
            ($($field:ident),*) => { $( if let Some(v) = o.$field { self.$field = v; } )* };
        }
        take!(
            bind,
            data_dir,
            store_cache_bytes,
            store_journal_bytes,
            guest_token_ttl_secs,
            read_mark_ttl_days,
            max_frame_bytes,
            ws_max_message_bytes,
            ws_read_buffer_bytes,
            ws_write_buffer_bytes,
            ws_pipeline,
            http_header_timeout_secs,
            listen_backlog,
            max_content_chars,
            outgoing_queue_len,
            history_on_join,
            replay_page,
            max_page,
            write_batch_max,
            write_queue_len,
            write_group_us,
            write_group_min,
            send_timeout_ms,
            default_room_capacity,
            sse_heartbeat_secs,
            poll_timeout_ms,
            poll_batch_max,
            poll_linger_ms,
            ws_linger_ms,
            stomp_heartbeat_ms,
            ring_events_per_reader,
            ring_min_events,
            notify_queue_len,
            stomp_max_subscriptions,
            sockjs_heartbeat_secs,
            sockjs_disconnect_delay_ms,
            sockjs_response_limit_bytes,
            sockjs_max_send_bytes,
            sockjs_max_sessions,
            ws_ping_secs,
            access_token_ttl_secs,
            refresh_token_ttl_secs,
            refresh_grace_secs,
            cookie_secure,
            login_backoff_ms,
            login_lock_after,
            login_queue_max,
            login_lock_secs,
            rate_per_sec,
            rate_burst,
            membership_rate_per_sec,
            membership_burst,
            typing_rate_per_sec,
            typing_burst,
            invite_rate_per_sec,
            invite_burst,
            room_rate_per_sec,
            room_burst,
            max_rooms_per_member,
            max_connections_per_member,
            max_connections_per_room,
            profanity_player,
            profanity_game,
            chat_session_secs,
            kafka_topic,
            kafka_partitions,
            kafka_replication,
            kafka_store_group,
            kafka_store_writer,
            node_id,
            presence_ttl_secs,
            dedupe_window_secs,
            backend_timeout_ms,
            gm,
            gm_model_path,
            gm_model,
            gm_timeout_secs,
            gm_max_chars,
            gm_script_pace_ms,
            gm_threads,
            gm_contexts,
            game_turns,
            game_turn_secs,
            game_lease_ms,
            game_idle_secs,
            match_size,
            match_wait_secs,
            log
        );
        if o.gm_url.is_some() {
            self.gm_url = o.gm_url;
        }
        if o.gm_api_key.is_some() {
            self.gm_api_key = o.gm_api_key;
        }
        if o.jwt_secret.is_some() {
            self.jwt_secret = o.jwt_secret;
        }
        if o.mongodb_uri.is_some() {
            self.mongodb_uri = o.mongodb_uri;
        }
        if o.kafka_brokers.is_some() {
            self.kafka_brokers = o.kafka_brokers;
        }
        if o.redis_url.is_some() {
            self.redis_url = o.redis_url;
        }
        self
    }
}

fn read_file(path: &Path) -> Result<Overrides, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse(path.into(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        let file: Overrides = toml::from_str("bind = \"127.0.0.1:9000\"\nhistory_on_join = 5").unwrap();
        let flags = Overrides { bind: Some("127.0.0.1:9100".parse().unwrap()), ..Default::default() };
        let s = Settings::default().apply(file).apply(flags);
        assert_eq!(s.bind.port(), 9100, "flags win over the file");
        assert_eq!(s.history_on_join, 5, "the file wins over defaults");
        assert_eq!(s.max_frame_bytes, 131072, "defaults stay where nothing is set");
    }

    #[test]
    fn unknown_keys_and_nonsense_are_refused() {
        assert!(toml::from_str::<Overrides>("bnid = \"x\"").is_err());
        let bad = Settings { max_frame_bytes: 0, ..Settings::default() };
        assert!(bad.validate().is_err());
        let short = Settings { jwt_secret: Some(Secret("short".into())), ..Settings::default() };
        assert!(short.validate().is_err());
        let huge = Settings { store_journal_bytes: 128 << 20, ..Settings::default() };
        assert!(huge.validate().is_err(), "what the journal holds is in memory too: it stays small");
        let read = Settings { ws_read_buffer_bytes: 32 * 1024, ..Settings::default() };
        assert!(read.validate().is_err(), "a WebSocket read is on the stack: it stays small");
        let backlog = Settings { listen_backlog: 0, ..Settings::default() };
        assert!(backlog.validate().is_err());
        let notify = Settings { notify_queue_len: 0, ..Settings::default() };
        assert!(notify.validate().is_err(), "a notification channel needs a slot");
        let notify = Settings { notify_queue_len: 4096, ..Settings::default() };
        assert!(notify.validate().is_err(), "every member with a stream holds every slot");
        // MongoDB with the embedded log: a second node on the database would be a second writer.
        let mongo = Settings { mongodb_uri: Some(Secret("mongodb://db/dt".into())), ..Settings::default() };
        assert!(mongo.validate().is_err(), "a shared store needs the shared log");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings { jwt_secret: Some(Secret("x".repeat(40))), ..Settings::default() };
        assert!(!format!("{s:?}").contains("xxxx"));
    }
}

//! Typed settings, loaded once at start: defaults < `--config` TOML file < `DUNGEONTALK_*` env < flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

/// A secret that never prints.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret's bytes, for the code that must use them.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The secret as text (a URI with a password, say), for the code that must use it.
    pub fn expose_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// The command line. Every setting is also an env var and a key of the `--config` TOML file.
#[derive(Debug, Parser)]
#[command(name = "dungeontalk", version, about = "DungeonTalk: real-time chat for an AI-narrated dungeon game")]
pub struct Cli {
    /// A TOML file with any of the settings below (keys as the flags, with `_` for `-`).
    #[arg(long, env = "DUNGEONTALK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
}

/// Settings as given by one layer; `None` means "not set here".
#[derive(Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free port.
    #[arg(long, env = "DUNGEONTALK_BIND", value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,
    /// Folder for the embedded store and the generated JWT secret [default: ./data].
    #[arg(long, env = "DUNGEONTALK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// HS256 secret for access tokens [default: random, kept in DATA_DIR/jwt-secret].
    #[arg(long, env = "DUNGEONTALK_JWT_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Lifetime of a guest's access token in seconds [default: 86400].
    #[arg(long, env = "DUNGEONTALK_GUEST_TOKEN_TTL_SECS", value_name = "SECS")]
    pub guest_token_ttl_secs: Option<u64>,
    /// Largest client frame accepted; bigger ones get a `chat.frame_too_large` error [default: 131072].
    #[arg(long, env = "DUNGEONTALK_MAX_FRAME_BYTES", value_name = "BYTES")]
    pub max_frame_bytes: Option<usize>,
    /// Largest WebSocket message read at all; bigger ones close the socket (1009) [default: 1048576].
    #[arg(long, env = "DUNGEONTALK_WS_MAX_MESSAGE_BYTES", value_name = "BYTES")]
    pub ws_max_message_bytes: Option<usize>,
    /// Bytes a WebSocket reads from its socket at a time (chat frames are small) [default: 4096].
    #[arg(long, env = "DUNGEONTALK_WS_READ_BUFFER_BYTES", value_name = "BYTES")]
    pub ws_read_buffer_bytes: Option<usize>,
    /// Bytes of frames a WebSocket gathers before it writes them out (a flush writes at once);
    /// the buffer stays allocated, so it is kept small [default: 4096].
    #[arg(long, env = "DUNGEONTALK_WS_WRITE_BUFFER_BYTES", value_name = "BYTES")]
    pub ws_write_buffer_bytes: Option<usize>,
    /// TALKs of one WebSocket being committed at once; its next frames are read meanwhile
    /// [default: 32].
    #[arg(long, env = "DUNGEONTALK_WS_PIPELINE", value_name = "FRAMES")]
    pub ws_pipeline: Option<usize>,
    /// A request's headers must arrive within this many seconds, and an idle keep-alive
    /// connection is closed after it (slow or silent clients cannot hold connections)
    /// [default: 10].
    #[arg(long, env = "DUNGEONTALK_HTTP_HEADER_TIMEOUT_SECS", value_name = "SECS")]
    pub http_header_timeout_secs: Option<u64>,
    /// Longest message content in characters [default: 2000].
    #[arg(long, env = "DUNGEONTALK_MAX_CONTENT_CHARS", value_name = "CHARS")]
    pub max_content_chars: Option<usize>,
    /// Room events a connection may fall behind before it is told to RESYNC [default: 1024].
    #[arg(long, env = "DUNGEONTALK_OUTGOING_QUEUE_LEN", value_name = "EVENTS")]
    pub outgoing_queue_len: Option<usize>,
    /// Recent events sent on join when the client gives no `after` [default: 50].
    #[arg(long, env = "DUNGEONTALK_HISTORY_ON_JOIN", value_name = "EVENTS")]
    pub history_on_join: Option<usize>,
    /// Events read from the store per page while a client resumes [default: 500].
    #[arg(long, env = "DUNGEONTALK_REPLAY_PAGE", value_name = "EVENTS")]
    pub replay_page: Option<usize>,
    /// Largest page `GET …/messages` returns [default: 200].
    #[arg(long, env = "DUNGEONTALK_MAX_PAGE", value_name = "EVENTS")]
    pub max_page: Option<usize>,
    /// Most appends committed in one store transaction [default: 256].
    #[arg(long, env = "DUNGEONTALK_WRITE_BATCH_MAX", value_name = "EVENTS")]
    pub write_batch_max: Option<usize>,
    /// Under load (several appends waiting), how long a commit waits for more to join it, in
    /// microseconds: fewer fsyncs per message, at most this much more latency [default: 1000].
    #[arg(long, env = "DUNGEONTALK_WRITE_GROUP_US", value_name = "US")]
    pub write_group_us: Option<u64>,
    /// Appends waiting for the store before senders wait too [default: 4096].
    #[arg(long, env = "DUNGEONTALK_WRITE_QUEUE_LEN", value_name = "EVENTS")]
    pub write_queue_len: Option<usize>,
    /// A send to one client taking longer than this closes that connection [default: 20000].
    #[arg(long, env = "DUNGEONTALK_SEND_TIMEOUT_MS", value_name = "MS")]
    pub send_timeout_ms: Option<u64>,
    /// Capacity of a new room when the creator gives none; 0 means unlimited [default: 3].
    #[arg(long, env = "DUNGEONTALK_DEFAULT_ROOM_CAPACITY", value_name = "N")]
    pub default_room_capacity: Option<u32>,
    /// Seconds between SSE heartbeat comments, so proxies keep idle streams open [default: 15].
    #[arg(long, env = "DUNGEONTALK_SSE_HEARTBEAT_SECS", value_name = "SECS")]
    pub sse_heartbeat_secs: Option<u64>,
    /// Longest a long poll waits for events before answering an empty batch [default: 30000].
    #[arg(long, env = "DUNGEONTALK_POLL_TIMEOUT_MS", value_name = "MS")]
    pub poll_timeout_ms: Option<u64>,
    /// Most events one long-poll answer carries [default: 500].
    #[arg(long, env = "DUNGEONTALK_POLL_BATCH_MAX", value_name = "EVENTS")]
    pub poll_batch_max: Option<usize>,
    /// A long-poll or POST client stays "connected" this long after its last request [default: 15000].
    #[arg(long, env = "DUNGEONTALK_POLL_LINGER_MS", value_name = "MS")]
    pub poll_linger_ms: Option<u64>,
    /// Seconds between the server's pings on a WebSocket (below common 60 s proxy idle timeouts);
    /// a socket that answers nothing for two of them is closed [default: 25].
    #[arg(long, env = "DUNGEONTALK_WS_PING_SECS", value_name = "SECS")]
    pub ws_ping_secs: Option<u64>,
    /// A closed WebSocket's member stays "connected" this long, so a quick reconnect is no
    /// LEAVE and JOIN [default: 5000].
    #[arg(long, env = "DUNGEONTALK_WS_LINGER_MS", value_name = "MS")]
    pub ws_linger_ms: Option<u64>,
    /// Lifetime of a registered member's access token in seconds [default: 900].
    #[arg(long, env = "DUNGEONTALK_ACCESS_TOKEN_TTL_SECS", value_name = "SECS")]
    pub access_token_ttl_secs: Option<u64>,
    /// Lifetime of a refresh token (the login's cookie) in seconds [default: 1209600].
    #[arg(long, env = "DUNGEONTALK_REFRESH_TOKEN_TTL_SECS", value_name = "SECS")]
    pub refresh_token_ttl_secs: Option<u64>,
    /// Wait after the first failed login; it doubles with each further failure [default: 1000].
    #[arg(long, env = "DUNGEONTALK_LOGIN_BACKOFF_MS", value_name = "MS")]
    pub login_backoff_ms: Option<u64>,
    /// Password checks waiting for a free core before more sign-ins are refused (503) [default: 64].
    #[arg(long, env = "DUNGEONTALK_LOGIN_QUEUE_MAX", value_name = "N")]
    pub login_queue_max: Option<usize>,
    /// Failed logins in a row that lock the account [default: 5].
    #[arg(long, env = "DUNGEONTALK_LOGIN_LOCK_AFTER", value_name = "N")]
    pub login_lock_after: Option<u32>,
    /// How long a locked account stays locked, in seconds [default: 600].
    #[arg(long, env = "DUNGEONTALK_LOGIN_LOCK_SECS", value_name = "SECS")]
    pub login_lock_secs: Option<u64>,
    /// Messages per second a member may send on average (token bucket refill) [default: 5].
    #[arg(long, env = "DUNGEONTALK_RATE_PER_SEC", value_name = "N")]
    pub rate_per_sec: Option<f64>,
    /// Messages a member may send in a burst (token bucket size) [default: 10].
    #[arg(long, env = "DUNGEONTALK_RATE_BURST", value_name = "N")]
    pub rate_burst: Option<f64>,
    /// JOIN and LEAVE a member may send per second on average [default: 1].
    #[arg(long, env = "DUNGEONTALK_MEMBERSHIP_RATE_PER_SEC", value_name = "N")]
    pub membership_rate_per_sec: Option<f64>,
    /// JOIN and LEAVE a member may send in a burst [default: 5].
    #[arg(long, env = "DUNGEONTALK_MEMBERSHIP_BURST", value_name = "N")]
    pub membership_burst: Option<f64>,
    /// Typing frames a member may send per second on average [default: 1].
    #[arg(long, env = "DUNGEONTALK_TYPING_RATE_PER_SEC", value_name = "N")]
    pub typing_rate_per_sec: Option<f64>,
    /// Typing frames a member may send in a burst [default: 3].
    #[arg(long, env = "DUNGEONTALK_TYPING_BURST", value_name = "N")]
    pub typing_burst: Option<f64>,
    /// Invitations a member may send per second on average [default: 0.2].
    #[arg(long, env = "DUNGEONTALK_INVITE_RATE_PER_SEC", value_name = "N")]
    pub invite_rate_per_sec: Option<f64>,
    /// Invitations a member may send in a burst [default: 5].
    #[arg(long, env = "DUNGEONTALK_INVITE_BURST", value_name = "N")]
    pub invite_burst: Option<f64>,
    /// Rooms a member may create per second on average [default: 0.1].
    #[arg(long, env = "DUNGEONTALK_ROOM_RATE_PER_SEC", value_name = "N")]
    pub room_rate_per_sec: Option<f64>,
    /// Rooms a member may create in a burst [default: 5].
    #[arg(long, env = "DUNGEONTALK_ROOM_BURST", value_name = "N")]
    pub room_burst: Option<f64>,
    /// Rooms one member may have created in all [default: 50].
    #[arg(long, env = "DUNGEONTALK_MAX_ROOMS_PER_MEMBER", value_name = "N")]
    pub max_rooms_per_member: Option<usize>,
    /// Open connections (sockets, streams, parked polls) one member may hold on a node [default: 20].
    #[arg(long, env = "DUNGEONTALK_MAX_CONNECTIONS_PER_MEMBER", value_name = "N")]
    pub max_connections_per_member: Option<usize>,
    /// Open connections to one room on a node [default: 10000].
    #[arg(long, env = "DUNGEONTALK_MAX_CONNECTIONS_PER_ROOM", value_name = "N")]
    pub max_connections_per_room: Option<usize>,
    /// Profanity filter in player rooms: block, filter (mask as ***) or warn [default: filter].
    #[arg(long, env = "DUNGEONTALK_PROFANITY_PLAYER", value_name = "MODE")]
    pub profanity_player: Option<crate::profanity::Mode>,
    /// Profanity filter in game (AI) rooms: block, filter or warn [default: filter].
    #[arg(long, env = "DUNGEONTALK_PROFANITY_GAME", value_name = "MODE")]
    pub profanity_game: Option<crate::profanity::Mode>,
    /// A joined member with no message or heartbeat for this long leaves (SESSION_EXPIRED) [default: 1800].
    #[arg(long, env = "DUNGEONTALK_CHAT_SESSION_SECS", value_name = "SECS")]
    pub chat_session_secs: Option<u64>,
    /// MongoDB as the store, e.g. mongodb://HOST:PORT/DB [default: the embedded store in DATA_DIR].
    #[arg(long, env = "DUNGEONTALK_MONGODB_URI", value_name = "URI", hide_env_values = true)]
    pub mongodb_uri: Option<Secret>,
    /// Kafka brokers as the room log, HOST:PORT[,HOST:PORT] (needs mongodb_uri and redis_url)
    /// [default: the embedded log].
    #[arg(long, env = "DUNGEONTALK_KAFKA_BROKERS", value_name = "HOSTS")]
    pub kafka_brokers: Option<String>,
    /// The Kafka topic of room events (key = roomId) [default: chat-messages].
    #[arg(long, env = "DUNGEONTALK_KAFKA_TOPIC", value_name = "TOPIC")]
    pub kafka_topic: Option<String>,
    /// Partitions of the topic when this node creates it [default: 8].
    #[arg(long, env = "DUNGEONTALK_KAFKA_PARTITIONS", value_name = "N")]
    pub kafka_partitions: Option<i32>,
    /// Replicas of each partition when this node creates the topic (3 on a real cluster) [default: 1].
    #[arg(long, env = "DUNGEONTALK_KAFKA_REPLICATION", value_name = "N")]
    pub kafka_replication: Option<i32>,
    /// The consumer group, shared by all nodes, that writes the topic to the store
    /// [default: dungeontalk-store].
    #[arg(long, env = "DUNGEONTALK_KAFKA_STORE_GROUP", value_name = "GROUP")]
    pub kafka_store_group: Option<String>,
    /// Redis for presence, revocations, limits and the aichat.{roomId} channels, e.g.
    /// redis://HOST:PORT [default: in process memory].
    #[arg(long, env = "DUNGEONTALK_REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,
    /// This node's name in the cluster (presence entries, logs) [default: random at start].
    #[arg(long, env = "DUNGEONTALK_NODE_ID", value_name = "NAME")]
    pub node_id: Option<String>,
    /// A node that stops renewing its connections for this long is gone: its members leave
    /// [default: 15].
    #[arg(long, env = "DUNGEONTALK_PRESENCE_TTL_SECS", value_name = "SECS")]
    pub presence_ttl_secs: Option<u64>,
    /// How long a TALK's messageId is remembered by every node to drop a retry sent through
    /// another node [default: 120].
    #[arg(long, env = "DUNGEONTALK_DEDUPE_WINDOW_SECS", value_name = "SECS")]
    pub dedupe_window_secs: Option<u64>,
    /// Longest wait for one call to a backend (store, log, shared state) before it counts as
    /// failed [default: 5000].
    #[arg(long, env = "DUNGEONTALK_BACKEND_TIMEOUT_MS", value_name = "MS")]
    pub backend_timeout_ms: Option<u64>,
    /// Log filter in `tracing` syntax; RUST_LOG wins when set [default: info].
    #[arg(long, env = "DUNGEONTALK_LOG", value_name = "FILTER")]
    pub log: Option<String>,
}

/// The settings in force; see [`Overrides`] for what each field means.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub jwt_secret: Option<Secret>,
    pub guest_token_ttl_secs: u64,
    pub max_frame_bytes: usize,
    pub ws_max_message_bytes: usize,
    pub ws_read_buffer_bytes: usize,
    pub ws_write_buffer_bytes: usize,
    pub ws_pipeline: usize,
    pub http_header_timeout_secs: u64,
    pub max_content_chars: usize,
    pub outgoing_queue_len: usize,
    pub history_on_join: usize,
    pub replay_page: usize,
    pub max_page: usize,
    pub write_batch_max: usize,
    pub write_queue_len: usize,
    pub write_group_us: u64,
    pub send_timeout_ms: u64,
    pub default_room_capacity: u32,
    pub sse_heartbeat_secs: u64,
    pub poll_timeout_ms: u64,
    pub poll_batch_max: usize,
    pub poll_linger_ms: u64,
    pub ws_linger_ms: u64,
    pub ws_ping_secs: u64,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
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
    pub redis_url: Option<Secret>,
    pub node_id: String,
    pub presence_ttl_secs: u64,
    pub dedupe_window_secs: u64,
    pub backend_timeout_ms: u64,
    pub log: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            jwt_secret: None,
            guest_token_ttl_secs: 86_400,
            max_frame_bytes: 128 * 1024,
            ws_max_message_bytes: 1024 * 1024,
            ws_read_buffer_bytes: 4096,
            ws_write_buffer_bytes: 4096,
            ws_pipeline: 32,
            http_header_timeout_secs: 10,
            max_content_chars: 2000,
            outgoing_queue_len: 1024,
            history_on_join: 50,
            replay_page: 500,
            max_page: 200,
            write_batch_max: 256,
            write_queue_len: 4096,
            write_group_us: 1000,
            send_timeout_ms: 20_000,
            default_room_capacity: 3,
            sse_heartbeat_secs: 15,
            poll_timeout_ms: 30_000,
            poll_batch_max: 500,
            poll_linger_ms: 15_000,
            ws_linger_ms: 5_000,
            ws_ping_secs: 25,
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 14 * 86_400,
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
            redis_url: None,
            node_id: format!("node-{}", &uuid::Uuid::now_v7().simple().to_string()[24..]),
            presence_ttl_secs: 15,
            dedupe_window_secs: 120,
            backend_timeout_ms: 5000,
            log: "info".into(),
        }
    }
}

/// Settings that make no sense, reported at start instead of failing later.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("bad config file {0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("invalid setting: {0}")]
    Invalid(&'static str),
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
            guest_token_ttl_secs,
            max_frame_bytes,
            ws_max_message_bytes,
            ws_read_buffer_bytes,
            ws_write_buffer_bytes,
            ws_pipeline,
            http_header_timeout_secs,
            max_content_chars,
            outgoing_queue_len,
            history_on_join,
            replay_page,
            max_page,
            write_batch_max,
            write_queue_len,
            write_group_us,
            send_timeout_ms,
            default_room_capacity,
            sse_heartbeat_secs,
            poll_timeout_ms,
            poll_batch_max,
            poll_linger_ms,
            ws_linger_ms,
            ws_ping_secs,
            access_token_ttl_secs,
            refresh_token_ttl_secs,
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
            node_id,
            presence_ttl_secs,
            dedupe_window_secs,
            backend_timeout_ms,
            log
        );
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

    fn validate(&self) -> Result<(), ConfigError> {
        let kafka = self.kafka_brokers.is_some();
        let rates = [
            (self.membership_rate_per_sec, self.membership_burst),
            (self.typing_rate_per_sec, self.typing_burst),
            (self.invite_rate_per_sec, self.invite_burst),
            (self.room_rate_per_sec, self.room_burst),
        ];
        let checks: [(bool, &'static str); 25] = [
            (self.max_frame_bytes > 0, "max_frame_bytes must be > 0"),
            (self.ws_max_message_bytes >= self.max_frame_bytes, "ws_max_message_bytes must be >= max_frame_bytes"),
            (self.outgoing_queue_len > 0, "outgoing_queue_len must be > 0"),
            (self.ws_read_buffer_bytes >= 256 && self.ws_pipeline > 0, "ws_read_buffer_bytes >= 256, ws_pipeline > 0"),
            (self.replay_page > 0 && self.max_page > 0, "replay_page and max_page must be > 0"),
            (self.write_batch_max > 0 && self.write_queue_len > 0, "write queue sizes must be > 0"),
            (self.guest_token_ttl_secs > 0, "guest_token_ttl_secs must be > 0"),
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
                self.http_header_timeout_secs > 0 && self.ws_ping_secs > 0,
                "http_header_timeout_secs and ws_ping_secs must be > 0",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, why)) => Err(ConfigError::Invalid(why)),
            None => Ok(()),
        }
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
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings { jwt_secret: Some(Secret("x".repeat(40))), ..Settings::default() };
        assert!(!format!("{s:?}").contains("xxxx"));
    }
}

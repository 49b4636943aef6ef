//! Every setting, spelled once: its doc comment is its `--help` text, clap's derive gives it its
//! flag, its `DUNGEONTALK_*` variable and its default, and serde its key in the `--config` file.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::ArgAction;
use serde::{Deserialize, Serialize};

use super::GmKind;
use crate::profanity::Mode;

/// A secret that never prints.
#[derive(Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(pub(super) String);

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

/// A node name no other node has: `node-` and the random end of a UUIDv7.
fn random_node_id() -> String {
    format!("node-{}", &uuid::Uuid::now_v7().simple().to_string()[24..])
}

/// Where the set-up commands put the game master's model: `~/.cache/dungeontalk-tools/models/`.
fn default_model_path() -> PathBuf {
    let tools = std::env::var_os("DUNGEONTALK_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from).join(".cache/dungeontalk-tools")
    });
    tools.join("models/smollm2-135m-instruct-q4_1.gguf")
}

/// The settings in force. Layers, each over the one before: these defaults, the `--config` TOML
/// file (keys as the flags, with `_` for `-`), `DUNGEONTALK_*` variables, flags.
#[derive(Clone, Debug, clap::Args, Deserialize, Serialize)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "DUNGEONTALK_BIND", value_name = "ADDR:PORT")]
    #[arg(default_value_t = SocketAddr::from(([127, 0, 0, 1], 8080)))]
    pub bind: SocketAddr,
    /// Folder for the embedded store and the generated JWT secret.
    #[arg(long, env = "DUNGEONTALK_DATA_DIR", value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Most memory the embedded store keeps for cached pages, in bytes.
    #[arg(long, env = "DUNGEONTALK_STORE_CACHE_BYTES", value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub store_cache_bytes: usize,
    /// The embedded store's write-ahead journal: room events are made durable there and kept in
    /// memory, and written into the store in bulk every this many journaled bytes (0: no
    /// journal, every commit durable; at most 64 MiB).
    #[arg(long, env = "DUNGEONTALK_STORE_JOURNAL_BYTES", value_name = "BYTES", default_value_t = 4 * 1024 * 1024)]
    pub store_journal_bytes: u64,
    /// HS256 secret for access tokens [default: random, kept in DATA_DIR/jwt-secret].
    #[arg(long, env = "DUNGEONTALK_JWT_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Lifetime of a guest's access token in seconds.
    #[arg(long, env = "DUNGEONTALK_GUEST_TOKEN_TTL_SECS", value_name = "SECS", default_value_t = 86_400)]
    pub guest_token_ttl_secs: u64,
    /// Days a member's read mark in a room is kept after it last moved.
    #[arg(long, env = "DUNGEONTALK_READ_MARK_TTL_DAYS", value_name = "DAYS", default_value_t = 90)]
    pub read_mark_ttl_days: u64,
    /// Largest client frame accepted; bigger ones get a `chat.frame_too_large` error.
    #[arg(long, env = "DUNGEONTALK_MAX_FRAME_BYTES", value_name = "BYTES", default_value_t = 128 * 1024)]
    pub max_frame_bytes: usize,
    /// Largest WebSocket message read at all; bigger ones close the socket (1009).
    #[arg(long, env = "DUNGEONTALK_WS_MAX_MESSAGE_BYTES", value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub ws_max_message_bytes: usize,
    /// Bytes a WebSocket reads from its socket at a time, into the stack: nothing is kept per
    /// socket between reads; 256 to 16384.
    #[arg(long, env = "DUNGEONTALK_WS_READ_BUFFER_BYTES", value_name = "BYTES", default_value_t = 4096)]
    pub ws_read_buffer_bytes: usize,
    /// Bytes of frames a WebSocket queues before it writes them out (a flush writes at once);
    /// queued frames share their payloads, nothing is copied or kept.
    #[arg(long, env = "DUNGEONTALK_WS_WRITE_BUFFER_BYTES", value_name = "BYTES", default_value_t = 4096)]
    pub ws_write_buffer_bytes: usize,
    /// TALKs of one WebSocket being committed at once; its next frames are read meanwhile
    ///.
    #[arg(long, env = "DUNGEONTALK_WS_PIPELINE", value_name = "FRAMES", default_value_t = 32)]
    pub ws_pipeline: usize,
    /// A request's headers must arrive within this many seconds, and an idle keep-alive
    /// connection is closed after it (slow or silent clients cannot hold connections)
    ///.
    #[arg(long, env = "DUNGEONTALK_HTTP_HEADER_TIMEOUT_SECS", value_name = "SECS", default_value_t = 10)]
    pub http_header_timeout_secs: u64,
    /// Connections the kernel holds for the server before it accepts them (capped by
    /// `net.core.somaxconn`); past it a connect is retried by the client's kernel after 1 s,
    /// which is what a reconnect storm would wait.
    #[arg(long, env = "DUNGEONTALK_LISTEN_BACKLOG", value_name = "CONNECTIONS", default_value_t = 4096)]
    pub listen_backlog: u32,
    /// Longest message content in characters.
    #[arg(long, env = "DUNGEONTALK_MAX_CONTENT_CHARS", value_name = "CHARS", default_value_t = 2000)]
    pub max_content_chars: usize,
    /// Room events a connection may fall behind before it is told to RESYNC.
    #[arg(long, env = "DUNGEONTALK_OUTGOING_QUEUE_LEN", value_name = "EVENTS", default_value_t = 1024)]
    pub outgoing_queue_len: usize,
    /// Recent events sent on join when the client gives no `after`.
    #[arg(long, env = "DUNGEONTALK_HISTORY_ON_JOIN", value_name = "EVENTS", default_value_t = 50)]
    pub history_on_join: usize,
    /// Events read from the store per page while a client resumes.
    #[arg(long, env = "DUNGEONTALK_REPLAY_PAGE", value_name = "EVENTS", default_value_t = 500)]
    pub replay_page: usize,
    /// Largest page `GET …/messages` returns.
    #[arg(long, env = "DUNGEONTALK_MAX_PAGE", value_name = "EVENTS", default_value_t = 200)]
    pub max_page: usize,
    /// Most appends committed in one store transaction.
    #[arg(long, env = "DUNGEONTALK_WRITE_BATCH_MAX", value_name = "EVENTS", default_value_t = 256)]
    pub write_batch_max: usize,
    /// Under load (several appends waiting), how long a commit waits for more to join it, in
    /// microseconds: fewer fsyncs per message, at most this much more latency.
    #[arg(long, env = "DUNGEONTALK_WRITE_GROUP_US", value_name = "US", default_value_t = 1000)]
    pub write_group_us: u64,
    /// How many appends must be waiting when a commit starts for it to wait `write_group_us`
    /// (below 2 counts as 2): at lighter load a commit goes at once.
    #[arg(long, env = "DUNGEONTALK_WRITE_GROUP_MIN", value_name = "EVENTS", default_value_t = 16)]
    pub write_group_min: usize,
    /// Appends waiting for the store before senders wait too.
    #[arg(long, env = "DUNGEONTALK_WRITE_QUEUE_LEN", value_name = "EVENTS", default_value_t = 4096)]
    pub write_queue_len: usize,
    /// A send to one client taking longer than this closes that connection.
    #[arg(long, env = "DUNGEONTALK_SEND_TIMEOUT_MS", value_name = "MS", default_value_t = 20_000)]
    pub send_timeout_ms: u64,
    /// Capacity of a new room when the creator gives none; 0 means unlimited.
    #[arg(long, env = "DUNGEONTALK_DEFAULT_ROOM_CAPACITY", value_name = "N", default_value_t = 3)]
    pub default_room_capacity: u32,
    /// Seconds between SSE heartbeat comments, so proxies keep idle streams open.
    #[arg(long, env = "DUNGEONTALK_SSE_HEARTBEAT_SECS", value_name = "SECS", default_value_t = 15)]
    pub sse_heartbeat_secs: u64,
    /// Longest a long poll waits for events before answering an empty batch.
    #[arg(long, env = "DUNGEONTALK_POLL_TIMEOUT_MS", value_name = "MS", default_value_t = 30_000)]
    pub poll_timeout_ms: u64,
    /// Most events one long-poll answer carries.
    #[arg(long, env = "DUNGEONTALK_POLL_BATCH_MAX", value_name = "EVENTS", default_value_t = 500)]
    pub poll_batch_max: usize,
    /// A long-poll or POST client stays "connected" this long after its last request.
    #[arg(long, env = "DUNGEONTALK_POLL_LINGER_MS", value_name = "MS", default_value_t = 15_000)]
    pub poll_linger_ms: u64,
    /// Seconds between the server's pings on a WebSocket (below common 60 s proxy idle timeouts);
    /// a socket that answers nothing for two of them is closed.
    #[arg(long, env = "DUNGEONTALK_WS_PING_SECS", value_name = "SECS", default_value_t = 25)]
    pub ws_ping_secs: u64,
    /// Events a room's ring keeps per reader on this node (between `ring_min_events` and
    /// `outgoing_queue_len`): a small room keeps little.
    #[arg(long, env = "DUNGEONTALK_RING_EVENTS_PER_READER", value_name = "N", default_value_t = 64)]
    pub ring_events_per_reader: usize,
    /// Events a room's ring keeps however few its readers.
    #[arg(long, env = "DUNGEONTALK_RING_MIN_EVENTS", value_name = "N", default_value_t = 256)]
    pub ring_min_events: usize,
    /// Notifications (mentions, invitations) a member's notification stream may fall behind
    /// before it skips the oldest; every member with a stream open holds this many slots
    /// (about 64 bytes each).
    #[arg(long, env = "DUNGEONTALK_NOTIFY_QUEUE_LEN", value_name = "N", default_value_t = 16)]
    pub notify_queue_len: usize,
    /// The heart-beat period a STOMP connection offers (`heart-beat` in CONNECTED, both ways), in
    /// ms; 0 turns STOMP heart-beats off.
    #[arg(long, env = "DUNGEONTALK_STOMP_HEARTBEAT_MS", value_name = "MS", default_value_t = 30_000)]
    pub stomp_heartbeat_ms: u64,
    /// Subscriptions one STOMP connection may hold.
    #[arg(long, env = "DUNGEONTALK_STOMP_MAX_SUBSCRIPTIONS", value_name = "N", default_value_t = 32)]
    pub stomp_max_subscriptions: usize,
    /// How often a SockJS receiver gets an `h` frame when nothing else goes out, in s.
    #[arg(long, env = "DUNGEONTALK_SOCKJS_HEARTBEAT_SECS", value_name = "SECS", default_value_t = 30)]
    pub sockjs_heartbeat_secs: u64,
    /// How long a SockJS session lives with no receiver attached, in ms.
    #[arg(long, env = "DUNGEONTALK_SOCKJS_DISCONNECT_DELAY_MS", value_name = "MS", default_value_t = 5_000)]
    pub sockjs_disconnect_delay_ms: u64,
    /// Bytes one streaming SockJS response carries before the client opens the next.
    #[arg(long, env = "DUNGEONTALK_SOCKJS_RESPONSE_LIMIT_BYTES", value_name = "BYTES", default_value_t = 128 * 1024)]
    pub sockjs_response_limit_bytes: usize,
    /// Largest SockJS `xhr_send` body.
    #[arg(long, env = "DUNGEONTALK_SOCKJS_MAX_SEND_BYTES", value_name = "BYTES", default_value_t = 256 * 1024)]
    pub sockjs_max_send_bytes: usize,
    /// SockJS sessions one node holds at once.
    #[arg(long, env = "DUNGEONTALK_SOCKJS_MAX_SESSIONS", value_name = "N", default_value_t = 10_000)]
    pub sockjs_max_sessions: usize,
    /// A closed WebSocket's member stays "connected" this long, so a quick reconnect is no
    /// LEAVE and JOIN.
    #[arg(long, env = "DUNGEONTALK_WS_LINGER_MS", value_name = "MS", default_value_t = 5_000)]
    pub ws_linger_ms: u64,
    /// Lifetime of a registered member's access token in seconds.
    #[arg(long, env = "DUNGEONTALK_ACCESS_TOKEN_TTL_SECS", value_name = "SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token (the login's cookie) in seconds.
    #[arg(long, env = "DUNGEONTALK_REFRESH_TOKEN_TTL_SECS", value_name = "SECS", default_value_t = 14 * 86_400)]
    pub refresh_token_ttl_secs: u64,
    /// A refresh token rotated less than this many seconds ago may be presented again (two tabs
    /// renewing at once) without counting as reuse; 0 turns the window off.
    #[arg(long, env = "DUNGEONTALK_REFRESH_GRACE_SECS", value_name = "SECS", default_value_t = 10)]
    pub refresh_grace_secs: u64,
    /// Mark the session cookies `Secure` (sent over HTTPS only): set it when users reach the
    /// server through HTTPS, as behind a TLS-terminating proxy.
    #[arg(long, env = "DUNGEONTALK_COOKIE_SECURE", value_name = "BOOL")]
    #[arg(action = ArgAction::Set, default_value_t = false)]
    pub cookie_secure: bool,
    /// Wait after the first failed login; it doubles with each further failure.
    #[arg(long, env = "DUNGEONTALK_LOGIN_BACKOFF_MS", value_name = "MS", default_value_t = 1000)]
    pub login_backoff_ms: u64,
    /// Password checks waiting for a free core before more sign-ins are refused (503).
    #[arg(long, env = "DUNGEONTALK_LOGIN_QUEUE_MAX", value_name = "N", default_value_t = 64)]
    pub login_queue_max: usize,
    /// Failed logins in a row that lock the account.
    #[arg(long, env = "DUNGEONTALK_LOGIN_LOCK_AFTER", value_name = "N", default_value_t = 5)]
    pub login_lock_after: u32,
    /// How long a locked account stays locked, in seconds.
    #[arg(long, env = "DUNGEONTALK_LOGIN_LOCK_SECS", value_name = "SECS", default_value_t = 600)]
    pub login_lock_secs: u64,
    /// Messages per second a member may send on average (token bucket refill).
    #[arg(long, env = "DUNGEONTALK_RATE_PER_SEC", value_name = "N", default_value_t = 5.0)]
    pub rate_per_sec: f64,
    /// Messages a member may send in a burst (token bucket size).
    #[arg(long, env = "DUNGEONTALK_RATE_BURST", value_name = "N", default_value_t = 10.0)]
    pub rate_burst: f64,
    /// JOIN and LEAVE a member may send per second on average.
    #[arg(long, env = "DUNGEONTALK_MEMBERSHIP_RATE_PER_SEC", value_name = "N", default_value_t = 1.0)]
    pub membership_rate_per_sec: f64,
    /// JOIN and LEAVE a member may send in a burst.
    #[arg(long, env = "DUNGEONTALK_MEMBERSHIP_BURST", value_name = "N", default_value_t = 5.0)]
    pub membership_burst: f64,
    /// Typing frames a member may send per second on average.
    #[arg(long, env = "DUNGEONTALK_TYPING_RATE_PER_SEC", value_name = "N", default_value_t = 1.0)]
    pub typing_rate_per_sec: f64,
    /// Typing frames a member may send in a burst.
    #[arg(long, env = "DUNGEONTALK_TYPING_BURST", value_name = "N", default_value_t = 3.0)]
    pub typing_burst: f64,
    /// Invitations a member may send per second on average.
    #[arg(long, env = "DUNGEONTALK_INVITE_RATE_PER_SEC", value_name = "N", default_value_t = 0.2)]
    pub invite_rate_per_sec: f64,
    /// Invitations a member may send in a burst.
    #[arg(long, env = "DUNGEONTALK_INVITE_BURST", value_name = "N", default_value_t = 5.0)]
    pub invite_burst: f64,
    /// Rooms a member may create per second on average.
    #[arg(long, env = "DUNGEONTALK_ROOM_RATE_PER_SEC", value_name = "N", default_value_t = 0.1)]
    pub room_rate_per_sec: f64,
    /// Rooms a member may create in a burst.
    #[arg(long, env = "DUNGEONTALK_ROOM_BURST", value_name = "N", default_value_t = 5.0)]
    pub room_burst: f64,
    /// Rooms one member may have created in all.
    #[arg(long, env = "DUNGEONTALK_MAX_ROOMS_PER_MEMBER", value_name = "N", default_value_t = 50)]
    pub max_rooms_per_member: usize,
    /// Open connections (sockets, streams, parked polls) one member may hold on a node.
    #[arg(long, env = "DUNGEONTALK_MAX_CONNECTIONS_PER_MEMBER", value_name = "N", default_value_t = 20)]
    pub max_connections_per_member: usize,
    /// Open connections to one room on a node.
    #[arg(long, env = "DUNGEONTALK_MAX_CONNECTIONS_PER_ROOM", value_name = "N", default_value_t = 10000)]
    pub max_connections_per_room: usize,
    /// Profanity filter in player rooms: block, filter (mask as ***) or warn.
    #[arg(long, env = "DUNGEONTALK_PROFANITY_PLAYER", value_name = "MODE", value_enum, default_value_t = Mode::Filter)]
    pub profanity_player: Mode,
    /// Profanity filter in game (AI) rooms: block, filter or warn.
    #[arg(long, env = "DUNGEONTALK_PROFANITY_GAME", value_name = "MODE", value_enum, default_value_t = Mode::Filter)]
    pub profanity_game: Mode,
    /// A joined member with no message or heartbeat for this long leaves (SESSION_EXPIRED).
    #[arg(long, env = "DUNGEONTALK_CHAT_SESSION_SECS", value_name = "SECS", default_value_t = 1800)]
    pub chat_session_secs: u64,
    /// MongoDB as the store, e.g. mongodb://HOST:PORT/DB [default: the embedded store in DATA_DIR].
    #[arg(long, env = "DUNGEONTALK_MONGODB_URI", value_name = "URI", hide_env_values = true)]
    pub mongodb_uri: Option<Secret>,
    /// Kafka brokers as the room log, HOST:PORT[,HOST:PORT] (needs mongodb_uri and redis_url)
    /// [default: the embedded log].
    #[arg(long, env = "DUNGEONTALK_KAFKA_BROKERS", value_name = "HOSTS")]
    pub kafka_brokers: Option<String>,
    /// The Kafka topic of room events (key = roomId).
    #[arg(long, env = "DUNGEONTALK_KAFKA_TOPIC", value_name = "TOPIC", default_value = "chat-messages")]
    pub kafka_topic: String,
    /// Partitions of the topic when this node creates it.
    #[arg(long, env = "DUNGEONTALK_KAFKA_PARTITIONS", value_name = "N", default_value_t = 8)]
    pub kafka_partitions: i32,
    /// Replicas of each partition when this node creates the topic (3 on a real cluster).
    #[arg(long, env = "DUNGEONTALK_KAFKA_REPLICATION", value_name = "N", default_value_t = 1)]
    pub kafka_replication: i32,
    /// The consumer group, shared by all nodes, that writes the topic to the store
    ///.
    #[arg(long, env = "DUNGEONTALK_KAFKA_STORE_GROUP", value_name = "GROUP", default_value = "dungeontalk-store")]
    pub kafka_store_group: String,
    /// Whether this node joins the store group and writes its share of the topic to the store
    /// (false keeps a node to serving clients; some node must write).
    #[arg(long, env = "DUNGEONTALK_KAFKA_STORE_WRITER", value_name = "BOOL")]
    #[arg(action = ArgAction::Set, default_value_t = true)]
    pub kafka_store_writer: bool,
    /// Redis for presence, revocations, limits and the aichat.{roomId} channels, e.g.
    /// redis://HOST:PORT [default: in process memory].
    #[arg(long, env = "DUNGEONTALK_REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<Secret>,
    /// This node's name in the cluster (presence entries, logs) [default: random at start].
    #[arg(long, env = "DUNGEONTALK_NODE_ID", value_name = "NAME")]
    #[arg(default_value_t = random_node_id(), hide_default_value = true)]
    pub node_id: String,
    /// A node that stops renewing its connections for this long is gone: its members leave
    ///.
    #[arg(long, env = "DUNGEONTALK_PRESENCE_TTL_SECS", value_name = "SECS", default_value_t = 15)]
    pub presence_ttl_secs: u64,
    /// How long a TALK's messageId is remembered by every node to drop a retry sent through
    /// another node.
    #[arg(long, env = "DUNGEONTALK_DEDUPE_WINDOW_SECS", value_name = "SECS", default_value_t = 120)]
    pub dedupe_window_secs: u64,
    /// Longest wait for one call to a backend (store, log, shared state) before it counts as
    /// failed.
    #[arg(long, env = "DUNGEONTALK_BACKEND_TIMEOUT_MS", value_name = "MS", default_value_t = 5000)]
    pub backend_timeout_ms: u64,
    /// The game master: auto (local when its model file is there, else script), local (a small
    /// model on this machine's CPU), script (templates, reproducible) or http (an OpenAI-compatible
    /// server).
    #[arg(long, env = "DUNGEONTALK_GM", value_name = "KIND", value_enum, default_value_t = GmKind::Auto)]
    pub gm: GmKind,
    /// The local game master's model, a GGUF file [default:
    /// ~/.cache/dungeontalk-tools/models/smollm2-135m-instruct-q4_1.gguf].
    #[arg(long, env = "DUNGEONTALK_GM_MODEL_PATH", value_name = "FILE")]
    #[arg(default_value_os_t = default_model_path(), hide_default_value = true)]
    pub gm_model_path: PathBuf,
    /// The http game master's base URL, e.g. http://127.0.0.1:8081 (it speaks
    /// /v1/chat/completions with stream: true).
    #[arg(long, env = "DUNGEONTALK_GM_URL", value_name = "URL")]
    pub gm_url: Option<String>,
    /// The model the http game master is asked for.
    #[arg(long, env = "DUNGEONTALK_GM_MODEL", value_name = "NAME", default_value = "default")]
    pub gm_model: String,
    /// The http game master's API key (sent as a Bearer token).
    #[arg(long, env = "DUNGEONTALK_GM_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub gm_api_key: Option<Secret>,
    /// Longest wait for the game master's first words, and between two pieces of its answer;
    /// then the game pauses.
    #[arg(long, env = "DUNGEONTALK_GM_TIMEOUT_SECS", value_name = "SECS", default_value_t = 30)]
    pub gm_timeout_secs: u64,
    /// Longest answer of the game master, in characters.
    #[arg(long, env = "DUNGEONTALK_GM_MAX_CHARS", value_name = "N", default_value_t = 1200)]
    pub gm_max_chars: usize,
    /// The script game master's pause between streamed pieces, so it reads like a model.
    #[arg(long, env = "DUNGEONTALK_GM_SCRIPT_PACE_MS", value_name = "MS", default_value_t = 40)]
    pub gm_script_pace_ms: u64,
    /// Threads the local game master computes on; 0: half the cores, at least one, so chat keeps
    /// the rest.
    #[arg(long, env = "DUNGEONTALK_GM_THREADS", value_name = "N", default_value_t = 0)]
    pub gm_threads: usize,
    /// Games the local game master answers side by side, a token each in turn (more wait), and
    /// whose prompts it keeps computed (about 25 MB each; least recently used dropped).
    #[arg(long, env = "DUNGEONTALK_GM_CONTEXTS", value_name = "N", default_value_t = 2)]
    pub gm_contexts: usize,
    /// Turns a new game lasts (1-100).
    #[arg(long, env = "DUNGEONTALK_GAME_TURNS", value_name = "N", default_value_t = 10)]
    pub game_turns: u32,
    /// How long a new game's turn waits for every player's ACTION (5-3600).
    #[arg(long, env = "DUNGEONTALK_GAME_TURN_SECS", value_name = "SECS", default_value_t = 90)]
    pub game_turn_secs: u32,
    /// A game's lease: the node running a game renews it a third of this often; another node
    /// takes the game over this long after that node died.
    #[arg(long, env = "DUNGEONTALK_GAME_LEASE_MS", value_name = "MS", default_value_t = 5000)]
    pub game_lease_ms: u64,
    /// A game not yet started or paused with no event for this long ends as abandoned.
    #[arg(long, env = "DUNGEONTALK_GAME_IDLE_SECS", value_name = "SECS", default_value_t = 3600)]
    pub game_idle_secs: u64,
    /// Players the matching queue puts in one game (1-5).
    #[arg(long, env = "DUNGEONTALK_MATCH_SIZE", value_name = "N", default_value_t = 3)]
    pub match_size: u32,
    /// Longest a player waits in the matching queue before they are taken out.
    #[arg(long, env = "DUNGEONTALK_MATCH_WAIT_SECS", value_name = "SECS", default_value_t = 600)]
    pub match_wait_secs: u64,
    /// Log filter in `tracing` syntax; RUST_LOG wins when set.
    #[arg(long, env = "DUNGEONTALK_LOG", value_name = "FILTER", default_value = "info")]
    pub log: String,
}

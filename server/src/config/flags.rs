//! The command line and the TOML file: every setting as an optional override, plus the secret type.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use serde::Deserialize;

/// A secret that never prints.
#[derive(Clone, Deserialize)]
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
    /// Most memory the embedded store keeps for cached pages, in bytes [default: 67108864].
    #[arg(long, env = "DUNGEONTALK_STORE_CACHE_BYTES", value_name = "BYTES")]
    pub store_cache_bytes: Option<usize>,
    /// The embedded store's write-ahead journal: room events are made durable there and kept in
    /// memory, and written into the store in bulk every this many journaled bytes (0: no
    /// journal, every commit durable; at most 64 MiB) [default: 4194304].
    #[arg(long, env = "DUNGEONTALK_STORE_JOURNAL_BYTES", value_name = "BYTES")]
    pub store_journal_bytes: Option<u64>,
    /// HS256 secret for access tokens [default: random, kept in DATA_DIR/jwt-secret].
    #[arg(long, env = "DUNGEONTALK_JWT_SECRET", value_name = "SECRET", hide_env_values = true)]
    pub jwt_secret: Option<Secret>,
    /// Lifetime of a guest's access token in seconds [default: 86400].
    #[arg(long, env = "DUNGEONTALK_GUEST_TOKEN_TTL_SECS", value_name = "SECS")]
    pub guest_token_ttl_secs: Option<u64>,
    /// Days a member's read mark in a room is kept after it last moved [default: 90].
    #[arg(long, env = "DUNGEONTALK_READ_MARK_TTL_DAYS", value_name = "DAYS")]
    pub read_mark_ttl_days: Option<u64>,
    /// Largest client frame accepted; bigger ones get a `chat.frame_too_large` error [default: 131072].
    #[arg(long, env = "DUNGEONTALK_MAX_FRAME_BYTES", value_name = "BYTES")]
    pub max_frame_bytes: Option<usize>,
    /// Largest WebSocket message read at all; bigger ones close the socket (1009) [default: 1048576].
    #[arg(long, env = "DUNGEONTALK_WS_MAX_MESSAGE_BYTES", value_name = "BYTES")]
    pub ws_max_message_bytes: Option<usize>,
    /// Bytes a WebSocket reads from its socket at a time, into the stack: nothing is kept per
    /// socket between reads; 256 to 16384 [default: 4096].
    #[arg(long, env = "DUNGEONTALK_WS_READ_BUFFER_BYTES", value_name = "BYTES")]
    pub ws_read_buffer_bytes: Option<usize>,
    /// Bytes of frames a WebSocket queues before it writes them out (a flush writes at once);
    /// queued frames share their payloads, nothing is copied or kept [default: 4096].
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
    /// Connections the kernel holds for the server before it accepts them (capped by
    /// `net.core.somaxconn`); past it a connect is retried by the client's kernel after 1 s,
    /// which is what a reconnect storm would wait [default: 4096].
    #[arg(long, env = "DUNGEONTALK_LISTEN_BACKLOG", value_name = "CONNECTIONS")]
    pub listen_backlog: Option<u32>,
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
    /// How many appends must be waiting when a commit starts for it to wait `write_group_us`
    /// (below 2 counts as 2): at lighter load a commit goes at once [default: 16].
    #[arg(long, env = "DUNGEONTALK_WRITE_GROUP_MIN", value_name = "EVENTS")]
    pub write_group_min: Option<usize>,
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
    /// Events a room's ring keeps per reader on this node (between `ring_min_events` and
    /// `outgoing_queue_len`): a small room keeps little [default: 64].
    #[arg(long, env = "DUNGEONTALK_RING_EVENTS_PER_READER", value_name = "N")]
    pub ring_events_per_reader: Option<usize>,
    /// Events a room's ring keeps however few its readers [default: 256].
    #[arg(long, env = "DUNGEONTALK_RING_MIN_EVENTS", value_name = "N")]
    pub ring_min_events: Option<usize>,
    /// Notifications (mentions, invitations) a member's notification stream may fall behind
    /// before it skips the oldest; every member with a stream open holds this many slots
    /// (about 64 bytes each) [default: 16].
    #[arg(long, env = "DUNGEONTALK_NOTIFY_QUEUE_LEN", value_name = "N")]
    pub notify_queue_len: Option<usize>,
    /// The heart-beat period a STOMP connection offers (`heart-beat` in CONNECTED, both ways), in
    /// ms; 0 turns STOMP heart-beats off [default: 30000].
    #[arg(long, env = "DUNGEONTALK_STOMP_HEARTBEAT_MS", value_name = "MS")]
    pub stomp_heartbeat_ms: Option<u64>,
    /// Subscriptions one STOMP connection may hold [default: 32].
    #[arg(long, env = "DUNGEONTALK_STOMP_MAX_SUBSCRIPTIONS", value_name = "N")]
    pub stomp_max_subscriptions: Option<usize>,
    /// How often a SockJS receiver gets an `h` frame when nothing else goes out, in s [default: 30].
    #[arg(long, env = "DUNGEONTALK_SOCKJS_HEARTBEAT_SECS", value_name = "SECS")]
    pub sockjs_heartbeat_secs: Option<u64>,
    /// How long a SockJS session lives with no receiver attached, in ms [default: 5000].
    #[arg(long, env = "DUNGEONTALK_SOCKJS_DISCONNECT_DELAY_MS", value_name = "MS")]
    pub sockjs_disconnect_delay_ms: Option<u64>,
    /// Bytes one streaming SockJS response carries before the client opens the next [default: 131072].
    #[arg(long, env = "DUNGEONTALK_SOCKJS_RESPONSE_LIMIT_BYTES", value_name = "BYTES")]
    pub sockjs_response_limit_bytes: Option<usize>,
    /// Largest SockJS `xhr_send` body [default: 262144].
    #[arg(long, env = "DUNGEONTALK_SOCKJS_MAX_SEND_BYTES", value_name = "BYTES")]
    pub sockjs_max_send_bytes: Option<usize>,
    /// SockJS sessions one node holds at once [default: 10000].
    #[arg(long, env = "DUNGEONTALK_SOCKJS_MAX_SESSIONS", value_name = "N")]
    pub sockjs_max_sessions: Option<usize>,
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
    /// A refresh token rotated less than this many seconds ago may be presented again (two tabs
    /// renewing at once) without counting as reuse; 0 turns the window off [default: 10].
    #[arg(long, env = "DUNGEONTALK_REFRESH_GRACE_SECS", value_name = "SECS")]
    pub refresh_grace_secs: Option<u64>,
    /// Mark the session cookies `Secure` (sent over HTTPS only): set it when users reach the
    /// server through HTTPS, as behind a TLS-terminating proxy [default: false].
    #[arg(long, env = "DUNGEONTALK_COOKIE_SECURE", value_name = "BOOL")]
    pub cookie_secure: Option<bool>,
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
    /// Whether this node joins the store group and writes its share of the topic to the store
    /// (false keeps a node to serving clients; some node must write) [default: true].
    #[arg(long, env = "DUNGEONTALK_KAFKA_STORE_WRITER", value_name = "BOOL")]
    pub kafka_store_writer: Option<bool>,
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
    /// The game master: auto (local when its model file is there, else script), local (a small
    /// model on this machine's CPU), script (templates, reproducible) or http (an OpenAI-compatible
    /// server) [default: auto].
    #[arg(long, env = "DUNGEONTALK_GM", value_name = "KIND")]
    pub gm: Option<super::GmKind>,
    /// The local game master's model, a GGUF file [default:
    /// ~/.cache/dungeontalk-tools/models/smollm2-135m-instruct-q4_1.gguf].
    #[arg(long, env = "DUNGEONTALK_GM_MODEL_PATH", value_name = "FILE")]
    pub gm_model_path: Option<PathBuf>,
    /// The http game master's base URL, e.g. http://127.0.0.1:8081 (it speaks
    /// /v1/chat/completions with stream: true).
    #[arg(long, env = "DUNGEONTALK_GM_URL", value_name = "URL")]
    pub gm_url: Option<String>,
    /// The model the http game master is asked for [default: default].
    #[arg(long, env = "DUNGEONTALK_GM_MODEL", value_name = "NAME")]
    pub gm_model: Option<String>,
    /// The http game master's API key (sent as a Bearer token).
    #[arg(long, env = "DUNGEONTALK_GM_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub gm_api_key: Option<Secret>,
    /// Longest wait for the game master's first words, and between two pieces of its answer;
    /// then the game pauses [default: 30].
    #[arg(long, env = "DUNGEONTALK_GM_TIMEOUT_SECS", value_name = "SECS")]
    pub gm_timeout_secs: Option<u64>,
    /// Longest answer of the game master, in characters [default: 1200].
    #[arg(long, env = "DUNGEONTALK_GM_MAX_CHARS", value_name = "N")]
    pub gm_max_chars: Option<usize>,
    /// The script game master's pause between streamed pieces, so it reads like a model [default: 40].
    #[arg(long, env = "DUNGEONTALK_GM_SCRIPT_PACE_MS", value_name = "MS")]
    pub gm_script_pace_ms: Option<u64>,
    /// Threads the local game master computes on; 0: half the cores, at least one, so chat keeps
    /// the rest [default: 0].
    #[arg(long, env = "DUNGEONTALK_GM_THREADS", value_name = "N")]
    pub gm_threads: Option<usize>,
    /// Games the local game master answers side by side, a token each in turn (more wait), and
    /// whose prompts it keeps computed (about 25 MB each; least recently used dropped) [default: 2].
    #[arg(long, env = "DUNGEONTALK_GM_CONTEXTS", value_name = "N")]
    pub gm_contexts: Option<usize>,
    /// Turns a new game lasts (1-100) [default: 10].
    #[arg(long, env = "DUNGEONTALK_GAME_TURNS", value_name = "N")]
    pub game_turns: Option<u32>,
    /// How long a new game's turn waits for every player's ACTION (5-3600) [default: 90].
    #[arg(long, env = "DUNGEONTALK_GAME_TURN_SECS", value_name = "SECS")]
    pub game_turn_secs: Option<u32>,
    /// A game's lease: the node running a game renews it a third of this often; another node
    /// takes the game over this long after that node died [default: 5000].
    #[arg(long, env = "DUNGEONTALK_GAME_LEASE_MS", value_name = "MS")]
    pub game_lease_ms: Option<u64>,
    /// A game not yet started or paused with no event for this long ends as abandoned [default: 3600].
    #[arg(long, env = "DUNGEONTALK_GAME_IDLE_SECS", value_name = "SECS")]
    pub game_idle_secs: Option<u64>,
    /// Players the matching queue puts in one game (1-5) [default: 3].
    #[arg(long, env = "DUNGEONTALK_MATCH_SIZE", value_name = "N")]
    pub match_size: Option<u32>,
    /// Longest a player waits in the matching queue before they are taken out [default: 600].
    #[arg(long, env = "DUNGEONTALK_MATCH_WAIT_SECS", value_name = "SECS")]
    pub match_wait_secs: Option<u64>,
    /// Log filter in `tracing` syntax; RUST_LOG wins when set [default: info].
    #[arg(long, env = "DUNGEONTALK_LOG", value_name = "FILTER")]
    pub log: Option<String>,
}

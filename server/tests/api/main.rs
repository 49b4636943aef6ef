//! Integration tests: the real `dungeontalk` binary on port 0, driven by real HTTP and WebSocket
//! clients, alone or as several nodes over real Redis, a Kafka-API broker and a MongoDB-wire
//! server (started per test; see `services.rs`). One test binary (tests/api) so it links once.

mod accounts;
mod auth_matrix;
mod chaos;
mod cluster;
mod compact;
mod conformance;
mod distributed;
mod game;
mod game_cluster;
mod game_http;
mod http;
mod link;
mod log_fold;
mod membership;
mod moderation;
mod nodes;
mod ops;
mod outages;
mod presence;
mod restart;
mod seats;
mod services;
mod soak;
mod sockjs;
mod sse;
mod stomp;
mod store_suite;
mod support;
mod unread;
mod whispers;
mod ws;

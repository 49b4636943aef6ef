//! Integration tests: the real `dungeontalk` binary on port 0, driven by real HTTP and WebSocket
//! clients. One test binary (tests/api) so it links once.

mod accounts;
mod auth_matrix;
mod conformance;
mod http;
mod link;
mod membership;
mod moderation;
mod presence;
mod restart;
mod sse;
mod support;
mod whispers;
mod ws;

//! Integration tests: the real `dungeontalk` binary on port 0, driven by real HTTP and WebSocket
//! clients. One test binary (tests/api) so it links once.

mod conformance;
mod http;
mod link;
mod restart;
mod support;
mod ws;

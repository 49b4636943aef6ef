//! DungeonTalk's browser side and the wire contract it shares with the server.
//!
//! `wire` is serde-only and compiles everywhere (server, WASM, tests); the UI modules exist only
//! with the `ui` feature so the server never pulls Leptos.

pub mod wire;

#[cfg(feature = "ui")]
mod ui;
#[cfg(feature = "ui")]
pub use ui::App;

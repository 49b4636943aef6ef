//! DungeonTalk's browser side and the wire contract it shares with the server.
//!
//! `wire` is serde-only and compiles everywhere (server, WASM, tests); the UI modules exist only
//! with the `ui` feature. `fns` (the UI's server functions) is in both halves: the browser's stubs
//! with `ui`, the server's handlers with `ssr`.

pub mod announce;
pub mod game;
pub mod links;
pub mod timeline;
pub mod unread;
pub mod wire;

#[cfg(any(feature = "ui", feature = "ssr"))]
pub mod fns;

#[cfg(feature = "ui")]
mod ui;
#[cfg(feature = "ui")]
pub use ui::App;

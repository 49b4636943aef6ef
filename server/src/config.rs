//! Typed settings, loaded once at start: defaults < `--config` TOML file < `DUNGEONTALK_*` env < flags.
//!
//! Each setting is spelled once, in [`Settings`] (`config/settings.rs`); `config/layers.rs` merges
//! the layers and `config/checks.rs` refuses settings that make no sense.

use clap::{CommandFactory, FromArgMatches};

mod checks;
mod layers;
mod settings;

pub use checks::ConfigError;
pub use layers::Cli;
pub use settings::{Secret, Settings};

/// Which game master narrates (`gm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum)]
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

impl Default for Settings {
    /// Every setting at its default: no file, no environment, no flags.
    fn default() -> Settings {
        let command = Cli::command().mut_args(|a| a.env(None::<&'static str>));
        let matches = command.try_get_matches_from(["dungeontalk"]).expect("the defaults parse");
        Cli::from_arg_matches(&matches).expect("the defaults parse").settings
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonsense_is_refused() {
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

    #[test]
    fn the_readme_table_gives_the_defaults_in_force() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        // Defaults made at start (a random node name, a path under $HOME) are described in words.
        let made: Vec<String> = Cli::command()
            .get_arguments()
            .filter(|a| a.is_hide_default_value_set())
            .map(|a| a.get_id().to_string())
            .collect();
        let mut checked = 0;
        for row in readme.lines().filter(|l| l.starts_with("| `")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let name = cells[0].trim_start_matches("| ").trim_matches('`');
            let Some(value) = defaults.get(name).filter(|_| !made.iter().any(|m| m == name)) else { continue };
            // Only a plain literal is compared; prose defaults ("generated, …") are read by people.
            let shown = cells[1];
            if !(shown.starts_with('`') && shown.ends_with('`') && shown.matches('`').count() == 2) {
                continue;
            }
            let shown = shown.trim_matches('`');
            match value {
                serde_json::Value::Number(n) => {
                    assert_eq!(shown.parse::<f64>().ok(), n.as_f64(), "README's default of {name}")
                }
                serde_json::Value::String(s) => assert_eq!(shown, s, "README's default of {name}"),
                other => assert_eq!(shown, other.to_string(), "README's default of {name}"),
            }
            checked += 1;
        }
        assert!(checked > 40, "the README's settings table was found ({checked} rows checked)");
    }
}

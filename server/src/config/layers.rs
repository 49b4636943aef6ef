//! The layers merged into one [`Settings`]: clap gives each setting its value from the flags,
//! the environment or its default, and says which; the `--config` file goes over the defaults
//! only, so a flag or a variable still wins over the file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};
use serde_json::{Map, Value};

use super::{ConfigError, Settings};

/// The command line. Every setting is also an env var and a key of the `--config` TOML file.
#[derive(Debug, Parser)]
#[command(name = "dungeontalk", version, about = "DungeonTalk: real-time chat for an AI-narrated dungeon game")]
pub struct Cli {
    /// A TOML file with any of the settings below (keys as the flags, with `_` for `-`).
    #[arg(long, env = "DUNGEONTALK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

impl Settings {
    /// The settings of this process: its flags, its environment and its `--config` file. Prints
    /// the help, the version or a bad flag's error and exits, as any command line does.
    pub fn from_command_line() -> Result<Settings, ConfigError> {
        Settings::from_matches(&Cli::command().get_matches())
    }

    /// The settings for these arguments (the first is the program's name) and this environment.
    pub fn from_args<I, T>(args: I) -> Result<Settings, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        Settings::from_matches(&Cli::command().try_get_matches_from(args).map_err(ConfigError::Args)?)
    }

    fn from_matches(matches: &ArgMatches) -> Result<Settings, ConfigError> {
        let cli = Cli::from_arg_matches(matches).map_err(ConfigError::Args)?;
        let mut settings = cli.settings;
        if let Some(path) = &cli.config {
            let file = read_file(path)?;
            let given = |key: &str| {
                matches!(matches.value_source(key), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
            };
            settings = settings.under(file, given).map_err(|e| ConfigError::Key(path.clone(), e))?;
        }
        settings.validate()?;
        Ok(settings)
    }

    /// These settings with the file's values put in, except where `given` says the setting came
    /// from a flag or a variable. An unknown key, or a value of the wrong kind, is refused by name.
    fn under(self, file: toml::Table, given: impl Fn(&str) -> bool) -> Result<Settings, String> {
        let Value::Object(mut merged) = serde_json::to_value(&self).map_err(|e| e.to_string())? else {
            unreachable!("settings are a struct");
        };
        for (key, value) in file {
            if !merged.contains_key(&key) {
                return Err(format!("unknown setting `{key}`"));
            }
            if given(&key) {
                continue;
            }
            let value = serde_json::to_value(value).map_err(|e| format!("`{key}`: {e}"))?;
            // Checked one by one, so the error names the key (serde's would not).
            let mut one = merged.clone();
            one.insert(key.clone(), value.clone());
            from_map(one).map_err(|e| format!("`{key}`: {e}"))?;
            merged.insert(key, value);
        }
        from_map(merged).map_err(|e| e.to_string())
    }
}

fn from_map(map: Map<String, Value>) -> Result<Settings, serde_json::Error> {
    serde_json::from_value(Value::Object(map))
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse(path.into(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Matches for `args`, with only `log` read from the environment (from `HOME`, which every
    /// test run has), so the test needs no variable of its own.
    fn matches(args: &[&str]) -> ArgMatches {
        let command = Cli::command().mut_args(|a| {
            let env = if a.get_id() == "log" { Some("HOME") } else { None };
            a.env(env)
        });
        command.try_get_matches_from(std::iter::once("dungeontalk").chain(args.iter().copied())).unwrap()
    }

    /// A TOML file that lives as long as the test.
    fn file(text: &str) -> tempfile::TempPath {
        let f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f.into_temp_path()
    }

    fn arg(p: &tempfile::TempPath) -> &str {
        p.to_str().unwrap()
    }

    #[test]
    fn flags_win_over_the_environment_the_environment_over_the_file_the_file_over_defaults() {
        let f = file("bind = \"127.0.0.1:9000\"\nhistory_on_join = 5\nlog = \"debug\"\nmax_page = 7\n");
        let s = Settings::from_matches(&matches(&["--config", arg(&f), "--max-page", "9"])).unwrap();
        assert_eq!(s.bind.port(), 9000, "the file wins over defaults");
        assert_eq!(s.history_on_join, 5);
        assert_eq!(s.max_page, 9, "a flag wins over the file");
        assert_eq!(s.log, std::env::var("HOME").unwrap(), "a variable wins over the file");
        assert_eq!(s.max_frame_bytes, 131072, "defaults stay where nothing is set");
    }

    #[test]
    fn a_file_with_an_unknown_key_or_a_wrong_value_is_refused_by_name() {
        let f = file("bnid = \"x\"\n");
        let e = Settings::from_matches(&matches(&["--config", arg(&f)])).unwrap_err().to_string();
        assert!(e.contains("unknown setting `bnid`"), "{e}");
        let f = file("max_page = \"many\"\n");
        let e = Settings::from_matches(&matches(&["--config", arg(&f)])).unwrap_err().to_string();
        assert!(e.contains("`max_page`"), "{e}");
        let f = file("max_page = 0\n");
        assert!(Settings::from_matches(&matches(&["--config", arg(&f)])).is_err(), "the file is checked too");
    }

    #[test]
    fn every_setting_has_its_variable_and_the_file_takes_every_setting() {
        let command = Cli::command();
        for arg in command.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
            let id = arg.get_id().as_str();
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            assert_eq!(env, Some(format!("DUNGEONTALK_{}", id.to_uppercase())), "the variable of {id}");
        }
        // Every setting survives the trip through the file's format, so any can be in the file.
        let s = Settings::default();
        let text = toml::to_string(&s).unwrap();
        let back = Settings::default().under(toml::from_str(&text).unwrap(), |_| false).unwrap();
        assert_eq!(format!("{back:?}"), format!("{s:?}"));
    }
}

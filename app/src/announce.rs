//! What a screen reader hears of new lines (a polite live region): each line as it comes, but at
//! most one announcement per [`QUIET_MS`]; lines that come faster are summed up ("3 new
//! messages, the last from Bo") when the quiet time is over.

/// The least time between two announcements, in ms.
pub const QUIET_MS: f64 = 3_000.0;

/// The announcer's state (a plain reducer: the caller gives it the time).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Announcer {
    last_ms: Option<f64>,
    /// Lines held back while it is quiet, and the last of them.
    held: u32,
    last_line: String,
}

impl Announcer {
    /// A new line from `who`: what to say now, if anything (else it is held for [`Self::flush`]).
    pub fn line(&mut self, now_ms: f64, who: &str, text: &str) -> Option<String> {
        let said = format!("{who}: {text}");
        if self.last_ms.is_some_and(|t| now_ms - t < QUIET_MS) {
            self.held += 1;
            self.last_line = said;
            return None;
        }
        self.last_ms = Some(now_ms);
        Some(said)
    }

    /// When to call [`Self::flush`] next (ms), if lines are held.
    pub fn due(&self) -> Option<f64> {
        (self.held > 0).then(|| self.last_ms.unwrap_or(0.0) + QUIET_MS)
    }

    /// The held lines, summed up, once the quiet time is over.
    pub fn flush(&mut self, now_ms: f64) -> Option<String> {
        if self.held == 0 || self.due().is_some_and(|due| now_ms < due) {
            return None;
        }
        let said = match self.held {
            1 => std::mem::take(&mut self.last_line),
            n => {
                let who = self.last_line.split_once(':').map_or("", |(w, _)| w).to_owned();
                self.last_line.clear();
                format!("{n} new messages, the last from {who}")
            }
        };
        self.held = 0;
        self.last_ms = Some(now_ms);
        Some(said)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_is_read_at_once_and_a_burst_is_summed_up_after_the_quiet_time() {
        let mut a = Announcer::default();
        assert_eq!(a.line(0.0, "Bo", "hi").as_deref(), Some("Bo: hi"));
        assert_eq!(a.line(500.0, "Cy", "one"), None);
        assert_eq!(a.line(900.0, "Bo", "two"), None);
        assert_eq!(a.due(), Some(QUIET_MS));
        assert_eq!(a.flush(1_000.0), None, "still quiet");
        assert_eq!(a.flush(QUIET_MS).as_deref(), Some("2 new messages, the last from Bo"));
        assert_eq!(a.due(), None);
        assert_eq!(a.line(QUIET_MS + 100.0, "Cy", "three"), None, "quiet again after speaking");
        assert_eq!(a.flush(2.0 * QUIET_MS).as_deref(), Some("Cy: three"));
    }
}

//! The profanity filter: Korean and English word lists (server/data/profanity), one Aho-Corasick
//! pass over a normalised copy of the text, mapped back to the original to mask it.
//!
//! Normalising defeats simple evasion: case, separators between letters ("f u c k", "f.u.c.k"),
//! repeated letters ("fuuuck") and common substitutions ("sh1t", "$hit", "@ss"). Repeats are
//! collapsed in text and words alike, but a word's own doubled letters must be there in the text
//! ("as" is not "ass"). English words must stand alone ("class" stays clean); Korean words also
//! count inside longer words, since Korean attaches particles and endings to them.

use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::Deserialize;

/// What the filter does with a message that has profanity in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Refuse the message; the sender gets `chat.profanity_blocked`.
    Block,
    /// Deliver it with each word masked as `***`.
    Filter,
    /// Deliver it unchanged; the sender gets a `chat.profanity_warning`.
    Warn,
}

const EN: &str = include_str!("../data/profanity/en.txt");
const KO: &str = include_str!("../data/profanity/ko.txt");

/// One normalised character: what it became, and which original characters (a run of repeats)
/// collapsed into it: `chars[from..to]` of [`Normalised`].
struct Slot {
    ch: char,
    from: usize,
    to: usize,
}

impl Slot {
    fn len(&self) -> usize {
        self.to - self.from
    }
}

/// A text normalised for matching: its slots, and the byte range of every word character kept.
/// (Two vectors for the whole text: no allocation per character.)
struct Normalised {
    slots: Vec<Slot>,
    chars: Vec<Range<usize>>,
}

fn substitute(c: char) -> char {
    match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        _ => c,
    }
}

/// Whether a character belongs to a word (letters, digits and the substitutes above).
fn wordish(c: char) -> bool {
    c.is_alphanumeric() || substitute(c) != c
}

fn normalise(text: &str) -> Normalised {
    let mut n = Normalised { slots: Vec::new(), chars: Vec::new() };
    let mut token_start = 0;
    // Leetspeak belongs to words: in a token with no letter ("455", "20:30", "#12") digits and
    // symbols stay what they are, so numbers, dice results and ids are never read as words.
    let mut lettered = false;
    for (at, c) in text.char_indices() {
        if at == token_start || text[..at].ends_with(char::is_whitespace) {
            token_start = at;
            let token = text[at..].split(char::is_whitespace).next().unwrap_or("");
            lettered = token.chars().any(char::is_alphabetic);
        }
        if !wordish(c) {
            continue;
        }
        let lower = c.to_lowercase().next().unwrap_or(c);
        let ch = if lettered { substitute(lower) } else { lower };
        n.chars.push(at..at + c.len_utf8());
        let index = n.chars.len();
        match n.slots.last_mut() {
            Some(last) if last.ch == ch => last.to = index,
            _ => n.slots.push(Slot { ch, from: index - 1, to: index }),
        }
    }
    n
}

struct Word {
    /// How many times each normalised character repeats in the word itself.
    runs: Vec<usize>,
    /// English: must stand alone.
    whole: bool,
}

/// The compiled word lists.
pub struct Filter {
    matcher: AhoCorasick,
    words: Vec<Word>,
}

/// Where the filter found something, as byte ranges of the original text.
pub type Found = Vec<Range<usize>>;

impl Filter {
    /// The filter over the embedded Korean and English lists.
    pub fn standard() -> Filter {
        let lines = EN.lines().map(|l| (l, true)).chain(KO.lines().map(|l| (l, false)));
        let (mut patterns, mut words) = (Vec::new(), Vec::new());
        for (line, english) in lines {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let n = normalise(line);
            patterns.push(n.slots.iter().map(|s| s.ch).collect::<String>());
            words.push(Word { runs: n.slots.iter().map(Slot::len).collect(), whole: english });
        }
        let matcher =
            AhoCorasick::builder().match_kind(MatchKind::Standard).build(&patterns).expect("the word lists compile");
        Filter { matcher, words }
    }

    /// Every profane word in `text`, merged and in order.
    pub fn find(&self, text: &str) -> Found {
        let n = normalise(text);
        let slots = &n.slots;
        let flat: String = slots.iter().map(|s| s.ch).collect();
        // Byte offset in `flat` → slot index.
        let mut index = vec![0usize; flat.len() + 1];
        for (i, (at, _)) in flat.char_indices().enumerate() {
            index[at] = i;
        }
        let mut found: Found = Vec::new();
        for m in self.matcher.find_overlapping_iter(&flat) {
            let word = &self.words[m.pattern().as_usize()];
            let (first, last) = (index[m.start()], index[m.start()] + word.runs.len() - 1);
            let span = &slots[first..=last];
            if span.iter().zip(&word.runs).any(|(s, need)| s.len() < *need) {
                continue;
            }
            let end = n.chars[span.last().expect("non-empty").to - 1].end;
            // Start at the run's first character, or (a run shared with the word before, as in
            // "as shit") at the last ones the word needs.
            let first = &span[0];
            let starts = [n.chars[first.from].start, n.chars[first.to - word.runs[0]].start];
            let standalone = |start: usize| {
                let before = text[..start].chars().next_back().is_none_or(|c| !wordish(c));
                let after = text[end..].chars().next().is_none_or(|c| !wordish(c));
                before && after
            };
            let start = match word.whole {
                false => Some(starts[0]),
                true => starts.into_iter().find(|s| standalone(*s)),
            };
            if let Some(start) = start {
                found.push(start..end);
            }
        }
        found.sort_by_key(|r| r.start);
        let mut merged: Found = Vec::new();
        for r in found {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        merged
    }

    /// `text` with each found word replaced by `***`.
    pub fn mask(text: &str, found: &Found) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for r in found {
            out.push_str(&text[at..r.start]);
            out.push_str("***");
            at = r.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        let f = Filter::standard();
        Filter::mask(text, &f.find(text))
    }

    #[test]
    fn catches_simple_evasions() {
        assert_eq!(masked("what the fuck"), "what the ***");
        assert_eq!(masked("what the FuUuCK!"), "what the ***!");
        assert_eq!(masked("f u c k this"), "*** this");
        assert_eq!(masked("f.u.c.k"), "***");
        assert_eq!(masked("sh1t and $hit"), "*** and ***");
        assert_eq!(masked("you @ss"), "you ***");
        assert_eq!(masked("as shit"), "as ***", "a run shared with the word before");
    }

    #[test]
    fn leaves_innocent_words_alone() {
        for clean in ["as soon as", "class assignment", "Scunthorpe", "pass the glass", "I assume", "hello"] {
            assert_eq!(masked(clean), clean);
        }
    }

    #[test]
    fn numbers_are_not_words() {
        for clean in ["meet at 455", "room 455, table 5", "I rolled 5 and 3", "at 20:30", "#4553 3|7|455|1", "id 0x455"]
        {
            assert_eq!(masked(clean), clean);
        }
        assert_eq!(masked("a55 and 455"), "*** and 455", "digits inside a word are still leetspeak");
        assert_eq!(masked("4 5 5"), "4 5 5");
    }

    #[test]
    fn korean_words_count_inside_longer_words_and_through_spacing() {
        assert_eq!(masked("이 시발놈아"), "이 ***놈아");
        assert_eq!(masked("씨 발"), "***");
        assert_eq!(masked("ㅅㅂ 뭐야"), "*** 뭐야");
        assert_eq!(masked("시바견 귀여워"), "시바견 귀여워");
    }
}

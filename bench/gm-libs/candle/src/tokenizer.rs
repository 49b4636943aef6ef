//! Minimal GPT-2 byte-level BPE tokenizer built from GGUF metadata
//! (`tokenizer.ggml.tokens`, `tokenizer.ggml.merges`, `tokenizer.ggml.token_type`).
//!
//! Pre-tokenization follows llama.cpp's `smollm` pre-tokenizer (= HF
//! `Digits(individual_digits) + ByteLevel`): every digit is its own piece, then
//! the GPT-2 split
//!   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//! Control tokens (token_type == 3, e.g. `<|im_start|>`, `<|im_end|>`) are
//! matched as whole tokens before any of that.
//! No external dependencies: only std.

use std::collections::HashMap;

pub struct Gpt2Tokenizer {
    /// token string (byte-level unicode form) -> id
    vocab: HashMap<String, u32>,
    /// id -> token string
    tokens: Vec<String>,
    /// id -> is control/special token (decoded verbatim)
    is_special: Vec<bool>,
    /// (left id, right id) -> (merge rank, merged id)
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// special tokens sorted by length, longest first (for greedy matching)
    specials: Vec<(String, u32)>,
    /// byte -> unicode char (GPT-2 bytes_to_unicode)
    byte_enc: [char; 256],
    /// unicode char -> byte (inverse of byte_enc)
    byte_dec: HashMap<char, u8>,
    /// id of each single byte token (byte_enc[b] as a token); a few control
    /// bytes have none in this vocabulary and are dropped (like HF without unk)
    byte_token: [Option<u32>; 256],
    cache: HashMap<String, Vec<u32>>,
}

/// GPT-2's reversible byte <-> unicode map: printable latin-1 bytes map to
/// themselves, the remaining 68 bytes map to U+0100.. in order.
pub fn bytes_to_unicode() -> [char; 256] {
    let mut map = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable = (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        map[b as usize] = if printable {
            char::from_u32(b).unwrap()
        } else {
            let c = char::from_u32(256 + n).unwrap();
            n += 1;
            c
        };
    }
    map
}

impl Gpt2Tokenizer {
    /// `tokens`: vocabulary in id order; `merges`: "left right" strings in rank order;
    /// `token_types`: llama.cpp token types (3 = control), may be empty.
    pub fn new(tokens: Vec<String>, merges: &[String], token_types: &[i32]) -> Result<Self, String> {
        let vocab: HashMap<String, u32> =
            tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let (a, b) = m.split_once(' ').ok_or_else(|| format!("bad merge {m:?}"))?;
            let (Some(&ia), Some(&ib)) = (vocab.get(a), vocab.get(b)) else { continue };
            let Some(&im) = vocab.get(&format!("{a}{b}")) else { continue };
            merge_map.entry((ia, ib)).or_insert((rank as u32, im));
        }
        let is_special: Vec<bool> = (0..tokens.len())
            .map(|i| token_types.get(i).is_some_and(|&t| t == 3 || t == 4))
            .collect();
        let mut specials: Vec<(String, u32)> = tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| is_special[*i])
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()));
        let byte_enc = bytes_to_unicode();
        let byte_dec = byte_enc.iter().enumerate().map(|(b, &c)| (c, b as u8)).collect();
        let mut byte_token = [None; 256];
        for b in 0..256 {
            byte_token[b] = vocab.get(&byte_enc[b].to_string()).copied();
        }
        Ok(Self { vocab, tokens, is_special, merges: merge_map, specials, byte_enc, byte_dec, byte_token, cache: HashMap::new() })
    }

    /// Build from a candle GGUF `Content`.
    pub fn from_gguf(ct: &candle_core::quantized::gguf_file::Content) -> Result<Self, String> {
        let md = |k: &str| ct.metadata.get(k).ok_or_else(|| format!("missing {k}"));
        let strs = |k: &str| -> Result<Vec<String>, String> {
            md(k)?
                .to_vec()
                .map_err(|e| e.to_string())?
                .iter()
                .map(|v| v.to_string().cloned().map_err(|e| e.to_string()))
                .collect()
        };
        let tokens = strs("tokenizer.ggml.tokens")?;
        let merges = strs("tokenizer.ggml.merges")?;
        let types: Vec<i32> = match ct.metadata.get("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| e.to_string())?
                .iter()
                .map(|v| v.to_i32().map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?,
            None => vec![],
        };
        Self::new(tokens, &merges, &types)
    }

    pub fn token_id(&self, s: &str) -> Option<u32> {
        self.vocab.get(s).copied()
    }

    /// Encode text; control tokens written literally in `text` become single tokens.
    pub fn encode(&mut self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            // earliest special token occurrence (longest wins at equal position)
            let mut best: Option<(usize, usize, u32)> = None; // (pos, len, id)
            for (s, id) in &self.specials {
                if let Some(p) = rest.find(s.as_str()) {
                    if best.is_none_or(|(bp, bl, _)| p < bp || (p == bp && s.len() > bl)) {
                        best = Some((p, s.len(), *id));
                    }
                }
            }
            match best {
                Some((p, l, id)) => {
                    self.encode_ordinary(&rest[..p], &mut out);
                    out.push(id);
                    rest = &rest[p + l..];
                }
                None => {
                    self.encode_ordinary(rest, &mut out);
                    rest = "";
                }
            }
        }
        out
    }

    fn encode_ordinary(&mut self, text: &str, out: &mut Vec<u32>) {
        for piece in pre_tokenize(text) {
            if let Some(ids) = self.cache.get(piece) {
                out.extend_from_slice(ids);
                continue;
            }
            let ids = self.bpe(piece);
            out.extend_from_slice(&ids);
            self.cache.insert(piece.to_string(), ids);
        }
    }

    /// Byte-level BPE on one pre-token: start from byte tokens and apply the
    /// lowest-ranked merge until none applies.
    fn bpe(&self, piece: &str) -> Vec<u32> {
        // fast path: whole piece is a token
        let mapped: String = piece.bytes().map(|b| self.byte_enc[b as usize]).collect();
        if let Some(&id) = self.vocab.get(&mapped) {
            return vec![id];
        }
        let mut syms: Vec<u32> = piece.bytes().filter_map(|b| self.byte_token[b as usize]).collect();
        loop {
            let mut best: Option<(u32, usize, u32)> = None; // (rank, index, merged)
            for i in 0..syms.len().saturating_sub(1) {
                if let Some(&(rank, merged)) = self.merges.get(&(syms[i], syms[i + 1])) {
                    if best.is_none_or(|(r, _, _)| rank < r) {
                        best = Some((rank, i, merged));
                    }
                }
            }
            let Some((rank, _, merged)) = best else { break };
            // merge every occurrence of this pair, left to right
            let mut i = 0;
            let mut next = Vec::with_capacity(syms.len());
            while i < syms.len() {
                if i + 1 < syms.len() && self.merges.get(&(syms[i], syms[i + 1])).is_some_and(|&(r, _)| r == rank) {
                    next.push(merged);
                    i += 2;
                } else {
                    next.push(syms[i]);
                    i += 1;
                }
            }
            syms = next;
        }
        syms
    }

    /// Raw bytes of one token (control tokens give their literal text).
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(t) = self.tokens.get(id as usize) else { return vec![] };
        if self.is_special[id as usize] {
            return t.as_bytes().to_vec();
        }
        t.chars()
            .map(|c| match self.byte_dec.get(&c) {
                Some(&b) => vec![b],
                None => c.to_string().into_bytes(), // not byte-level: keep as is
            })
            .flatten()
            .collect()
    }

    /// Decode a whole sequence; `skip_special` drops control tokens.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            if skip_special && self.is_special.get(id as usize).copied().unwrap_or(false) {
                continue;
            }
            bytes.extend(self.token_bytes(id));
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Incremental decoder for streaming: buffers bytes until they form valid UTF-8
/// (a multi-byte character can be split across tokens).
#[derive(Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    pub fn push(&mut self, tok: &Gpt2Tokenizer, id: u32) -> String {
        self.pending.extend(tok.token_bytes(id));
        match std::str::from_utf8(&self.pending) {
            Ok(s) => {
                let s = s.to_string();
                self.pending.clear();
                s
            }
            Err(e) => {
                let valid = e.valid_up_to();
                // invalid (not merely incomplete) sequence: emit lossily
                if e.error_len().is_some() {
                    let s = String::from_utf8_lossy(&self.pending).into_owned();
                    self.pending.clear();
                    return s;
                }
                let s = std::str::from_utf8(&self.pending[..valid]).unwrap().to_string();
                self.pending.drain(..valid);
                s
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Cls {
    Letter,
    Digit,
    Space,
    Other,
}

fn cls(c: char) -> Cls {
    if c.is_whitespace() {
        Cls::Space
    } else if c.is_alphabetic() {
        Cls::Letter
    } else if c.is_numeric() {
        Cls::Digit
    } else {
        Cls::Other
    }
}

/// GPT-2 pre-tokenizer with individual digits (llama.cpp `smollm`).
/// Returns slices of `text` that concatenate back to `text`.
pub fn pre_tokenize(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let off = |i: usize| if i < n { chars[i].0 } else { text.len() };
    let c_at = |i: usize| chars.get(i).map(|x| x.1);
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let start = i;
        let c = chars[i].1;
        // digits: always a piece of their own (Digits(individual_digits=true))
        if cls(c) == Cls::Digit {
            out.push(&text[off(i)..off(i + 1)]);
            i += 1;
            continue;
        }
        // contractions 's 't 're 've 'm 'll 'd
        if c == '\'' {
            let rest = &text[off(i)..];
            if let Some(l) = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
                .iter()
                .find(|p| rest.starts_with(**p))
                .map(|p| p.len())
            {
                out.push(&rest[..l]);
                i += l; // all ASCII
                continue;
            }
        }
        // optional single leading space before letters / other symbols
        // (not before digits: digits were split off first, so the space stays alone)
        let (j, first) = if c == ' ' {
            match c_at(i + 1) {
                Some(nc) if matches!(cls(nc), Cls::Letter | Cls::Other) => (i + 1, nc),
                _ => (i, c),
            }
        } else {
            (i, c)
        };
        match cls(first) {
            Cls::Letter => {
                let mut k = j + 1;
                while k < n && cls(chars[k].1) == Cls::Letter {
                    k += 1;
                }
                i = k;
            }
            Cls::Other => {
                let mut k = j + 1;
                while k < n && cls(chars[k].1) == Cls::Other {
                    k += 1;
                }
                i = k;
            }
            Cls::Space => {
                // \s+(?!\S) | \s+
                let mut k = i;
                while k < n && cls(chars[k].1) == Cls::Space {
                    k += 1;
                }
                // if followed by a non-space (that is not a digit, which starts a new
                // piece) leave the last whitespace char for the next token
                let followed_by_nonspace = k < n && cls(chars[k].1) != Cls::Digit;
                if followed_by_nonspace && k - i > 1 {
                    k -= 1;
                }
                i = k;
            }
            Cls::Digit => unreachable!(),
        }
        out.push(&text[off(start)..off(i)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn pretok() {
        assert_eq!(pre_tokenize("Hello world, it's 17!"), vec!["Hello", " world", ",", " it", "'s", " ", "1", "7", "!"]);
        assert_eq!(pre_tokenize("a\n- b  c"), vec!["a", "\n", "-", " b", " ", " c"]);
        assert_eq!(pre_tokenize("x\n\nY"), vec!["x", "\n", "\n", "Y"]);
        assert_eq!(pre_tokenize("end.  "), vec!["end", ".", "  "]);
    }
}

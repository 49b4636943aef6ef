//! The `http` narrator: any OpenAI-compatible `/v1/chat/completions` with `stream: true` (a
//! llama.cpp server, a hosted API). Its server-sent `data:` lines carry the answer's pieces in
//! `choices[0].delta.content`, up to `data: [DONE]`.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use super::{NarrateError, Narrator, Pieces, prompt};
use crate::config::Secret;
use crate::game::plan::Scene;

/// Tokens asked for at most (the chunker bounds the text anyway).
const MAX_TOKENS: u32 = 400;

/// A client of one chat-completions server.
pub struct Http {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Option<Secret>,
}

impl Http {
    /// A narrator asking `url` (its base, without `/v1/...`) for `model`.
    pub fn new(url: &str, model: &str, key: Option<Secret>) -> Http {
        Http { client: reqwest::Client::new(), url: url.trim_end_matches('/').to_owned(), model: model.to_owned(), key }
    }
}

fn failed(e: impl std::fmt::Display) -> NarrateError {
    NarrateError::Failed(e.to_string())
}

/// What is left to read of an answer.
enum State {
    Asking(Box<reqwest::RequestBuilder>),
    Reading { body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>, buf: Vec<u8> },
    Done,
}

impl Narrator for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn narrate(&self, scene: Scene) -> Pieces {
        let body = json!({
            "model": self.model,
            "stream": true,
            "max_tokens": MAX_TOKENS,
            "messages": [
                {"role": "system", "content": prompt::system(&scene)},
                {"role": "user", "content": prompt::user(&scene)},
            ],
        });
        let mut req = self.client.post(format!("{}/v1/chat/completions", self.url)).json(&body);
        if let Some(key) = &self.key {
            req = req.bearer_auth(key.expose_str());
        }
        Box::pin(futures_util::stream::unfold(State::Asking(Box::new(req)), next))
    }
}

/// The next piece of the answer (or its failure), and what is left.
async fn next(mut state: State) -> Option<(Result<String, NarrateError>, State)> {
    loop {
        state = match state {
            State::Done => return None,
            State::Asking(req) => match req.send().await {
                Ok(resp) if resp.status().is_success() => {
                    State::Reading { body: Box::pin(resp.bytes_stream()), buf: Vec::new() }
                }
                Ok(resp) => {
                    let status = resp.status();
                    let text: String = resp.text().await.unwrap_or_default().chars().take(200).collect();
                    return Some((Err(failed(format!("HTTP {status}: {text}"))), State::Done));
                }
                Err(e) => return Some((Err(failed(e)), State::Done)),
            },
            State::Reading { mut body, mut buf } => {
                if let Some(end) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=end).collect();
                    match piece(&line) {
                        Line::Skip => State::Reading { body, buf },
                        Line::Text(t) => return Some((Ok(t), State::Reading { body, buf })),
                        Line::End => return None,
                        Line::Error(e) => return Some((Err(e), State::Done)),
                    }
                } else {
                    match body.next().await {
                        Some(Ok(bytes)) => {
                            buf.extend_from_slice(&bytes);
                            State::Reading { body, buf }
                        }
                        Some(Err(e)) => return Some((Err(failed(e)), State::Done)),
                        // The server closed without `[DONE]`: what came is the answer.
                        None => return None,
                    }
                }
            }
        };
    }
}

enum Line {
    Skip,
    Text(String),
    End,
    Error(NarrateError),
}

/// One line of the event stream.
fn piece(line: &[u8]) -> Line {
    let line = String::from_utf8_lossy(line);
    let Some(data) = line.trim_end().strip_prefix("data:") else { return Line::Skip };
    let data = data.trim_start();
    if data == "[DONE]" {
        return Line::End;
    }
    let Ok(v) = serde_json::from_str::<Value>(data) else {
        return Line::Error(failed(format!("not a chat-completions chunk: {data:.80}")));
    };
    if let Some(err) = v.get("error") {
        return Line::Error(failed(err.get("message").and_then(Value::as_str).unwrap_or("an error")));
    }
    match v["choices"][0]["delta"]["content"].as_str() {
        Some(t) if !t.is_empty() => Line::Text(t.to_owned()),
        _ => Line::Skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_s_lines_read_as_pieces_its_end_and_its_errors() {
        let text = |l: &str| match piece(l.as_bytes()) {
            Line::Text(t) => Some(t),
            _ => None,
        };
        assert_eq!(text(r#"data: {"choices":[{"delta":{"content":"The door"}}]}"#).as_deref(), Some("The door"));
        assert_eq!(text(r#"data:{"choices":[{"delta":{"role":"assistant"}}]}"#), None);
        assert_eq!(text(": keep-alive"), None);
        assert!(matches!(piece(b"data: [DONE]\r\n"), Line::End));
        assert!(matches!(piece(br#"data: {"error":{"message":"overloaded"}}"#), Line::Error(_)));
        assert!(matches!(piece(b"data: {not json"), Line::Error(_)));
    }
}

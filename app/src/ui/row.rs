//! One line of the conversation as the list shows it (the chat and the game screen share it).

use leptos::prelude::*;

use crate::links::{Piece, pieces};
use crate::timeline::{Kind, Line};

/// A line as the list shows it: whether it goes on its sender's group, and a day to show above it.
#[derive(Clone)]
pub struct RowData {
    pub line: Line,
    pub grouped: bool,
    pub day: Option<String>,
}

/// One line of the conversation (a day marker above it when a day starts).
#[component]
pub fn Row(row: RowData) -> impl IntoView {
    let RowData { line, grouped, day } = row;
    let kind = match line.kind {
        Kind::Talk => "talk",
        Kind::Notice => "notice",
        Kind::Move => "move",
        Kind::Dice => "dice",
        Kind::Narration => "gm-line",
        Kind::GameEnd => "game-end",
    };
    let system = line.kind == Kind::Notice || line.kind == Kind::GameEnd;
    let testid = if line.kind == Kind::Talk { "message" } else { "system-line" };
    view! {
        {day.map(|d| view! { <li class="day" data-testid="day">{d}</li> })}
        <li
            class=format!("message {kind}")
            class:own=line.own
            class:system=system
            class:grouped=grouped
            class:whisper=line.whisper.is_some()
            class:mention=line.mention
            data-testid=testid
            data-seq=line.seq
        >
            <Show when=move || !grouped && !system>
                <span class="who">{line.who.clone()}</span>
            </Show>
            <span class="time">{line.time.clone()}</span>
            {line.whisper.clone().map(|w| view! { <span class="whisper-tag">{format!("whisper {w}")}</span> })}
            {line.mention.then(|| view! { <span class="sr-only">"mentions you: "</span> })}
            <span class="text">{linked(&line.text)}</span>
        </li>
    }
}

/// A line's text with its web addresses as links (opened apart, telling the site nothing).
fn linked(text: &str) -> impl IntoView + use<> {
    pieces(text)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t.to_owned().into_any(),
            Piece::Link(url) => {
                let (href, shown) = (url.to_owned(), url.to_owned());
                view! { <a href=href target="_blank" rel="noopener noreferrer">{shown}</a> }.into_any()
            }
        })
        .collect_view()
}

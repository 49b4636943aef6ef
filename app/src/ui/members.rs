//! Who is in the room (with their presence), who is typing, and picking someone to whisper to.

use leptos::prelude::*;

use super::chat::ChatState;

/// The member list: pick someone else (click, or Enter on their button) to whisper to them.
#[component]
pub fn Members(state: ChatState) -> impl IntoView {
    let me = state.me.get_value();
    view! {
        <aside class="members" data-testid="members">
            <h2>{move || format!("In the room · {}", state.members.with(Vec::len))}</h2>
            <ul>
                <For each=move || state.members.get() key=|m| (m.member_id.clone(), m.status.clone()) let:member>
                    {
                        let is_me = member.member_id == me;
                        let online = member.status == "ONLINE";
                        let picked = {
                            let id = member.member_id.clone();
                            move || state.whisper_to.with(|w| w.as_ref().is_some_and(|w| w.member_id == id))
                        };
                        let pick = member.clone();
                        let away = member.status != "ONLINE";
                        view! {
                            <li
                                class="member"
                                class:online=online
                                class:picked=picked
                                data-testid="member"
                                data-status=member.status.clone()
                            >
                                <button
                                    type="button"
                                    class="member-pick"
                                    disabled=is_me
                                    title=if is_me { "You" } else { "Whisper to this member" }
                                    on:click=move |_| state.whisper_to.set(Some(pick.clone()))
                                >
                                    // Presence by shape and words, not colour alone.
                                    <span class="dot" aria-hidden="true">{if away { "○" } else { "●" }}</span>
                                    <span class="name">{member.nickname.clone()}</span>
                                    {is_me.then(|| view! { <span class="you">"(you)"</span> })}
                                    <span class="sr-only">{if away { ", away" } else { ", online" }}</span>
                                    {(!is_me).then(|| view! { <span class="sr-only">": whisper"</span> })}
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </aside>
    }
}

/// "Aria is typing…" under the messages (empty when nobody is).
#[component]
pub fn TypingLine(state: ChatState) -> impl IntoView {
    let text = move || {
        state.typing.with(|v| match v.as_slice() {
            [] => String::new(),
            [one] => format!("{} is typing…", one.nickname),
            [a, b] => format!("{} and {} are typing…", a.nickname, b.nickname),
            many => format!("{} people are typing…", many.len()),
        })
    };
    view! { <p class="typing" data-testid="typing">{text}</p> }
}

/// The whisper target above the composer, with a button to go back to talking to the room.
#[component]
pub fn WhisperTarget(state: ChatState) -> impl IntoView {
    view! {
        <Show when=move || state.whisper_to.with(Option::is_some)>
            <div class="whisper-target" data-testid="whisper-target">
                {move || state.whisper_to.with(|w| w.as_ref().map(|w| format!("Whispering to {}", w.nickname)))}
                <button type="button" class="link" data-testid="whisper-cancel" on:click=move |_| state.whisper_to.set(None)>
                    "× to everyone"
                </button>
            </div>
        </Show>
    }
}

//! The transport buttons, and per transport the echo latency of one's own messages.

use leptos::prelude::*;

use super::chat::ChatState;
use super::link::Transport;

/// The transport buttons, and per transport the echo latency of one's own messages.
#[component]
pub fn Switcher(state: ChatState, switch: impl Fn(Transport) + Copy + Send + Sync + 'static) -> impl IntoView {
    let figure = move |t: Transport| {
        let l = state.latency.read();
        let samples = &l[t.index()];
        match median_p99(samples) {
            Some((median, p99)) => format!("{median:.0} ms · p99 {p99:.0} ms · n={}", samples.len()),
            None => "no samples yet".to_owned(),
        }
    };
    view! {
        <div class="switcher" data-testid="switcher">
            <div class="row transports" role="group" aria-label="Transport">
                {Transport::ALL
                    .into_iter()
                    .map(|t| {
                        let active = move || state.transport.get() == t;
                        view! {
                            <button
                                type="button"
                                class="transport"
                                class:active=active
                                aria-pressed=move || active().to_string()
                                data-testid=format!("transport-{}", t.id())
                                on:click=move |_| switch(t)
                            >
                                {t.label()}
                            </button>
                        }
                    })
                    .collect_view()}
                <span class="active-transport" data-testid="active-transport">
                    {move || state.transport.get().label()}
                </span>
            </div>
            <table class="latency">
                <caption>"Echo latency of your messages (median · p99)"</caption>
                <tbody>
                    {Transport::ALL
                        .into_iter()
                        .map(|t| {
                            view! {
                                <tr class:active=move || state.transport.get() == t>
                                    <th scope="row">{t.label()}</th>
                                    <td data-testid=format!("latency-{}", t.id())>{move || figure(t)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// Median and 99th percentile of some samples (nearest rank), if there are any.
pub fn median_p99(samples: &[f64]) -> Option<(f64, f64)> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Some((rank(0.5), rank(0.99)))
}

//! The Measure panel: a short live comparison from this browser (echo latency of each transport:
//! send a message, see it come back through the room) drawn as CDFs, beside the last full
//! comparison (`bench/compare.sh`). Both reach the server through typed server functions.

use futures::StreamExt;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::SessionCtx;
use super::api;
use super::browser::{new_message_id, now_ms};
use super::link::{Incoming, Link, Sent, Transport};
use crate::fns::{last_comparison, recent_measurements, save_measurement};
use crate::wire::{ClientFrame, Comparison, ErrorCode, MeasureReport, Measurement, ServerFrame};

const COLORS: [&str; Transport::COUNT] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];

/// The panel.
#[component]
pub fn MeasurePanel() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let count = RwSignal::new(100u32);
    let running = RwSignal::new(None::<String>);
    let results = RwSignal::new(Vec::<Measurement>::new());
    let recent = RwSignal::new(Vec::<MeasureReport>::new());
    let comparison = RwSignal::new(None::<Comparison>);
    spawn_local(async move {
        if let Ok(c) = last_comparison().await {
            comparison.try_set(c);
        }
        if let Ok(r) = recent_measurements().await {
            recent.try_set(r);
        }
    });
    let run = move |_| {
        if running.get_untracked().is_some() {
            return;
        }
        let n = count.get_untracked().clamp(10, 1000);
        spawn_local(async move {
            let token = session.token();
            let room = match api::create_private_room(&token, format!("measure {}", now_ms() as u64)).await {
                Ok(r) => r.room_id.0,
                Err(e) => return running.set(Some(format!("Could not make a room: {}", e.message))),
            };
            results.set(Vec::new());
            for t in Transport::ALL {
                running.set(Some(format!("{}: {n} messages…", t.label())));
                let samples = echo_latencies(t, &room, &token, &session.member_id(), n).await;
                results.update(|r| r.push(Measurement::of(t.id(), &samples)));
            }
            running.set(None);
            let report = MeasureReport { nickname: String::new(), at: String::new(), results: results.get_untracked() };
            if let Ok(r) = save_measurement(token, report).await {
                recent.set(r);
            }
        });
    };
    view! {
        <section class="measure" data-testid="measure">
            <h1>"Measure"</h1>
            <p class="dim">
                "Echo latency from this browser: each message is sent and timed until it comes back through the room, "
                "on each transport in turn (paced by your rate limit)."
            </p>
            <div class="measure-controls">
                <label>"Messages per transport "
                    <input type="number" min="10" max="1000" prop:value=move || count.get().to_string()
                        on:input=move |ev| count.set(event_target_value(&ev).parse().unwrap_or(100)) />
                </label>
                <button data-testid="measure-run" on:click=run disabled=move || running.with(Option::is_some)>"Run"</button>
                <span class="dim" data-testid="measure-status">{move || running.get().unwrap_or_default()}</span>
            </div>
            <div class="measure-grid">
                <div>
                    {move || cdf_chart(results.get())}
                    {move || table(results.get())}
                </div>
                <div>
                    <h2>"Last full comparison"</h2>
                    {move || comparison_table(comparison.get())}
                    <h2>"Recent runs"</h2>
                    <ul class="recent" data-testid="measure-recent">
                        {move || recent.get().into_iter().map(|r| {
                            let line = r.results.iter()
                                .map(|m| format!("{} p50 {:.1} ms", m.transport, m.p50_ms))
                                .collect::<Vec<_>>().join(" · ");
                            view! { <li>{format!("{} ({}): {line}", r.nickname, r.at)}</li> }
                        }).collect_view()}
                    </ul>
                </div>
            </div>
        </section>
    }
}

/// Sends `n` messages over a fresh link and returns each one's echo time in ms.
async fn echo_latencies(t: Transport, room: &str, token: &str, member: &str, n: u32) -> Vec<f64> {
    let mut link = Link::open(t, room, token, member, Some(0));
    // Up first: the hello frame, or a long poll's first answer.
    while let Some(item) = link.incoming.next().await {
        match item {
            Incoming::Opened | Incoming::Frame(ServerFrame::Connected { .. }) => break,
            Incoming::Down(_) => return Vec::new(),
            Incoming::Frame(_) => {}
        }
    }
    // Talking takes a seat (a repeated JOIN is ignored).
    if !matches!(link.send(&ClientFrame::Join).await, Sent::Ok) {
        return Vec::new();
    }
    let mut samples = Vec::with_capacity(n as usize);
    for i in 0..n {
        let id = new_message_id();
        let frame = ClientFrame::Talk { content: format!("measure {i}"), message_id: Some(id), receiver_id: None };
        let start = now_ms();
        loop {
            match link.send(&frame).await {
                Sent::Refused(e) if e.code == ErrorCode::RateLimited => {
                    gloo_timers::future::TimeoutFuture::new(e.retry_after_ms.unwrap_or(200).min(5_000) as u32).await;
                    continue;
                }
                Sent::Ok | Sent::Warned(_) => {}
                Sent::Refused(_) | Sent::Failed => return samples,
            }
            break;
        }
        // Wait for the echo (a WebSocket's rate-limit refusal arrives as a frame: send again).
        loop {
            match link.incoming.next().await {
                Some(Incoming::Frame(ServerFrame::Talk(talk))) if talk.message_id == id => {
                    samples.push(now_ms() - start);
                    break;
                }
                Some(Incoming::Frame(ServerFrame::Error { code: ErrorCode::RateLimited, retry_after_ms, .. })) => {
                    gloo_timers::future::TimeoutFuture::new(retry_after_ms.unwrap_or(200).min(5_000) as u32).await;
                    if !matches!(link.send(&frame).await, Sent::Ok) {
                        return samples;
                    }
                }
                Some(Incoming::Down(_)) | None => return samples,
                Some(_) => {}
            }
        }
    }
    samples
}

/// The CDFs of the runs on a log scale of ms.
fn cdf_chart(runs: Vec<Measurement>) -> impl IntoView {
    let (w, h, pad) = (520.0, 260.0, 36.0);
    let max = runs.iter().map(|m| m.max_ms).fold(1.0f64, f64::max);
    let (lo, hi) = (0.1f64.ln(), (max * 1.2).max(1.0).ln());
    let x = move |ms: f64| pad + (ms.max(0.1).ln() - lo) / (hi - lo) * (w - 2.0 * pad);
    let y = move |q: f64| h - pad - q * (h - 2.0 * pad);
    let ticks: Vec<f64> = [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0].into_iter().filter(|t| *t <= max * 1.2).collect();
    let lines = runs
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let points: String = m.cdf.iter().map(|&(ms, q)| format!("{:.1},{:.1} ", x(ms), y(q))).collect();
            let color = COLORS[i % COLORS.len()];
            let legend_y = pad + 16.0 * i as f64;
            view! {
                <polyline points=points fill="none" stroke=color stroke-width="2" />
                <text x=w - pad - 120.0 y=legend_y fill=color font-size="12">{m.transport}</text>
            }
        })
        .collect_view();
    view! {
        <svg class="cdf" data-testid="measure-chart" viewBox=format!("0 0 {w} {h}") width="100%">
            <line x1=pad y1=h - pad x2=w - pad y2=h - pad stroke="#999" />
            <line x1=pad y1=pad x2=pad y2=h - pad stroke="#999" />
            {ticks.into_iter().map(|t| view! {
                <text x=x(t) y=h - pad + 14.0 font-size="10" text-anchor="middle" fill="#9aa3b5">{format!("{t} ms")}</text>
            }).collect_view()}
            <text x=pad - 4.0 y=pad font-size="10" text-anchor="end" fill="#9aa3b5">"1"</text>
            <text x=pad - 4.0 y=h - pad font-size="10" text-anchor="end" fill="#9aa3b5">"0"</text>
            {lines}
        </svg>
    }
}

fn table(runs: Vec<Measurement>) -> impl IntoView {
    let rows = runs
        .into_iter()
        .map(|m| {
            view! {
                <tr>
                    <td>{m.transport}</td><td>{m.samples}</td>
                    <td>{format!("{:.1}", m.p50_ms)}</td><td>{format!("{:.1}", m.p90_ms)}</td>
                    <td>{format!("{:.1}", m.p99_ms)}</td><td>{format!("{:.1}", m.max_ms)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="numbers" data-testid="measure-table">
            <tr><th>"transport"</th><th>"n"</th><th>"p50 ms"</th><th>"p90"</th><th>"p99"</th><th>"max"</th></tr>
            {rows}
        </table>
    }
}

fn comparison_table(c: Option<Comparison>) -> impl IntoView {
    let Some(c) = c else {
        return view! { <p class="dim">"This server was built without comparison results (bash bench/compare.sh)."</p> }
            .into_any();
    };
    let rows = c
        .runs
        .into_iter()
        .map(|r| {
            view! {
                <tr>
                    <td>{format!("{} {}", r.server, r.transport)}</td><td>{r.connections}</td>
                    <td>{format!("{:.0}k", r.max_sustained / 1000.0)}</td>
                    <td>{format!("{:.2} / {:.2}", r.light_p50_ms, r.light_p99_ms)}</td>
                    <td>{format!("{:.0}", r.bytes_per_delivery)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="dim">{c.machine}</p>
        <table class="numbers" data-testid="comparison-table">
            <tr><th>"server"</th><th>"conns"</th><th>"max/s"</th><th>"p50 / p99 ms"</th><th>"B/msg"</th></tr>
            {rows}
        </table>
    }
    .into_any()
}

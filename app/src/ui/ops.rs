//! The ops view: every node of the cluster with its connections per transport, rooms, RESYNCs
//! and consumer lag, refreshed every two seconds through the `cluster_ops` server function (`/api/fn/ops_view`).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::SessionCtx;
use crate::fns::cluster_ops;
use crate::wire::{NodeStats, OpsView};

/// How often the panel asks again.
const REFRESH_MS: u32 = 2_000;

/// The panel.
#[component]
pub fn OpsPanel() -> impl IntoView {
    let session = expect_context::<SessionCtx>();
    let view_now = RwSignal::new(None::<OpsView>);
    let error = RwSignal::new(None::<String>);
    let alive = RwSignal::new(true);
    on_cleanup(move || alive.set(false));
    spawn_local(async move {
        while alive.get_untracked() {
            match cluster_ops(session.token()).await {
                Ok(v) => {
                    view_now.try_set(Some(v));
                    error.try_set(None);
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            gloo_timers::future::TimeoutFuture::new(REFRESH_MS).await;
        }
    });
    view! {
        <section class="ops" data-testid="ops">
            <h1>"Cluster"</h1>
            <p class="dim" data-testid="ops-backends">
                {move || view_now.with(|v| v.as_ref().map(|v| format!(
                    "Answered by {} · store {} · log {} · shared state {}", v.node, v.store, v.log, v.shared
                )))}
            </p>
            <p class="error" data-testid="ops-error">{move || error.get()}</p>
            <table class="ops-nodes" data-testid="ops-nodes">
                <thead>
                    <tr>
                        <th>"node"</th><th>"WebSocket"</th><th>"SSE"</th><th>"long poll"</th>
                        <th>"rooms"</th><th>"deliveries"</th><th>"RESYNCs"</th><th>"consumer lag"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || view_now.with(|v| v.as_ref().map(|v| v.nodes.iter().map(row).collect_view()))}
                </tbody>
            </table>
        </section>
    }
}

/// One node's line.
fn row(n: &NodeStats) -> impl IntoView + use<> {
    let count = |t: &str| n.connections.iter().find(|c| c.transport == t).map_or(0, |c| c.connections);
    let lag = if n.consumer_lag.is_empty() {
        "—".to_owned()
    } else {
        n.consumer_lag.iter().map(|l| format!("{} p{}: {}", l.group, l.partition, l.lag)).collect::<Vec<_>>().join(", ")
    };
    view! {
        <tr data-testid="ops-node" data-node=n.node.clone()>
            <td>{n.node.clone()}</td>
            <td data-testid="ops-ws">{count("ws")}</td>
            <td data-testid="ops-sse">{count("sse")}</td>
            <td data-testid="ops-poll">{count("poll")}</td>
            <td>{n.rooms}</td>
            <td>{n.deliveries}</td>
            <td>{n.resyncs}</td>
            <td class="lag">{lag}</td>
        </tr>
    }
}

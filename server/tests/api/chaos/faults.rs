//! The seeded fault schedule: one fault at a time, every few seconds, each undone before the
//! next (a node killed is started again, a service stopped or paused comes back).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::cluster::Cluster;
use super::reader::Journal;
use super::{Counts, Rng};

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Injects faults for `secs`, then heals the cluster.
pub async fn run(cluster: Arc<Cluster>, journals: Vec<Arc<Journal>>, mut rng: Rng, counts: Arc<Counts>, secs: u64) {
    let end = Instant::now() + Duration::from_secs(secs);
    // The clients settle in first.
    sleep_ms(3000).await;
    while Instant::now() < end {
        let fault = rng.range(0, 6);
        let what = match fault {
            0 | 1 => {
                let up = cluster.up();
                let i = up[rng.range(0, up.len() as u64) as usize];
                cluster.kill(i).await;
                sleep_ms(rng.range(2000, 6000)).await;
                cluster.restart(i).await;
                format!("kill -9 node {i}, started again")
            }
            2 => {
                let mut b = cluster.backends.lock().await;
                b.redis.stop().await;
                sleep_ms(rng.range(1000, 3000)).await;
                b.redis.start_again().await;
                "Redis restarted".to_owned()
            }
            3 => {
                let mut b = cluster.backends.lock().await;
                b.kafka.stop().await;
                sleep_ms(rng.range(2000, 5000)).await;
                b.kafka.start_again().await;
                "broker restarted".to_owned()
            }
            4 => {
                let b = cluster.backends.lock().await;
                b.mongo.freeze();
                sleep_ms(rng.range(2000, 5000)).await;
                b.mongo.thaw();
                "store paused (SIGSTOP) and resumed".to_owned()
            }
            _ => {
                let n = rng.range(1, 4);
                for _ in 0..n {
                    let j = &journals[rng.range(0, journals.len() as u64) as usize];
                    j.drop.store(true, Ordering::SeqCst);
                }
                format!("{n} clients dropped")
            }
        };
        counts.faults.fetch_add(1, Ordering::SeqCst);
        println!("chaos: fault {}: {what}", counts.faults.load(Ordering::SeqCst));
        sleep_ms(rng.range(2000, 6000)).await;
    }
    cluster.heal().await;
}

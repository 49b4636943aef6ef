//! SVG plots of a results file: latency CDFs, throughput against connections, memory per idle
//! connection, and the servers side by side.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;

use crate::report::Results;

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

/// Writes every plot of `results` into `dir`.
pub fn all(results: &Results, dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut out = |name: &str| {
        let p = dir.join(name);
        written.push(p.display().to_string());
        p
    };
    latency_cdf(results, &out("latency-cdf.svg"))?;
    throughput(results, &out("throughput.svg"))?;
    bars(
        &out("memory.svg"),
        "Server memory per idle connection (KiB)",
        results.idle.iter().map(|i| (format!("{} {}", i.server, i.transport), i.kib_per_connection)).collect(),
    )?;
    let best: Vec<(String, f64)> = results
        .fanout
        .iter()
        .filter(|f| f.rooms * f.subscribers_per_room == smallest_crowd(results))
        .map(|f| (format!("{} {}", f.server, f.transport), f.max_sustained / 1000.0))
        .collect();
    bars(&out("comparison.svg"), "Max sustained fan-out (thousand deliveries/s, p99 <= limit, none lost)", best)?;
    if let Some(game) = results.game.last() {
        let series = [
            ("chat echo, no game".to_owned(), &game.chat_idle),
            (format!("chat echo, {} games narrating", game.games), &game.chat_during),
            ("game master's first words after a turn closes".to_owned(), &game.first_chunk),
        ];
        cdf(&out("game.svg"), "The game master and chat beside it (CDF)", &series)?;
    }
    Ok(written)
}

fn smallest_crowd(results: &Results) -> usize {
    results.fanout.iter().map(|f| f.rooms * f.subscribers_per_room).min().unwrap_or(0)
}

/// The CDF of latency at the lightest load of each run (log scale).
fn latency_cdf(results: &Results, path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Latency at light load, send to receive (CDF)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((0.05f64..1000f64).log_scale(), 0f64..1f64)?;
    chart.configure_mesh().x_desc("milliseconds").y_desc("fraction of deliveries").draw()?;
    let runs = results.fanout.iter().filter(|f| f.rooms * f.subscribers_per_room == smallest_crowd(results));
    for (i, f) in runs.enumerate() {
        let Some(step) = f.steps.first() else { continue };
        let points: Vec<(f64, f64)> = step.latency.cdf.iter().map(|&(ms, q)| (ms.max(0.05), q)).collect();
        let c = color(i);
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))?
            .label(format!("{} {}", f.server, f.transport))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw()?;
    root.present()?;
    Ok(())
}

/// Latency CDFs of named series (log scale).
fn cdf(path: &Path, title: &str, series: &[(String, &crate::report::Latency)]) -> Result<()> {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((0.05f64..10000f64).log_scale(), 0f64..1f64)?;
    chart.configure_mesh().x_desc("milliseconds").y_desc("fraction").draw()?;
    for (i, (name, latency)) in series.iter().enumerate() {
        let points: Vec<(f64, f64)> = latency.cdf.iter().map(|&(ms, q)| (ms.max(0.05), q)).collect();
        let c = color(i);
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw()?;
    root.present()?;
    Ok(())
}

/// Max sustained deliveries/s against the number of connections, one line per server/transport.
fn throughput(results: &Results, path: &Path) -> Result<()> {
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for f in &results.fanout {
        let name = format!("{} {}", f.server, f.transport);
        let point = ((f.rooms * f.subscribers_per_room) as f64, f.max_sustained / 1000.0);
        match series.iter_mut().find(|(n, _)| *n == name) {
            Some((_, pts)) => pts.push(point),
            None => series.push((name, vec![point])),
        }
    }
    let max_x = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)).fold(1.0, f64::max) * 1.1;
    let max_y = series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)).fold(1.0, f64::max) * 1.1;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Max sustained fan-out by connections", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max_x, 0f64..max_y)?;
    chart.configure_mesh().x_desc("connections").y_desc("thousand deliveries/s").draw()?;
    for (i, (name, mut pts)) in series.into_iter().enumerate() {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let c = color(i);
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, c.filled())))?;
    }
    chart.configure_series_labels().border_style(BLACK).background_style(WHITE).draw()?;
    root.present()?;
    Ok(())
}

/// A horizontal bar per entry.
fn bars(path: &Path, title: &str, entries: Vec<(String, f64)>) -> Result<()> {
    let n = entries.len().max(1);
    let max = entries.iter().map(|e| e.1).fold(1e-9, f64::max) * 1.15;
    let root = SVGBackend::new(path, (900, 120 + 40 * n as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(220)
        .build_cartesian_2d(0f64..max, (0..n).into_segmented())?;
    let labels: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()?;
    chart.draw_series(entries.iter().enumerate().map(|(i, (_, v))| {
        let mut bar = Rectangle::new(
            [(0.0, SegmentValue::Exact(i)), (*v, SegmentValue::Exact(i + 1))],
            color(i).mix(0.8).filled(),
        );
        bar.set_margin(6, 6, 0, 0);
        bar
    }))?;
    chart.draw_series(
        entries
            .iter()
            .enumerate()
            .map(|(i, (_, v))| Text::new(format!("{v:.1}"), (*v, SegmentValue::CenterOf(i)), ("sans-serif", 14))),
    )?;
    root.present()?;
    Ok(())
}

//! Benchmarks of figure output: the spin-engine preset's six-panel `iv` figure (P and AP, 2001 biases)
//! rendered to SVG, and that SVG rasterised to PNG (what every `spinpath run` does per figure).
//!
//! Run: `cargo bench -p spinpath --bench plot -- --quick`

use criterion::{criterion_group, criterion_main, Criterion};
use spinpath::plot::svg_to_png;
use spinpath::run::RunFile;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    );
    let out = RunFile::load(std::path::Path::new(path))
        .unwrap()
        .execute(&|| {})
        .unwrap();
    let fig = &out.figures.iter().find(|(n, _)| n == "iv.svg").unwrap().1;
    let svg = fig.to_svg().unwrap();
    let mut g = c.benchmark_group("figure");
    g.sample_size(10);
    g.bench_function("iv_svg_6_panels_2x2001_points", |b| {
        b.iter(|| black_box(fig.to_svg().unwrap()))
    });
    g.bench_function("iv_png_2240x2280", |b| {
        b.iter(|| black_box(svg_to_png(&svg).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

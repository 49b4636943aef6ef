//! Embeds the built frontend (Trunk's output, `frontend/dist` or `$DUNGEONTALK_DIST`) into the binary,
//! and the last transport comparison (`bench/results/results.json`) for the Measure panel.
//!
//! Generates `assets.rs`: one entry per file with its bytes and a content hash for the ETag, plus,
//! in release builds, a gzip variant of text and wasm files. Without a built frontend, a one-page
//! notice says how to build it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=DUNGEONTALK_DIST");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let dist =
        std::env::var("DUNGEONTALK_DIST").map(PathBuf::from).unwrap_or_else(|_| manifest.join("../frontend/dist"));
    println!("cargo:rerun-if-changed={}", dist.display());

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    } else {
        println!("cargo:warning=no built frontend at {}; embedding a notice page", dist.display());
    }
    files.sort();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    // Debug builds skip compression: the build script itself is unoptimised and the debug wasm big.
    let compress = std::env::var("PROFILE").as_deref() == Ok("release");
    let mut out = String::from("/// Every embedded file of the built frontend.\npub static ASSETS: &[Asset] = &[\n");
    for (i, (rel, path)) in files.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let hash = h.finish();
        let gzip = match compress.then(|| gzip(&bytes)).flatten() {
            Some(gz) => {
                let gz_path = out_dir.join(format!("asset-{i}.gz"));
                std::fs::write(&gz_path, gz).unwrap();
                format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
            }
            None => "None".into(),
        };
        out.push_str(&format!(
            "    Asset {{ path: {rel:?}, bytes: include_bytes!({path:?}), gzip: {gzip}, \
             etag: \"\\\"{hash:016x}\\\"\", gzip_etag: \"\\\"{hash:016x}-gz\\\"\" }},\n",
            path = path.display().to_string(),
        ));
    }
    out.push_str("];\n");
    let target = out_dir.join("assets.rs");
    std::fs::write(target, out).unwrap();
    embed_comparison(&manifest, &out_dir);
}

/// The last full transport comparison (`bench/compare.sh` writes it), shown by the UI's Measure
/// panel; empty when there is none.
fn embed_comparison(manifest: &Path, out_dir: &Path) {
    let results = manifest.join("../bench/results/results.json");
    println!("cargo:rerun-if-changed={}", results.display());
    let json = std::fs::read_to_string(&results).unwrap_or_default();
    std::fs::write(out_dir.join("comparison.json"), json).unwrap();
}

/// The gzip of a file worth compressing (text and wasm), if it saves at least a tenth.
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    let gz = enc.finish().unwrap();
    (gz.len() < bytes.len() * 9 / 10).then_some(gz)
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue; // Trunk's lock file and the like
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            files.push((format!("/{rel}"), path.canonicalize().unwrap()));
        }
    }
}

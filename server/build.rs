//! Embeds the built frontend (Trunk's output, `frontend/dist` or `$DUNGEONTALK_DIST`) into the binary.
//!
//! Generates `assets.rs`: one entry per file with its bytes, content type and a content hash for
//! the ETag. Without a built frontend, a one-page notice says how to build it.

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

    let mut out = String::from("/// Every embedded file of the built frontend.\npub static ASSETS: &[Asset] = &[\n");
    for (rel, path) in &files {
        let bytes = std::fs::read(path).unwrap();
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        out.push_str(&format!(
            "    Asset {{ path: {rel:?}, bytes: include_bytes!({path:?}), etag: \"\\\"{:016x}\\\"\" }},\n",
            h.finish(),
            path = path.display().to_string(),
        ));
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("assets.rs");
    std::fs::write(target, out).unwrap();
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

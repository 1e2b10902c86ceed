//! The documentation's commands run as written.
//!
//! A fenced block in README.md or docs/*.md is part of this test when the line before its opening
//! fence is `<!-- doc-test: sh -->` (run with bash, `spinpath` on PATH, from a scratch copy of the
//! repository's `examples/` and `scripts/`) or `<!-- doc-test: python -->` (run with `python3` when
//! the `spinpath` Python package imports; CI runs them in its virtual environment through
//! `crates/spinpath-py/tests/test_doc_snippets.py`). Each document gets a fresh scratch folder, and
//! its blocks run in order, so a block may use what an earlier one wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (language, first line number, code) of every marked block of `text`.
fn marked_blocks(text: &str) -> Vec<(String, usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < lines.len() {
        let t = lines[k].trim();
        if let Some(lang) = t
            .strip_prefix("<!-- doc-test:")
            .and_then(|r| r.strip_suffix("-->"))
            .map(|l| l.trim().to_string())
        {
            let fence = lines.get(k + 1).map(|l| l.trim()).unwrap_or("");
            assert!(
                fence.starts_with("```"),
                "line {}: a doc-test marker must be followed by a fenced block",
                k + 1
            );
            let mut code = String::new();
            let mut j = k + 2;
            while j < lines.len() && lines[j].trim() != "```" {
                code.push_str(lines[j]);
                code.push('\n');
                j += 1;
            }
            out.push((lang, k + 3, code));
            k = j;
        }
        k += 1;
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

fn python_has_spinpath() -> bool {
    Command::new("python3")
        .args(["-c", "import spinpath, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn marker_parsing_takes_only_marked_blocks() {
    let text = "a\n<!-- doc-test: sh -->\n```sh\necho 1\necho 2\n```\n\n```sh\nnot run\n```\n";
    let b = marked_blocks(text);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].0, "sh");
    assert_eq!(b[0].2, "echo 1\necho 2\n");
}

#[test]
fn documented_commands_run_as_written() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_spinpath"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let python = python_has_spinpath();
    let (mut ran_sh, mut ran_py, mut skipped_py) = (0, 0, 0);
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let blocks = marked_blocks(&text);
        if blocks.is_empty() {
            continue;
        }
        let scratch = tempfile::tempdir().unwrap();
        let d = scratch.path();
        copy_dir(&root().join("examples"), &d.join("examples"));
        copy_dir(&root().join("scripts"), &d.join("scripts"));
        std::fs::create_dir_all(d.join("docs")).unwrap();
        let name = doc.file_name().unwrap().to_string_lossy().to_string();
        for (lang, line, code) in blocks {
            let mut cmd = match lang.as_str() {
                "sh" => {
                    ran_sh += 1;
                    let mut c = Command::new("bash");
                    c.args(["-euo", "pipefail", "-c", &code]);
                    c
                }
                "python" if python => {
                    ran_py += 1;
                    let mut c = Command::new("python3");
                    c.args(["-c", &code]);
                    c
                }
                "python" => {
                    skipped_py += 1;
                    continue;
                }
                other => panic!("{name}:{line}: unknown doc-test language `{other}`"),
            };
            let out = cmd
                .current_dir(d)
                .env("PATH", &path)
                .env("SPINPATH", &bin)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}:{line}: the documented {lang} block failed:\n{code}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if name == "gallery.md" {
            // The gallery script regenerated every figure the page shows, and at least ten.
            let made: Vec<String> = std::fs::read_dir(d.join("docs/gallery"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .collect();
            let shown: Vec<&str> = text
                .split("](gallery/")
                .skip(1)
                .map(|s| &s[..s.find(')').unwrap()])
                .collect();
            assert!(
                shown.len() >= 10,
                "the gallery shows {} figures",
                shown.len()
            );
            for f in &shown {
                assert!(
                    made.iter().any(|m| m == f),
                    "gallery.md shows {f}, not regenerated"
                );
                assert!(
                    root().join("docs/gallery").join(f).is_file(),
                    "gallery.md shows {f}, not committed in docs/gallery"
                );
            }
        }
    }
    eprintln!("doc blocks: {ran_sh} shell, {ran_py} Python run, {skipped_py} Python skipped (no `spinpath` module)");
    assert!(ran_sh >= 6, "only {ran_sh} marked shell blocks found");
}

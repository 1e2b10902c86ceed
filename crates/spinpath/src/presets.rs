//! The bundled presets: run files shipped inside the crate (so that packaged builds — the Python
//! sdist, `cargo package` — hold them), each a byte-identical copy of `examples/<name>.toml`
//! (a test keeps them equal). Paper reproductions and the Python package read them from here.

/// Paper 1's coherent spin-engine chain (`examples/spin-engine.toml`).
pub const SPIN_ENGINE: &str = include_str!("../presets/spin-engine.toml");
/// Paper 1's interacting dimer with spinterfaces (`examples/spin-engine-interacting.toml`).
pub const SPIN_ENGINE_INTERACTING: &str = include_str!("../presets/spin-engine-interacting.toml");
/// Paper 2's G10 junction (`examples/memristive-cb.toml`).
pub const MEMRISTIVE_CB: &str = include_str!("../presets/memristive-cb.toml");
/// Paper 2's G10 junction with cotunnelling (`examples/memristive-cb-cotunneling.toml`).
pub const MEMRISTIVE_CB_COTUNNELING: &str =
    include_str!("../presets/memristive-cb-cotunneling.toml");
/// Paper 2's C5 junction for write/read statistics (`examples/memristor-c5.toml`).
pub const MEMRISTOR_C5: &str = include_str!("../presets/memristor-c5.toml");

/// The fit of the interacting spin engine to paper 1's TMR peak
/// (`examples/fit-spin-engine-interacting.toml`; a fit file, not a run file: not in [`ALL`]).
pub const FIT_SPIN_ENGINE_INTERACTING: &str =
    include_str!("../presets/fit-spin-engine-interacting.toml");

/// Every preset: (name = the example's file stem, run-file text).
pub const ALL: [(&str, &str); 8] = [
    ("spin-engine", SPIN_ENGINE),
    ("spin-engine-interacting", SPIN_ENGINE_INTERACTING),
    ("memristive-cb", MEMRISTIVE_CB),
    ("memristive-cb-cotunneling", MEMRISTIVE_CB_COTUNNELING),
    ("memristor-c5", MEMRISTOR_C5),
    ("iv-sweeps", include_str!("../presets/iv-sweeps.toml")),
    ("ih-loop", include_str!("../presets/ih-loop.toml")),
    ("write-read", include_str!("../presets/write-read.toml")),
];

/// A preset's text by name.
pub fn get(name: &str) -> Option<&'static str> {
    ALL.iter().find(|p| p.0 == name).map(|p| p.1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn presets_equal_the_examples() {
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let fit = [(
            "fit-spin-engine-interacting",
            super::FIT_SPIN_ENGINE_INTERACTING,
        )];
        for (name, text) in super::ALL.into_iter().chain(fit) {
            let path = examples.join(format!("{name}.toml"));
            let on_disk = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                on_disk,
                text,
                "crates/spinpath/presets/{name}.toml differs from {}: copy the example over",
                path.display()
            );
        }
    }
}

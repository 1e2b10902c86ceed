//! Paper 1's signatures on the bundled preset (examples/spin-engine.toml).

use spinpath::config::parse_coherent_run;
use spinpath::negf::ChainSolver;
use spinpath::sweep::sweep_bias;

fn preset() -> spinpath::config::CoherentRun {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    );
    parse_coherent_run(path, &std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn preset_shows_the_papers_signatures() {
    let run = preset();
    let bias: Vec<f64> = (-40..=40).map(|k| 0.05 * k as f64).collect();
    let solvers: Vec<ChainSolver> = run
        .states
        .iter()
        .map(|s| ChainSolver::new(&run.chain, s).unwrap())
        .collect();
    let p = sweep_bias(&solvers[0], &bias, &run.integration, &|| {});
    let ap = sweep_bias(&solvers[1], &bias, &run.integration, &|| {});
    let zero = bias.iter().position(|v| *v == 0.0).unwrap();
    let (ip0, iap0) = (p[zero].current(), ap[zero].current());
    // 1) Current at zero bias, different in P and AP.
    assert!(
        ip0.abs() > 0.1 && iap0.abs() > 0.01,
        "I_P(0) = {ip0}, I_AP(0) = {iap0}"
    );
    assert!(
        (ip0 - iap0).abs() > 0.5 * ip0.abs().max(iap0.abs()),
        "I_P(0) = {ip0}, I_AP(0) = {iap0}"
    );
    // 2) A window at V > 0 where I_P and I_AP have opposite signs (TMR < −100 %), with P-state
    //    power generation there.
    let window: Vec<usize> = (0..bias.len())
        .filter(|&k| bias[k] > 0.0 && p[k].current() * ap[k].current() < 0.0)
        .collect();
    assert!(window.len() >= 3, "no opposite-sign window at V > 0");
    assert!(window.iter().any(|&k| p[k].power_out() > 0.0));
    // 3) The second law everywhere: efficiency ≤ 1, dissipation ≥ 0.
    for r in p.iter().chain(&ap) {
        assert!(r.dissipation() >= -1e-12, "V = {}", r.bias_mv);
        if let Some(eta) = r.efficiency() {
            assert!(eta <= 1.0, "V = {}: efficiency {eta}", r.bias_mv);
        }
        assert!(r.converged);
    }
}

/// Spin accumulation switched off: the preset carries no current at V = 0 in either state.
#[test]
fn preset_without_spin_accumulation_is_in_equilibrium_at_zero_bias() {
    let run = preset();
    let left = spinpath::model::Lead {
        spin_accumulation: 0.0,
        ..run.chain.left().clone()
    };
    let right = spinpath::model::Lead {
        spin_accumulation: 0.0,
        ..run.chain.right().clone()
    };
    let chain = run.chain.with_leads(left, right).unwrap();
    for s in &run.states {
        let solver = ChainSolver::new(&chain, s).unwrap();
        let r = solver.bias_point(0.0, &run.integration);
        assert!(r.current().abs() < 1e-9, "{}: {}", s.name, r.current());
        let bonds = solver.bond_currents(0.0, &run.integration);
        assert!(bonds.iter().all(|b| b.abs() < 1e-7), "{bonds:?}");
        // With the accumulation back on, the same state does carry a current.
        let on = ChainSolver::new(&run.chain, s)
            .unwrap()
            .bias_point(0.0, &run.integration);
        assert!(on.current().abs() > 1e-3);
    }
}

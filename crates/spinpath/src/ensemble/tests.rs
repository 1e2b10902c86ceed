use super::*;

/// The example ensemble with a short bias grid and the given `[ensemble]` and `[spin_engine]`
/// overrides (`key = value` lines replacing those of the example).
fn file(ensemble: &[(&str, &str)], engine: &[(&str, &str)]) -> EnsembleFile {
    let mut text = include_str!("../../../../examples/ensemble.toml").to_string();
    let mut set = |key: &str, value: &str| {
        let start = text
            .find(&format!("\n{key} ="))
            .unwrap_or_else(|| panic!("{key} not in the example"))
            + 1;
        let end = start + text[start..].find('\n').unwrap();
        text.replace_range(start..end, &format!("{key} = {value}"));
    };
    for (k, v) in ensemble.iter().chain(engine) {
        set(k, v);
    }
    set("points", "41");
    parse("ensemble.toml", &text).unwrap()
}

#[test]
fn the_example_parses_and_errors_name_the_key_and_range() {
    let f = file(&[], &[]);
    assert_eq!(f.spec.carbon_concentration_percent, 0.05);
    assert_eq!(f.run.bias_mv.len(), 41);
    // 2.5 nm / (0.421 / 2) nm = 11.9 → 12 layers; √100 nm / 0.2105 nm = 47.5 → 48 half-cells.
    assert_eq!(
        f.spec.slab(),
        Slab {
            side: 48,
            layers: 12
        }
    );
    let text = include_str!("../../../../examples/ensemble.toml");
    let bad = text.replace(
        "carbon_concentration_percent = 0.05",
        "carbon_concentration_percent = 150",
    );
    let e = parse("e.toml", &bad).unwrap_err().to_string();
    assert!(
        e.contains("e.toml:9:")
            && e.contains("ensemble.carbon_concentration_percent")
            && e.contains("[0, 100]"),
        "{e}"
    );
    let bad = text.replace("area_nm2 = 100.0", "area_m2 = 100.0");
    let e = parse("e.toml", &bad).unwrap_err().to_string();
    assert!(e.contains("area_m2"), "{e}");
    // A device error keeps its line number (the [ensemble] table is blanked, not removed).
    let bad = text.replace("temperature_K = 295.0", "temperature_K = -1.0");
    let e = parse("e.toml", &bad).unwrap_err().to_string();
    let line = text
        .lines()
        .position(|l| l.starts_with("temperature_K"))
        .unwrap()
        + 1;
    assert!(e.contains(&format!("e.toml:{line}:")), "{e}");
    let e = parse("e.toml", "[spin_engine]\n").unwrap_err().to_string();
    assert!(e.contains("[ensemble]"), "{e}");
}

#[test]
fn no_carbon_no_engine_and_no_coulomb_gap() {
    let f = file(&[("carbon_concentration_percent", "0.0")], &[]);
    let js = evaluate(&f, 1, &(0..50).collect::<Vec<_>>(), &|| {}).unwrap();
    assert!(js.iter().all(|j| j.carbon_atoms == 0
        && j.engine_candidates == 0
        && !j.working
        && j.coulomb_gap_mV.is_nan()));
    let s = summarize(&f, 1, &table(&f, &js).unwrap()).unwrap();
    assert_eq!(s.spin_engine_yield.count, 0);
    assert_eq!(s.spin_engine_yield.ci95[0], 0.0);
    // Clopper–Pearson upper bound for 0 of n: 1 − 0.025^(1/n).
    let want = 1.0 - 0.025f64.powf(1.0 / 50.0);
    assert!((s.spin_engine_yield.ci95[1] - want).abs() < 1e-9);
}

/// The expected number of isolated 4th-neighbour pairs of a slab at occupation p, counted
/// site by site: Σ over 4th-neighbour site pairs of p² (1 − p)^m, m = the other sites within the
/// 5th shell of either site.
fn expected_candidates(slab: &Slab, p: f64) -> f64 {
    let all: Vec<[i64; 3]> = (0..slab.sites()).map(|n| slab.site(n)).collect();
    let within = |a: [i64; 3]| -> Vec<[i64; 3]> {
        let mut v = Vec::new();
        for di in -3i64..=3 {
            for dj in -3i64..=3 {
                for dk in -3i64..=3 {
                    let k = a[2] + dk;
                    if lattice::order_of([di, dj, dk]).is_some() && (0..slab.layers).contains(&k) {
                        v.push([
                            (a[0] + di).rem_euclid(slab.side),
                            (a[1] + dj).rem_euclid(slab.side),
                            k,
                        ]);
                    }
                }
            }
        }
        v
    };
    let mut e = 0.0;
    for &(i, j, o) in &lattice::pairs(slab, &all) {
        if o != 4 {
            continue;
        }
        let mut set: std::collections::HashSet<[i64; 3]> = within(all[i]).into_iter().collect();
        set.extend(within(all[j]));
        set.remove(&all[i]);
        set.remove(&all[j]);
        e += p * p * (1.0 - p).powi(set.len() as i32);
    }
    e
}

#[test]
fn sampled_engine_candidates_match_the_site_by_site_expectation() {
    // A small slab (area 9 nm², 2.5 nm) at 2 % C; no level disorder; the engine runs on 11 biases.
    let f = file(
        &[("carbon_concentration_percent", "2.0"), ("area_nm2", "9.0")],
        &[],
    );
    let slab = f.spec.slab();
    let want = expected_candidates(&slab, 0.02);
    let n = 1500;
    let js = evaluate(&f, 7, &(0..n).collect::<Vec<_>>(), &|| {}).unwrap();
    let counts: Vec<f64> = js.iter().map(|j| j.engine_candidates as f64).collect();
    let mean = counts.iter().sum::<f64>() / n as f64;
    let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    assert!(want > 0.05, "{want}");
    assert!(
        (mean - want).abs() < 5.0 * se,
        "sampled {mean} ± {se}, expected {want}"
    );
    // Mean number of atoms = sites × p.
    let atoms = js.iter().map(|j| j.carbon_atoms as f64).sum::<f64>() / n as f64;
    let sd = (slab.sites() as f64 * 0.02 * 0.98 / n as f64).sqrt();
    assert!((atoms - slab.sites() as f64 * 0.02).abs() < 5.0 * sd);
    // Every junction with a candidate ran the engine; the others did not.
    for j in &js {
        assert_eq!(j.engine_candidates > 0, j.hoppings_meV[0].is_finite());
        assert_eq!(
            j.engine_candidates > 0,
            j.max_tmr.is_finite() || j.max_power_nW.is_finite()
        );
    }
}

#[test]
fn without_spin_accumulation_no_junction_is_an_engine() {
    // Equilibrium: no spin accumulation, so no current at zero bias and no power, whatever the
    // geometry; with the example's accumulation some of the same junctions work.
    let ens = [("carbon_concentration_percent", "3.0"), ("area_nm2", "9.0")];
    let idx: Vec<usize> = (0..120).collect();
    let f0 = file(&ens, &[("spin_accumulation_meV", "0.0")]);
    let js0 = evaluate(&f0, 3, &idx, &|| {}).unwrap();
    let ran: Vec<&Junction> = js0.iter().filter(|j| j.engine_candidates > 0).collect();
    assert!(ran.len() > 5, "{}", ran.len());
    for j in &ran {
        for &i in &j.current_at_zero_bias_nA {
            assert!(i.abs() < 1e-6, "junction {}: I(0) = {i} nA", j.index);
        }
        assert!(!j.working);
    }
    let f1 = file(&ens, &[("decay_length_nm", "5.0")]);
    let js1 = evaluate(&f1, 3, &idx, &|| {}).unwrap();
    assert!(js1.iter().any(|j| j.working));
    // Same geometry in both (the seed fixes the junctions).
    for (a, b) in js0.iter().zip(&js1) {
        assert_eq!(
            (a.carbon_atoms, a.pairs, a.engine_candidates),
            (b.carbon_atoms, b.pairs, b.engine_candidates)
        );
    }
}

#[test]
fn junctions_do_not_depend_on_which_others_run_with_them() {
    let f = file(
        &[
            ("carbon_concentration_percent", "2.0"),
            ("area_nm2", "16.0"),
        ],
        &[],
    );
    let all = evaluate(&f, 11, &(0..30).collect::<Vec<_>>(), &|| {}).unwrap();
    let some = evaluate(&f, 11, &[29, 4, 17], &|| {}).unwrap();
    // (Debug text: NaN fields compare equal.)
    let same = |a: &Junction, b: &Junction| assert_eq!(format!("{a:?}"), format!("{b:?}"));
    same(&some[0], &all[29]);
    same(&some[1], &all[4]);
    same(&some[2], &all[17]);
    let other = evaluate(&f, 12, &[4], &|| {}).unwrap();
    assert_ne!(
        (other[0].level_offset_meV),
        all[4].level_offset_meV,
        "another seed, another junction"
    );
    // Three shards merged give the whole table row for row.
    let plan = plan(30, 11).unwrap();
    let whole = table(&f, &all).unwrap();
    let parts: Vec<crate::scan::ShardTable> = [1, 2, 0]
        .iter()
        .map(|&k| {
            let idx = plan.shard(k, 3).unwrap();
            crate::scan::ShardTable {
                source: format!("shard{k}"),
                record: crate::scan::ShardRecord::new(&plan, "x", k, 3),
                table: table(&f, &evaluate(&f, 11, &idx, &|| {}).unwrap()).unwrap(),
            }
        })
        .collect();
    let merged = crate::scan::merge_on(&parts, "junction").unwrap();
    assert_eq!(
        merged.to_csv_string().unwrap(),
        whole.to_csv_string().unwrap()
    );
}

#[test]
fn binomial_yields_and_histograms() {
    let y = Yield::new(1, 168);
    assert!((y.fraction - PAPER1_YIELD).abs() < 1e-15);
    assert_eq!(y.one_in, Some(168.0));
    assert!(y.ci95[0] < y.fraction && y.fraction < y.ci95[1]);
    // Clopper–Pearson for 1 of 168 (from the beta quantiles): [1.5e-4, 3.27e-2].
    assert!((y.ci95[0] - 1.507e-4).abs() < 2e-6, "{:?}", y.ci95);
    assert!((y.ci95[1] - 3.27e-2).abs() < 2e-4, "{:?}", y.ci95);
    let all = Yield::new(10, 10);
    assert_eq!(all.ci95[1], 1.0);
    assert_eq!(all.standard_error, 0.0);
    let (edges, counts) = histogram(&[0.0, 1.0, 1.0, f64::NAN, 2.0], 2);
    assert_eq!(edges, vec![0.0, 1.0, 2.0]);
    assert_eq!(counts, vec![1, 3]);
}

#[test]
fn atoms_touching_an_electrode_have_no_coulomb_gap_of_their_own() {
    // A thin barrier (4 layers, 0.84 nm): layers 0 and 3 lie within a radius (0.2 nm) of an
    // electrode, so only atoms of layers 1 and 2 can be transport atoms.
    let f = file(
        &[
            ("carbon_concentration_percent", "0.03"),
            ("barrier_thickness_nm", "0.84"),
        ],
        &[],
    );
    let js = evaluate(&f, 5, &(0..300).collect::<Vec<_>>(), &|| {}).unwrap();
    let l = f.spec.thickness_nm();
    for j in &js {
        if j.coulomb_gap_mV.is_finite() {
            let z = j.transport_height_nm;
            assert!(z > 0.2 && l - z > 0.2, "{z}");
            // Mid-barrier sphere: the gap is the forward capacitance model's.
            let want = crate::capacitance::coulomb_gap_mv(0.2, z, l, 9.8).unwrap();
            assert_eq!(j.coulomb_gap_mV, want);
        } else {
            assert!(j.transport_height_nm.is_nan());
        }
    }
    assert!(js
        .iter()
        .any(|j| j.carbon_atoms > 0 && j.coulomb_gap_mV.is_nan()));
    assert!(js.iter().any(|j| j.coulomb_gap_mV.is_finite()));
}

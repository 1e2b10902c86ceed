//! Run-file validation: every bad input gets an error naming the file, line, key and what is
//! allowed, and never a panic.

use spinpath::config::parse_coherent_run;

const GOOD: &str = r#"
[chain]
temperature_K = 10.0
hoppings_meV = [1.0]

[[chain.sites]]
name = "A"
energy_meV = 0.5

[[chain.sites]]
name = "B"
energy_meV = -0.5
splitting_meV = 1.0
axis = "right"

[chain.leads.left]
width_meV = 2.0
polarization = 0.3
spin_accumulation_meV = 1.0

[chain.leads.right]
width_meV = 2.0

[[states]]
name = "P"
angle_deg = 0.0

[[states]]
name = "AP"
angle_deg = 180.0
energies_meV = { A = 0.7 }

[run.bias]
from_mV = -1.0
to_mV = 1.0
points = 5
"#;

fn err(text: &str) -> String {
    match parse_coherent_run("dev.toml", text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn good_file_parses_with_defaults() {
    let r = parse_coherent_run("dev.toml", GOOD).unwrap();
    assert_eq!(r.bias_mv, vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    assert_eq!(r.states.len(), 2);
    assert_eq!(r.states[1].energy_overrides, vec![(0, 0.7)]);
    assert_eq!(r.chain.right().site, 1);
    assert_eq!(r.chain.right().temperature, 10.0);
    // Default lever arms: linear drop, ±1/6 for two sites.
    assert!((r.chain.sites()[0].lever_arm - (0.5 - 1.0 / 3.0)).abs() < 1e-12);
}

#[test]
fn out_of_range_values_name_file_line_key_and_range() {
    let e = err(&GOOD.replace("polarization = 0.3", "polarization = 1.5"));
    assert!(
        e.contains("dev.toml:18:")
            && e.contains("chain.leads.left.polarization")
            && e.contains("-1 <= p <= 1"),
        "{e}"
    );

    let e = err(&GOOD.replace("temperature_K = 10.0", "temperature_K = -4.0"));
    assert!(
        e.contains("dev.toml:3:") && e.contains("chain.temperature_K") && e.contains("0 K <= T"),
        "{e}"
    );

    let e = err(&GOOD.replace(
        "[chain.leads.right]\nwidth_meV = 2.0",
        "[chain.leads.right]\nwidth_meV = -2.0",
    ));
    assert!(
        e.contains("chain.leads.right.width_meV") && e.contains("> 0 meV"),
        "{e}"
    );
}

#[test]
fn unknown_missing_and_mistyped_keys_are_reported_with_line() {
    let e = err(&GOOD.replace("splitting_meV = 1.0", "spliting_meV = 1.0"));
    assert!(
        e.contains("dev.toml") && e.contains("line 13") && e.contains("spliting_meV"),
        "{e}"
    );

    let e = err(&GOOD.replace(
        "[chain.leads.right]\nwidth_meV = 2.0",
        "[chain.leads.right]\npolarization = 0.1",
    ));
    assert!(e.contains("width_meV") && e.contains("line"), "{e}");

    let e = err(&GOOD.replace("energy_meV = 0.5", "energy_meV = \"half\""));
    assert!(e.contains("line 8") && e.contains("energy_meV"), "{e}");
}

#[test]
fn empty_bias_grid_and_missing_sites_are_errors() {
    let e = err(&GOOD.replace("from_mV = -1.0\nto_mV = 1.0\npoints = 5", "values_mV = []"));
    assert!(
        e.contains("run.bias.values_mV") && e.contains("empty"),
        "{e}"
    );
    let e = err(&GOOD.replace("from_mV = -1.0\nto_mV = 1.0", "from_mV = 1.0\nto_mV = -1.0"));
    assert!(e.contains("run.bias.to_mV") && e.contains("empty"), "{e}");
    let e = err(&GOOD.replace("points = 5", "points = 0"));
    assert!(e.contains("run.bias.points"), "{e}");

    let e = err(&GOOD.replace("[chain.leads.left]\n", "[chain.leads.left]\nsite = 7\n"));
    assert!(
        e.contains("chain.leads.left.site")
            && e.contains("site 7 does not exist")
            && e.contains("0..=1"),
        "{e}"
    );

    let e = err(&GOOD.replace("energies_meV = { A = 0.7 }", "energies_meV = { Q = 0.7 }"));
    assert!(e.contains("no site named \"Q\""), "{e}");

    let e = err(&GOOD.replace("hoppings_meV = [1.0]", "hoppings_meV = [1.0, 2.0]"));
    assert!(
        e.contains("chain.hoppings_meV") && e.contains("2 sites need 1 hoppings"),
        "{e}"
    );
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        "[[[",
        "chain = 3",
        "[chain]\nsites = []",
        "[run]\n[run.bias]\nstep_mV = 0\n",
        "[spin_engine]\nspin_accumulation_meV = nan\n",
    ] {
        assert!(parse_coherent_run("x.toml", text).is_err());
    }
}

#[test]
fn spin_engine_preset_parses_to_the_papers_chain() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let r = parse_coherent_run(path, &text).unwrap();
    let names: Vec<&str> = r.chain.sites().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["SP1", "PM1", "PM2", "SP2"]);
    assert_eq!(r.chain.left().spin_accumulation, 8.4);
    assert!((r.chain.right().spin_accumulation - 8.4 * 0.3).abs() < 1e-12);
    assert_eq!(r.states[0].energy_overrides, vec![(1, -2.75), (2, -2.25)]);
    assert_eq!(r.states[1].energy_overrides, vec![(1, 1.225), (2, 0.475)]);
    assert_eq!(r.bias_mv.len(), 2001);
}

#[test]
fn exchange_links_are_parsed_and_checked() {
    let with = GOOD.replace(
        "axis = \"right\"",
        "axis = \"right\"\nexchange = [{ from = \"A\", coupling_meV = 2.0 }]",
    );
    let r = parse_coherent_run("dev.toml", &with).unwrap();
    assert_eq!(r.exchange.len(), 1);
    assert_eq!(
        (
            r.exchange[0].site,
            r.exchange[0].from,
            r.exchange[0].coupling_mev
        ),
        (1, 0, 2.0)
    );
    let e = err(&GOOD.replace(
        "axis = \"right\"",
        "axis = \"right\"\nexchange = [{ from = \"Z\", coupling_meV = 2.0 }]",
    ));
    assert!(
        e.contains("chain.sites[1].exchange") && e.contains("no site named \"Z\""),
        "{e}"
    );
    let e = err(&GOOD.replace(
        "axis = \"right\"",
        "axis = \"right\"\nexchange = [{ from = \"B\", coupling_meV = 2.0 }]",
    ));
    assert!(e.contains("itself"), "{e}");
    let e = err(&format!("{GOOD}\n[run.self_consistency]\nmixing = 2.0\n"));
    assert!(e.contains("run.self_consistency.mixing"), "{e}");
    // The spin-engine form: PM1 from SP1 and PM2 from SP2.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/spin-engine.toml"
    );
    let text = std::fs::read_to_string(path).unwrap().replace(
        "[spin_engine.P]",
        "dimer_exchange_meV = 3.0\n\n[spin_engine.P]",
    );
    let r = parse_coherent_run(path, &text).unwrap();
    let links: Vec<(usize, usize)> = r.exchange.iter().map(|l| (l.site, l.from)).collect();
    assert_eq!(links, [(1, 0), (2, 3)]);
    assert_eq!(r.spin_engine.unwrap().get("dimer_exchange_meV"), Some(3.0));
}

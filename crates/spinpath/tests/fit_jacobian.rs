//! Analytic Jacobians of fits (`FitModel::predict_with_jacobian`): the master-equation dot model's
//! derivatives against central finite differences for every parameter kind, the fit with the
//! analytic Jacobian against the finite-difference one (same minimum, fewer evaluations), the
//! bounded and tied chain rule, and the `fit.jacobian` option.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use spinpath::fit::dots::{get, parameter_names, DotsModel};
use spinpath::fit::expr::Expr;
use spinpath::fit::params::{Param, Parameters};
use spinpath::fit::{fit, Dataset, FitModel, FitOptions, JacobianMethod};
use spinpath::master::DotModel;

/// Two dots, one with two orbitals, capacitively coupled, polarised leads with spin accumulation.
const TWO_DOTS: &str = r#"
[dots]
temperature_K = 20.0
[[dots.dot]]
name = "a"
charging_meV = 6.0
lever_arm = 0.3
orbitals = [{ energy_meV = -1.0, zeeman_meV = 0.3, exchange_P_meV = 0.2, exchange_AP_meV = -0.1 }, { energy_meV = 2.5 }]
[[dots.dot]]
name = "b"
charging_meV = 4.0
lever_arm = -0.2
orbitals = [{ energy_meV = 1.0 }]
[[dots.coupling]]
dots = ["a", "b"]
energy_meV = 1.5
[dots.leads.left]
gamma_meV = { a = 0.02, b = 0.01 }
polarization = 0.3
spin_accumulation_meV = 0.5
[dots.leads.right]
gamma_meV = { a = 0.015, b = 0.03 }
polarization = -0.2
spin_accumulation_meV = -0.4
"#;

fn two_dots() -> DotModel {
    spinpath::master::spec::load("two.toml", TWO_DOTS)
        .unwrap()
        .0
}

/// A random valid value near `v` for parameter `name` (keeps Γ > 0, |p| < 1, T > 0, U >= 0).
fn perturb(name: &str, v: f64, rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u: f64 = rng.random_range(-1.0..1.0);
    if name.ends_with("polarization") {
        0.6 * u
    } else if name.contains("lever_arm") {
        (v + 0.1 * u).clamp(-0.45, 0.45)
    } else if name.contains("temperature_K") {
        v * (1.0 + 0.4 * u)
    } else if name.contains("gamma_meV") || name.contains("charging") || name.contains("coupling") {
        v * (1.0 + 0.5 * u)
    } else {
        v + u
    }
}

/// Compare the analytic columns of every parameter with central differences of `predict`;
/// the names in `inert` (overridden by another name) must give zero columns, all others a
/// non-zero column in at least one dataset.
fn check_against_central_differences(names: &[String], inert: &[&str], seed: u64) {
    let base = two_dots();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let params = Parameters::new(
        names
            .iter()
            .map(|n| Param::new(n.clone(), get(&base, n).unwrap()))
            .collect(),
    )
    .unwrap();
    let model = DotsModel::new(base.clone(), &params, &["P", "AP"]).unwrap();
    assert!(model.has_jacobian(0) && model.has_jacobian(1));
    let wrt: Vec<usize> = (0..names.len()).collect();
    let x: Vec<f64> = (-12..=12).map(|k| 1.3 * k as f64 + 0.17).collect();
    let mut nonzero = vec![false; names.len()];
    for point in 0..3 {
        let values: Vec<f64> = names
            .iter()
            .map(|n| perturb(n, get(&base, n).unwrap(), &mut rng))
            .collect();
        for dataset in 0..2 {
            let (y, jac) = model
                .predict_with_jacobian(&values, dataset, &x, &wrt)
                .expect("the dot model has an analytic Jacobian")
                .unwrap();
            assert_eq!(y, model.predict(&values, dataset, &x).unwrap());
            let scale_y = y.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            for (j, name) in names.iter().enumerate() {
                nonzero[j] |= jac[j].iter().any(|v| *v != 0.0);
                let h = 1e-5 * values[j].abs().max(1e-2);
                let mut a = values.clone();
                a[j] -= h;
                let mut b = values.clone();
                b[j] += h;
                let (ya, yb) = (
                    model.predict(&a, dataset, &x).unwrap(),
                    model.predict(&b, dataset, &x).unwrap(),
                );
                let fd: Vec<f64> = ya
                    .iter()
                    .zip(&yb)
                    .map(|(u, v)| (v - u) / (2.0 * h))
                    .collect();
                let scale = fd
                    .iter()
                    .chain(&jac[j])
                    .fold(0.0f64, |a, v| a.max(v.abs()))
                    // a column that vanishes: compare on the scale of the curve per unit
                    .max(1e-9 * scale_y);
                for k in 0..x.len() {
                    let (an, num) = (jac[j][k], fd[k]);
                    assert!(
                        (an - num).abs() <= 1e-6 * scale,
                        "point {point}, dataset {dataset}, {name} at V = {} mV: analytic {an:e}, central differences {num:e} (column scale {scale:e})",
                        x[k]
                    );
                }
            }
        }
    }
    for (j, name) in names.iter().enumerate() {
        assert_eq!(nonzero[j], !inert.contains(&name.as_str()), "{name}");
    }
}

#[test]
fn dot_model_derivatives_match_central_differences_for_every_parameter() {
    // Every name: the orbital lever arms override the dots' and the common temperature the
    // leads' (their analytic and numerical columns are both zero).
    let inert = [
        "a.lever_arm",
        "b.lever_arm",
        "left.temperature_K",
        "right.temperature_K",
    ];
    check_against_central_differences(&parameter_names(&two_dots()), &inert, 1);
}

#[test]
fn dot_model_derivatives_of_dot_lever_arms_and_lead_temperatures() {
    let names: Vec<String> = parameter_names(&two_dots())
        .into_iter()
        .filter(|n| !n.contains(".orbital") || !n.ends_with("lever_arm"))
        .filter(|n| n != "temperature_K")
        .collect();
    assert!(names.contains(&"a.lever_arm".to_string()));
    assert!(names.contains(&"left.temperature_K".to_string()));
    check_against_central_differences(&names, &[], 2);
}

#[test]
fn helper_parameters_get_zero_columns() {
    let base = two_dots();
    let params = Parameters::new(vec![
        Param::new("a.orbital0.energy_meV", -1.0),
        Param::new("helper", 3.0),
    ])
    .unwrap();
    let model = DotsModel::new(base, &params, &["P"]).unwrap();
    let (_, jac) = model
        .predict_with_jacobian(&[-1.0, 3.0], 0, &[1.0, 5.0], &[1, 0])
        .unwrap()
        .unwrap();
    assert_eq!(jac[0], vec![0.0, 0.0]);
    assert!(jac[1].iter().any(|v| *v != 0.0));
}

fn gauss(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let (u1, u2): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random_range(0.0..1.0));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Synthetic P and AP sweeps of the two-dot model with noise σ.
fn synthetic(sigma: f64) -> Vec<Dataset> {
    let gen = DotsModel::new(two_dots(), &Parameters::new(vec![]).unwrap(), &["P", "AP"]).unwrap();
    let x: Vec<f64> = (-40..=40).map(|k| 0.5 * k as f64).collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    ["P", "AP"]
        .iter()
        .enumerate()
        .map(|(d, s)| Dataset {
            name: s.to_string(),
            y: gen
                .predict(&[], d, &x)
                .unwrap()
                .iter()
                .map(|y| y + sigma * gauss(&mut rng))
                .collect(),
            x: x.clone(),
            sigma: Some(vec![sigma; x.len()]),
        })
        .collect()
}

/// Bounded (both sides, lower only, upper only), unbounded and tied parameters.
fn fit_params() -> Parameters {
    Parameters::new(vec![
        Param::new("a.charging_meV", 5.0).bounds(1.0, 20.0),
        Param::new("a.lever_arm", 0.25).bounds(-0.5, 0.5),
        Param::new("a.orbital0.energy_meV", -0.5),
        Param::new("shift", 3.0).bounds(0.0, f64::INFINITY),
        Param::new("a.orbital1.energy_meV", 0.0)
            .tied(Expr::parse("a.orbital0.energy_meV + shift").unwrap()),
        Param::new("b.orbital0.energy_meV", 1.2).bounds(f64::NEG_INFINITY, 5.0),
        Param::new("left.polarization", 0.2).bounds(-0.9, 0.9),
        Param::new("temperature_K", 25.0).bounds(1.0, 100.0),
        Param::new("left.gamma_meV.a", 0.015).bounds(0.0, 1.0),
    ])
    .unwrap()
}

#[test]
fn analytic_fit_reaches_the_finite_difference_minimum_with_fewer_evaluations() {
    let sigma = 0.01;
    let data = synthetic(sigma);
    let params = fit_params();
    let model = DotsModel::new(two_dots(), &params, &["P", "AP"]).unwrap();
    let run = |jacobian| {
        let opts = FitOptions {
            jacobian,
            scale_covariance: false,
            ..FitOptions::default()
        };
        let t = std::time::Instant::now();
        let r = fit(&model, &params, &data, &opts, &|_| {}).unwrap();
        (r, t.elapsed().as_secs_f64())
    };
    let (fd, t_fd) = run(JacobianMethod::FiniteDifference);
    let (an, t_an) = run(JacobianMethod::Auto);
    println!(
        "two-dot fit, {} free parameters, {} points: finite differences {} evaluations in {t_fd:.2} s (χ² {:.6}); analytic {} evaluations in {t_an:.2} s (χ² {:.6})",
        fd.n_free, fd.n_data, fd.evaluations, fd.chi2, an.evaluations, an.chi2
    );
    assert_eq!(fd.jacobian, "finite-difference");
    assert_eq!(an.jacobian, "analytic");
    assert!(fd.success && an.success, "{} / {}", fd.message, an.message);
    assert!(
        an.evaluations < fd.evaluations,
        "{} vs {}",
        an.evaluations,
        fd.evaluations
    );
    assert!(
        (an.chi2 - fd.chi2).abs() <= 1e-6 * fd.chi2,
        "{} vs {}",
        an.chi2,
        fd.chi2
    );
    for (k, name) in fd.names.iter().enumerate() {
        let (a, b) = (an.values[k], fd.values[k]);
        match fd.stderr[k] {
            Some(e) => {
                assert!((a - b).abs() <= e / 100.0, "{name}: {a} vs {b} ± {e}");
                // Same uncertainties from both Jacobians.
                let ea = an.stderr[k].unwrap();
                assert!((ea - e).abs() <= 1e-3 * e, "{name}: stderr {ea} vs {e}");
            }
            None => assert_eq!(an.stderr[k], None, "{name}"),
        }
    }
    // The truth lies within the reported uncertainties (sanity of the minimum itself).
    let truth = two_dots();
    for name in ["a.charging_meV", "a.orbital0.energy_meV", "temperature_K"] {
        let (v, e) = (an.value(name).unwrap(), an.error(name).unwrap());
        let t = get(&truth, name).unwrap();
        assert!((v - t).abs() < 5.0 * e, "{name}: {v} ± {e}, truth {t}");
    }
}

#[test]
fn analytic_is_refused_for_a_model_without_one_and_auto_falls_back() {
    struct Line;
    impl FitModel for Line {
        fn predict(&self, v: &[f64], _: usize, x: &[f64]) -> spinpath::error::Result<Vec<f64>> {
            Ok(x.iter().map(|x| v[0] * x + v[1]).collect())
        }
    }
    let data = vec![Dataset {
        name: "line".into(),
        x: vec![0.0, 1.0, 2.0, 3.0],
        y: vec![1.0, 3.1, 4.9, 7.0],
        sigma: None,
    }];
    let params = Parameters::new(vec![Param::new("a", 1.0), Param::new("b", 0.0)]).unwrap();
    let opts = |jacobian| FitOptions {
        jacobian,
        ..FitOptions::default()
    };
    let e = fit(
        &Line,
        &params,
        &data,
        &opts(JacobianMethod::Analytic),
        &|_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("fit.jacobian"), "{e}");
    assert!(e.to_string().contains("finite-difference"), "{e}");
    let r = fit(&Line, &params, &data, &opts(JacobianMethod::Auto), &|_| {}).unwrap();
    assert_eq!(r.jacobian, "finite-difference");
}

#[test]
fn tie_gradients_are_exact() {
    let ps = Parameters::new(vec![
        Param::new("x", 1.3).bounds(0.0, 5.0),
        Param::new("y", -0.7),
        Param::new("z", 0.0).tied(Expr::parse("x * y - x / (1 + y ^ 2) + 2 ^ x").unwrap()),
        Param::new("w", 0.0).tied(Expr::parse("-z * 3 + x ^ 2.5").unwrap()),
        Param::new("c", 4.0).fixed(),
    ])
    .unwrap();
    let free = [1.3, -0.7];
    let (values, grad) = ps.with_free_jacobian(&free).unwrap();
    assert_eq!(values, ps.with_free(&free).unwrap());
    for k in 0..2 {
        let h = 1e-6;
        let mut a = free;
        a[k] -= h;
        let mut b = free;
        b[k] += h;
        let (va, vb) = (ps.with_free(&a).unwrap(), ps.with_free(&b).unwrap());
        for i in 0..5 {
            let fd = (vb[i] - va[i]) / (2.0 * h);
            assert!(
                (grad[i][k] - fd).abs() < 1e-7 * fd.abs().max(1.0),
                "d {} / d free {k}: {} vs {fd}",
                ps.all()[i].name,
                grad[i][k]
            );
        }
    }
    assert_eq!(grad[4], vec![0.0, 0.0]);
}

#[test]
fn bound_transform_derivatives_match_differences() {
    for p in [
        Param::new("a", 0.3).bounds(-1.0, 2.0),
        Param::new("b", 5.0).bounds(1.0, f64::INFINITY),
        Param::new("c", -5.0).bounds(f64::NEG_INFINITY, 0.0),
        Param::new("d", 3.0),
    ] {
        for t in [-2.0, -0.3, 0.0, 0.7, 4.0] {
            let h = 1e-6;
            let fd = (p.to_external(t + h) - p.to_external(t - h)) / (2.0 * h);
            let an = p.external_derivative(t);
            assert!((an - fd).abs() < 1e-8, "{}: t = {t}: {an} vs {fd}", p.name);
        }
    }
}

#[test]
fn the_fit_file_key_selects_the_method_and_names_the_allowed_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dots.toml"), TWO_DOTS).unwrap();
    std::fs::write(
        dir.path().join("iv.csv"),
        "bias_mV,current_nA\n0,0\n1,1\n2,2\n",
    )
    .unwrap();
    let file = |key: &str| {
        format!(
            "model = \"dots.toml\"\n[fit]\n{key}\n[[data]]\nstate = \"P\"\nfile = \"iv.csv\"\n[parameters]\n\"a.charging_meV\" = 6.0\n"
        )
    };
    let path = dir.path().join("fit.toml");
    for (key, want) in [
        ("", JacobianMethod::Auto),
        ("jacobian = \"auto\"", JacobianMethod::Auto),
        ("jacobian = \"analytic\"", JacobianMethod::Analytic),
        (
            "jacobian = \"finite-difference\"",
            JacobianMethod::FiniteDifference,
        ),
    ] {
        let spec = spinpath::config::fit::parse_fit(&path, &file(key)).unwrap();
        assert_eq!(spec.options.jacobian, want, "{key}");
    }
    let e = spinpath::config::fit::parse_fit(&path, &file("jacobian = \"numeric\""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("fit.jacobian") && e.contains("numeric"), "{e}");
    assert!(
        e.contains("\"auto\"") && e.contains("\"analytic\"") && e.contains("\"finite-difference\""),
        "{e}"
    );
}

//! Fit files: misspelt parameter names and fields are errors that name the line and suggest the
//! closest names; helper parameters used by an `expr` stay allowed.

use spinpath::config::fit::parse_fit;
use std::path::PathBuf;

/// A fit file beside the examples (so `model = "spin-engine.toml"` resolves) with `params` as its
/// `[parameters]` table.
fn parse(params: &str) -> spinpath::Result<spinpath::config::fit::FitSpec> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/typo-fit.toml");
    let text = format!(
        "model = \"spin-engine.toml\"\n[[data]]\nstate = \"P\"\nfile = \"p.csv\"\n\n[parameters]\n{params}\n"
    );
    parse_fit(&path, &text)
}

#[test]
fn a_misspelt_model_parameter_is_an_error_with_a_suggestion() {
    let e = parse(
        "\"spin_accumulation_meV\" = { value = 8.0 }\n\"P.dimer_energy_mev\" = { value = -2.0 }",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("typo-fit.toml:8:"), "{e}");
    assert!(e.contains("`P.dimer_energy_mev`"), "{e}");
    assert!(e.contains("did you mean P.dimer_energy_meV"), "{e}");
    assert!(e.contains("expr"), "{e}");
}

#[test]
fn a_misspelt_field_names_itself_and_the_allowed_fields() {
    let e = parse("\"spin_accumulation_meV\" = { value = 8.0, mn = 0.0 }")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `mn`"), "{e}");
    assert!(e.contains("did you mean min"), "{e}");
    assert!(e.contains("value, min, max, vary, expr"), "{e}");
    assert!(!e.contains("untagged"), "{e}");
    let e = parse("\"spin_accumulation_meV\" = \"eight\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("a number (its start value) or a table"), "{e}");
    // A wrong type inside a known field is still named.
    let e = parse("\"spin_accumulation_meV\" = { value = \"8\" }")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("spin_accumulation_meV") && e.contains("string"),
        "{e}"
    );
}

#[test]
fn helper_parameters_used_by_an_expression_are_accepted() {
    let spec = parse(
        "delta = { value = 0.5, min = -2.0, max = 2.0 }\n\"P.dimer_energy_meV\" = -2.0\n\"AP.dimer_energy_meV\" = { expr = \"P.dimer_energy_meV + delta\" }",
    )
    .unwrap();
    let names: Vec<&str> = spec.params.all().iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"delta"));
    // Plain numbers (integers too) are start values.
    assert!(parse("\"spin_accumulation_meV\" = 8").is_ok());
}

//! The sign conventions of docs/conventions.md, checked where they can fail: one splitting sign in
//! the device model, and the `[dots]` file's `zeeman_meV` mapped onto it with the opposite sign.

use spinpath::device::Device;
use spinpath::master::{spec, Magnet};

fn memristive() -> spinpath::master::DotModel {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/memristive-cb.toml"
    ))
    .unwrap();
    spec::load("memristive-cb.toml", &text).unwrap().0
}

#[test]
fn a_positive_dots_zeeman_lowers_spin_up_and_is_a_negative_device_splitting() {
    let mut model = memristive();
    // No exchange terms: the Zeeman term alone.
    for o in &mut model.orbitals {
        o.exchange_p_mev = 0.0;
        o.exchange_ap_mev = 0.0;
    }
    model.orbitals[0].zeeman_mev = 0.6;
    // [dots]: spin orbital 0 is σ = +1 (↑), 1 is σ = −1 (↓); positive zeeman lowers ↑ by zeeman/2.
    let up = model.spin_orbital_energy(0, 0.0, Magnet::P);
    let down = model.spin_orbital_energy(1, 0.0, Magnet::P);
    let eps = model.orbitals[0].energy_mev;
    assert!((up - (eps - 0.3)).abs() < 1e-12 && (down - (eps + 0.3)).abs() < 1e-12);
    // Device (= [chain]) convention: σ = +1 at ε + Δ/2, so Δ = −zeeman.
    let dev = Device::from_dot_model(&model);
    let o = &dev.orbitals[0];
    assert_eq!(o.splitting_mev, -0.6);
    assert!((o.energy_mev + o.splitting_mev / 2.0 - up).abs() < 1e-12);
    assert!((o.energy_mev - o.splitting_mev / 2.0 - down).abs() < 1e-12);
    // And back: the master equation sees the same ↑/↓ energies in both states.
    for (st, magnet) in dev.states.iter().zip([Magnet::P, Magnet::AP]) {
        let (m, _) = dev.to_dot_model(st, "pauli").unwrap();
        for k in 0..2 {
            assert_eq!(
                m.spin_orbital_energy(k, 12.5, magnet).to_bits(),
                model.spin_orbital_energy(k, 12.5, magnet).to_bits()
            );
        }
    }
}

#[test]
fn the_lever_arm_moves_a_level_by_alpha_v() {
    let model = memristive();
    let a = model.orbitals[0].lever_arm;
    let e0 = model.spin_orbital_energy(0, 0.0, Magnet::P);
    let e1 = model.spin_orbital_energy(0, 100.0, Magnet::P);
    assert!((e1 - e0 - 100.0 * a).abs() < 1e-9, "{e0} {e1} {a}");
}

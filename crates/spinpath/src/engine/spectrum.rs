//! The many-body spectrum at one bias point: what every master-equation approach (Pauli, 1vN,
//! Redfield, cotunnelling) needs from a device.
//!
//! States are eigenstates of the dots' many-body Hamiltonian (for the constant-interaction model
//! without hopping they are the Fock states themselves). For each pair of states whose electron
//! numbers differ by one, the single-electron amplitudes ⟨a| d†_{iσ} |b⟩ (orbital i, spin σ along
//! z) are stored; the leads' couplings Γ_{r,i} and polarisations turn them into rates in each
//! approach.
//!
//! Conventions: energies in meV at the given bias (levels moved by their lever arms, μ_L = +V/2,
//! μ_R = −V/2 are *not* included); spin index 0 = ↑ (σ = +1 along +z), 1 = ↓; spin-orbital k =
//! 2·i + s; Fock states are bitmasks over spin-orbitals with the fermionic sign of the normal order
//! k = 0, 1, 2, …

use crate::master::{DotModel, Magnet};
use num_complex::Complex64;

/// ⟨to| d†_{orbital, spin} |from⟩ ≠ 0 (N_to = N_from + 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Amplitude {
    /// The state with one electron more.
    pub to: usize,
    /// The state with one electron less.
    pub from: usize,
    /// Orbital index i.
    pub orbital: usize,
    /// Spin along z: 0 = ↑, 1 = ↓.
    pub spin: u8,
    /// The matrix element.
    pub value: Complex64,
}

/// The many-body spectrum of the dots at one bias.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Bias, mV.
    pub bias_mv: f64,
    /// Energy of each state, meV.
    pub energies_mev: Vec<f64>,
    /// Total electron number of each state.
    pub n_electrons: Vec<u32>,
    /// Mean charge of each dot in each state (`[state][dot]`).
    pub dot_charges: Vec<Vec<f64>>,
    /// Human labels (Fock: `transport:u|gate:0`; eigenstates: the dominant Fock state).
    pub labels: Vec<String>,
    /// Non-zero creation amplitudes, sorted by (`to`, `from`).
    pub amplitudes: Vec<Amplitude>,
}

/// Fermionic sign of d†_k acting on the bitmask `state` (k not occupied): (−1)^{# occupied < k}.
pub fn fermion_sign(state: usize, k: usize) -> f64 {
    if (state & ((1usize << k) - 1)).count_ones().is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}

impl Spectrum {
    /// The Fock-state spectrum of a constant-interaction dot model (no hopping: Fock states are
    /// eigenstates) at `bias_mv` in configuration `magnet` (which sets the per-state splittings
    /// and any induced exchange field).
    pub fn from_fock(model: &DotModel, bias_mv: f64, magnet: Magnet) -> Spectrum {
        let n = model.n_states();
        let nso = model.n_spin_orbitals();
        let mut amplitudes = Vec::new();
        for to in 0..n {
            for k in 0..nso {
                if to >> k & 1 == 1 {
                    let from = to ^ (1 << k);
                    amplitudes.push(Amplitude {
                        to,
                        from,
                        orbital: k / 2,
                        spin: (k % 2) as u8,
                        value: Complex64::new(fermion_sign(from, k), 0.0),
                    });
                }
            }
        }
        amplitudes.sort_by_key(|a| (a.to, a.from));
        Spectrum {
            bias_mv,
            energies_mev: (0..n)
                .map(|s| model.state_energy(s, bias_mv, magnet))
                .collect(),
            n_electrons: (0..n).map(|s| s.count_ones()).collect(),
            dot_charges: (0..n)
                .map(|s| model.dot_charges(s).into_iter().map(f64::from).collect())
                .collect(),
            labels: (0..n).map(|s| model.state_label(s)).collect(),
            amplitudes,
        }
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.energies_mev.len()
    }

    /// True when there are no states.
    pub fn is_empty(&self) -> bool {
        self.energies_mev.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fock_amplitudes_anticommute() {
        // {d_k, d†_k'} = δ_kk': check ⟨s|d_k d†_k' + d†_k' d_k|s⟩ on a 2-orbital model via the
        // stored amplitudes (real, ±1).
        let text = r#"
[dots]
temperature_K = 4.2
[[dots.dot]]
name = "a"
charging_meV = 10.0
orbitals = [{ energy_meV = 1.0 }, { energy_meV = 2.0 }]
[dots.leads.left]
gamma_meV = { a = 0.1 }
[dots.leads.right]
gamma_meV = { a = 0.1 }
"#;
        let (m, _) = crate::master::spec::load("t.toml", text).unwrap();
        let sp = Spectrum::from_fock(&m, 0.0, Magnet::P);
        let nso = m.n_spin_orbitals();
        let amp = |to: usize, from: usize, k: usize| -> f64 {
            sp.amplitudes
                .iter()
                .find(|a| a.to == to && a.from == from && 2 * a.orbital + a.spin as usize == k)
                .map_or(0.0, |a| a.value.re)
        };
        for s in 0..sp.len() {
            for k in 0..nso {
                for kp in 0..nso {
                    // Σ_t ⟨s|d_k|t⟩⟨t|d†_kp|s⟩ + ⟨s|d†_kp|t⟩⟨t|d_k|s⟩
                    let mut acc = 0.0;
                    for t in 0..sp.len() {
                        acc += amp(t, s, k) * amp(t, s, kp); // d_k = (d†_k)^T
                        acc += amp(s, t, kp) * amp(s, t, k);
                    }
                    let expect = if k == kp { 1.0 } else { 0.0 };
                    assert!((acc - expect).abs() < 1e-12, "s={s} k={k} kp={kp}: {acc}");
                }
            }
        }
        // The energies are the model's.
        assert_eq!(sp.energies_mev[0b11], m.state_energy(0b11, 0.0, Magnet::P));
    }
}

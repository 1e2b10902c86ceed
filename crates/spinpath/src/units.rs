//! Physical constants and unit conventions.
//!
//! spinpath works in **meV** (energies, chemical potentials, couplings), **mV** (bias), **K**
//! (temperature), **Oe** (field), **nA** (current) and **nW** (power). The bias V is applied to the
//! left electrode: μ_L = +V/2, μ_R = −V/2 (in meV for V in mV); positive current flows left → right.

/// Boltzmann constant in meV/K.
pub const KB_MEV_PER_K: f64 = 0.086_173_332_621_451_78;

/// e/h × 1 meV in nA: the current carried by one fully transmitting channel per meV of window.
/// e²/h = 3.874_045_86e-5 S, times 1 mV = 38.740 nA.
pub const E_OVER_H_NA_PER_MEV: f64 = 38.740_458_6;

/// Conversion of (current in nA) × (bias in mV) to power in nW.
pub const NA_MV_TO_NW: f64 = 1e-3;

/// Thermal energy k_B·T in meV for a temperature in K.
pub fn kt_mev(temperature_k: f64) -> f64 {
    KB_MEV_PER_K * temperature_k
}

/// Fermi–Dirac occupation f(E) = 1/(exp((E − μ)/kT) + 1), written so that it never overflows.
/// A zero temperature gives the step function (½ exactly at E = μ).
#[inline]
pub fn fermi(energy: f64, mu: f64, kt: f64) -> f64 {
    let x = energy - mu;
    if kt <= 0.0 {
        return if x < 0.0 {
            1.0
        } else if x > 0.0 {
            0.0
        } else {
            0.5
        };
    }
    let y = x / kt;
    // Beyond |y| = 746, e^-|y| underflows to exactly 0: return the same value without libm's slow
    // underflow path (the rate build of a wide Coulomb gap at low T meets it for most transitions).
    if y > UNDERFLOW_EXPONENT {
        0.0
    } else if y < -UNDERFLOW_EXPONENT {
        1.0
    } else if y > 0.0 {
        let e = (-y).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + y.exp())
    }
}

/// e^-y is exactly 0 in f64 for y above this.
pub const UNDERFLOW_EXPONENT: f64 = 746.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thermal_energy_at_room_temperature() {
        assert!((kt_mev(295.0) - 25.42).abs() < 0.01);
    }

    #[test]
    fn fermi_limits_and_symmetry() {
        assert_eq!(fermi(0.0, 0.0, 1.0), 0.5);
        assert!((fermi(1.0, 0.0, 1.0) + fermi(-1.0, 0.0, 1.0) - 1.0).abs() < 1e-15);
        assert!(fermi(1e6, 0.0, 1.0) >= 0.0 && fermi(-1e6, 0.0, 1.0) <= 1.0);
        assert_eq!(fermi(1.0, 0.0, 0.0), 0.0);
    }
}

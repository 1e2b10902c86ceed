//! The magnetic stack of an MTJ: a pinned layer (exchange-biased by an antiferromagnet) and a free
//! layer, each a square hysteresis loop. The junction is P when both point the same way.
//!
//! Convention: "up" is along +H. A layer with loop centre H₀ and coercive field H_c turns up when
//! H > H₀ + H_c and down when H < H₀ − H_c, and otherwise keeps its direction. The pinned layer's
//! centre is its exchange-bias field; the free layer's centre is its offset (e.g. a Néel coupling).
//! Coming from large negative fields both layers point down: the P state, as in paper 1 Fig. 2.

use crate::error::{Error, Result};

/// Square-loop parameters of the two layers, Oe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stack {
    /// Centre of the pinned layer's loop (exchange-bias field), Oe.
    pub pinned_exchange_bias_oe: f64,
    /// Coercive field of the pinned layer, Oe (≥ 0).
    pub pinned_coercivity_oe: f64,
    /// Coercive field of the free layer, Oe (≥ 0).
    pub free_coercivity_oe: f64,
    /// Centre of the free layer's loop, Oe.
    pub free_offset_oe: f64,
}

/// Directions of the two layers (true = along +H).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackState {
    /// Pinned layer up.
    pub pinned_up: bool,
    /// Free layer up.
    pub free_up: bool,
}

impl StackState {
    /// `"P"` when the layers are parallel, `"AP"` otherwise.
    pub fn magnetic_state(&self) -> &'static str {
        if self.pinned_up == self.free_up {
            "P"
        } else {
            "AP"
        }
    }
}

fn layer(up: bool, h: f64, centre: f64, hc: f64) -> bool {
    if h > centre + hc {
        true
    } else if h < centre - hc {
        false
    } else {
        up
    }
}

impl Stack {
    /// Validate the parameters (finite, coercivities ≥ 0).
    pub fn new(
        pinned_exchange_bias_oe: f64,
        pinned_coercivity_oe: f64,
        free_coercivity_oe: f64,
        free_offset_oe: f64,
    ) -> Result<Self> {
        let all = [
            pinned_exchange_bias_oe,
            pinned_coercivity_oe,
            free_coercivity_oe,
            free_offset_oe,
        ];
        if all.iter().any(|x| !x.is_finite())
            || pinned_coercivity_oe < 0.0
            || free_coercivity_oe < 0.0
        {
            return Err(Error::invalid(
                "magnetic stack",
                "fields must be finite and coercivities >= 0 Oe",
            ));
        }
        Ok(Stack {
            pinned_exchange_bias_oe,
            pinned_coercivity_oe,
            free_coercivity_oe,
            free_offset_oe,
        })
    }

    /// The state reached by coming from H = −∞ (both layers down, P).
    pub fn saturated_down(&self) -> StackState {
        StackState {
            pinned_up: false,
            free_up: false,
        }
    }

    /// The state after the field has moved to `h` from `state`.
    pub fn apply(&self, state: StackState, h: f64) -> StackState {
        StackState {
            pinned_up: layer(
                state.pinned_up,
                h,
                self.pinned_exchange_bias_oe,
                self.pinned_coercivity_oe,
            ),
            free_up: layer(
                state.free_up,
                h,
                self.free_offset_oe,
                self.free_coercivity_oe,
            ),
        }
    }

    /// Fields at which the free layer switches: (going up, going down), Oe.
    pub fn free_switching_fields(&self) -> (f64, f64) {
        (
            self.free_offset_oe + self.free_coercivity_oe,
            self.free_offset_oe - self.free_coercivity_oe,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_switches_at_the_coercive_fields_with_hysteresis() {
        // The sample loop: the free layer switches at +150 Oe going up and −60 Oe coming down.
        let s = Stack::new(1500.0, 300.0, 105.0, 45.0).unwrap();
        assert_eq!(s.free_switching_fields(), (150.0, -60.0));
        let mut st = s.saturated_down();
        let mut trace = Vec::new();
        let up: Vec<f64> = (-200..=40).map(|k| 10.0 * k as f64).collect();
        for &h in up.iter().chain(up.iter().rev()) {
            st = s.apply(st, h);
            trace.push((h, st.magnetic_state()));
        }
        let first_ap = trace.iter().find(|(_, m)| *m == "AP").unwrap().0;
        assert_eq!(first_ap, 160.0);
        let back = trace
            .iter()
            .skip(up.len())
            .find(|(_, m)| *m == "P")
            .unwrap()
            .0;
        assert_eq!(back, -70.0);
        // Between the coercive fields the state depends on history.
        assert_eq!(s.apply(s.saturated_down(), 100.0).magnetic_state(), "P");
        assert_eq!(
            s.apply(s.apply(s.saturated_down(), 200.0), 100.0)
                .magnetic_state(),
            "AP"
        );
        // A large positive field turns the pinned layer too: P again.
        assert_eq!(s.apply(s.saturated_down(), 2000.0).magnetic_state(), "P");
    }
}

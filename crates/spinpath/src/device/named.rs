//! A [`Device`]'s parameters by name: what fits, scans and Python address on any device (the
//! interacting spin engine included), whatever approach solves it.
//!
//! Names (dot names as in the run file, orbitals numbered from 0 within their dot; the
//! `[dots]` model's names where they overlap, so a fit file works on either):
//! - `<dot>.charging_meV`; `<dot>.orbital<k>.energy_meV` (the level at V = 0 in every state without
//!   its own), `<dot>.orbital<k>.energy_<state>_meV` (the level in one magnetic state, e.g.
//!   `energy_P_meV`; reads the common level where the state has none and, when set, gives the
//!   state its own), `<dot>.orbital<k>.lever_arm`, `<dot>.orbital<k>.splitting_meV` (Δ: σ = ±1 at
//!   ε ± Δ/2 along the orbital's axis);
//! - `coupling.<A>.<B>_meV` (capacitive U_AB); where the device has them, between the orbitals of
//!   dots A and B: `coupling.<A>.<B>.hopping_meV`, `coupling.<A>.<B>.exchange_J_meV`,
//!   `coupling.<A>.<B>.exchange_Jz_meV`, `coupling.<A>.<B>.dm_x_meV` (`dm_y`, `dm_z`). The DM
//!   vector is antisymmetric: read in the order A, B (D → −D when the names are swapped). A name
//!   sets every hopping/exchange between the two dots' orbitals and reads the first;
//!   `coupling.<A>.<B>.mediated_v_meV` where the file has a mediated (Fransson) exchange;
//! - `left.gamma_meV.<dot>` (every orbital of the dot), `left.polarization`,
//!   `left.spin_accumulation_meV`, `left.temperature_K`, and with a spinterface
//!   `left.spinterface.energy_meV`, `.splitting_meV`, `.width_meV`, `.lever_arm` (and `right.`);
//! - `band_meV` (half band width of the principal-value terms), `temperature_K` (both leads).
//!
//! A hopping or exchange the device does not have is not a parameter (a fit cannot switch a
//! term on: give it a small non-zero start in the run file).

use super::{Device, Parametrized};

/// The orbitals of dot `d`, in order.
fn orbitals_of(dev: &Device, d: usize) -> Vec<usize> {
    (0..dev.orbitals.len())
        .filter(|&i| dev.orbitals[i].dot == d)
        .collect()
}

fn dot_index(dev: &Device, name: &str) -> Option<usize> {
    dev.dots.iter().position(|d| d.name == name)
}

/// Which exchange field a name addresses.
#[derive(Clone, Copy)]
enum Term {
    Hopping,
    J,
    Jz,
    Dm(usize),
}

const TERMS: [(&str, Term); 6] = [
    ("hopping_meV", Term::Hopping),
    ("exchange_J_meV", Term::J),
    ("exchange_Jz_meV", Term::Jz),
    ("dm_x_meV", Term::Dm(0)),
    ("dm_y_meV", Term::Dm(1)),
    ("dm_z_meV", Term::Dm(2)),
];

const SPINTERFACE: [&str; 4] = ["energy_meV", "splitting_meV", "width_meV", "lever_arm"];

/// Read (`value = None`) or write a parameter; `None` if the name does not exist.
fn access(dev: &mut Device, key: &str, value: Option<f64>) -> Option<f64> {
    let put = |slot: &mut f64| {
        if let Some(v) = value {
            *slot = v;
        }
        *slot
    };
    match key {
        "temperature_K" => {
            let t = dev.leads[0].temperature_k;
            if let Some(v) = value {
                for l in dev.leads.iter_mut() {
                    l.temperature_k = v;
                }
            }
            return Some(value.unwrap_or(t));
        }
        "band_meV" => return Some(put(&mut dev.band_mev)),
        _ => {}
    }
    if let Some(rest) = key.strip_prefix("coupling.") {
        return coupling(dev, rest, value);
    }
    for (side, r) in [("left.", 0), ("right.", 1)] {
        let Some(rest) = key.strip_prefix(side) else {
            continue;
        };
        if let Some(dot) = rest.strip_prefix("gamma_meV.") {
            let d = dot_index(dev, dot)?;
            let orbs = orbitals_of(dev, d);
            let lead = &mut dev.leads[r];
            let old = lead.gamma_mev[*orbs.first()?];
            if let Some(v) = value {
                for &i in &orbs {
                    lead.gamma_mev[i] = v;
                }
            }
            return Some(value.unwrap_or(old));
        }
        if let Some(field) = rest.strip_prefix("spinterface.") {
            let si = dev.spinterfaces[r].as_mut()?;
            return match field {
                "energy_meV" => Some(put(&mut si.energy_mev)),
                "splitting_meV" => Some(put(&mut si.splitting_mev)),
                "width_meV" => Some(put(&mut si.width_mev)),
                "lever_arm" => Some(put(&mut si.lever_arm)),
                _ => None,
            };
        }
        let lead = &mut dev.leads[r];
        return match rest {
            "polarization" => Some(put(&mut lead.polarization)),
            "spin_accumulation_meV" => Some(put(&mut lead.spin_accumulation_mev)),
            "temperature_K" => Some(put(&mut lead.temperature_k)),
            _ => None,
        };
    }
    let (dot, rest) = key.split_once('.')?;
    let d = dot_index(dev, dot)?;
    if rest == "charging_meV" {
        return Some(put(&mut dev.dots[d].charging_mev));
    }
    let (orb, field) = rest.split_once('.')?;
    let k: usize = orb.strip_prefix("orbital")?.parse().ok()?;
    let i = *orbitals_of(dev, d).get(k)?;
    match field {
        "energy_meV" => return Some(put(&mut dev.orbitals[i].energy_mev)),
        "lever_arm" => return Some(put(&mut dev.orbitals[i].lever_arm)),
        "splitting_meV" => return Some(put(&mut dev.orbitals[i].splitting_mev)),
        _ => {}
    }
    let state = field.strip_prefix("energy_")?.strip_suffix("_meV")?;
    let base = dev.orbitals[i].energy_mev;
    let st = dev.states.iter_mut().find(|s| s.name == state)?;
    let old = st
        .energy_overrides
        .iter()
        .rfind(|(o, _)| *o == i)
        .map_or(base, |&(_, e)| e);
    if let Some(v) = value {
        st.energy_overrides.retain(|(o, _)| *o != i);
        st.energy_overrides.push((i, v));
    }
    Some(value.unwrap_or(old))
}

/// `coupling.<A>.<B>_meV` or `coupling.<A>.<B>.<term>` (after the `coupling.` prefix).
fn coupling(dev: &mut Device, rest: &str, value: Option<f64>) -> Option<f64> {
    if let Some(pair) = rest.strip_suffix("_meV") {
        if let Some((a, b)) = pair.split_once('.') {
            if let (Some(i), Some(j)) = (dot_index(dev, a), dot_index(dev, b)) {
                if i != j && !b.contains('.') {
                    let old = dev.inter_dot_mev[i][j];
                    if let Some(v) = value {
                        dev.inter_dot_mev[i][j] = v;
                        dev.inter_dot_mev[j][i] = v;
                    }
                    return Some(value.unwrap_or(old));
                }
            }
        }
    }
    let (pair, field) = rest.rsplit_once('.')?;
    let (a, b) = pair.split_once('.')?;
    let (da, db) = (dot_index(dev, a)?, dot_index(dev, b)?);
    if da == db {
        return None;
    }
    if field == "mediated_v_meV" {
        let orbital_dot: Vec<usize> = dev.orbitals.iter().map(|o| o.dot).collect();
        let mut old = None;
        for m in dev.mediated.iter_mut() {
            let pair = (orbital_dot[m.a], orbital_dot[m.b]);
            if pair == (da, db) || pair == (db, da) {
                old.get_or_insert(m.v_mev);
                if let Some(v) = value {
                    m.v_mev = v;
                }
            }
        }
        let old = old?;
        return Some(value.unwrap_or(old));
    }
    let term = TERMS.iter().find(|(n, _)| *n == field)?.1;
    let dots = |o: usize| dev.orbitals[o].dot;
    let mut old = None;
    match term {
        Term::Hopping => {
            let orbital_dot: Vec<usize> = dev.orbitals.iter().map(|o| o.dot).collect();
            for h in dev.hoppings.iter_mut() {
                let pair = (orbital_dot[h.a], orbital_dot[h.b]);
                if pair == (da, db) || pair == (db, da) {
                    old.get_or_insert(h.t_mev);
                    if let Some(v) = value {
                        h.t_mev = v;
                    }
                }
            }
        }
        _ => {
            let orbital_dot: Vec<usize> = (0..dev.orbitals.len()).map(dots).collect();
            for e in dev.exchanges.iter_mut() {
                let pair = (orbital_dot[e.a], orbital_dot[e.b]);
                let sign = if pair == (da, db) {
                    1.0
                } else if pair == (db, da) {
                    -1.0
                } else {
                    continue;
                };
                let slot = match term {
                    Term::J => &mut e.j_mev,
                    Term::Jz => &mut e.jz_mev,
                    Term::Dm(c) => &mut e.dm_mev[c],
                    Term::Hopping => unreachable!("handled above"),
                };
                // J and Jz are symmetric in the pair; D·(S_a × S_b) flips with the order.
                let s = if matches!(term, Term::Dm(_)) {
                    sign
                } else {
                    1.0
                };
                old.get_or_insert(s * *slot);
                if let Some(v) = value {
                    *slot = s * v;
                }
            }
        }
    }
    let old = old?;
    Some(value.unwrap_or(old))
}

impl Parametrized for Device {
    fn parameter_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (d, dot) in self.dots.iter().enumerate() {
            out.push(format!("{}.charging_meV", dot.name));
            for (k, _) in orbitals_of(self, d).iter().enumerate() {
                out.push(format!("{}.orbital{k}.energy_meV", dot.name));
                for st in &self.states {
                    out.push(format!("{}.orbital{k}.energy_{}_meV", dot.name, st.name));
                }
                for f in ["lever_arm", "splitting_meV"] {
                    out.push(format!("{}.orbital{k}.{f}", dot.name));
                }
            }
        }
        let orbital_dot: Vec<usize> = self.orbitals.iter().map(|o| o.dot).collect();
        for (i, a) in self.dots.iter().enumerate() {
            for (j, b) in self.dots.iter().enumerate().skip(i + 1) {
                out.push(format!("coupling.{}.{}_meV", a.name, b.name));
                let linked = |x: usize, y: usize| {
                    (orbital_dot[x] == i && orbital_dot[y] == j)
                        || (orbital_dot[x] == j && orbital_dot[y] == i)
                };
                if self.hoppings.iter().any(|h| linked(h.a, h.b)) {
                    out.push(format!("coupling.{}.{}.hopping_meV", a.name, b.name));
                }
                if self.exchanges.iter().any(|e| linked(e.a, e.b)) {
                    for (f, _) in &TERMS[1..] {
                        out.push(format!("coupling.{}.{}.{f}", a.name, b.name));
                    }
                }
                if self.mediated.iter().any(|m| linked(m.a, m.b)) {
                    out.push(format!("coupling.{}.{}.mediated_v_meV", a.name, b.name));
                }
            }
        }
        for (r, side) in ["left", "right"].into_iter().enumerate() {
            for dot in &self.dots {
                out.push(format!("{side}.gamma_meV.{}", dot.name));
            }
            for f in ["polarization", "spin_accumulation_meV", "temperature_K"] {
                out.push(format!("{side}.{f}"));
            }
            if self.spinterfaces[r].is_some() {
                for f in SPINTERFACE {
                    out.push(format!("{side}.spinterface.{f}"));
                }
            }
        }
        out.push("band_meV".into());
        out.push("temperature_K".into());
        out
    }

    fn parameter(&self, name: &str) -> Option<f64> {
        access(&mut self.clone(), name, None)
    }

    fn set_parameter(&mut self, name: &str, value: f64) -> bool {
        access(self, name, Some(value)).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interacting() -> Device {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/spin-engine-interacting.toml"
        ))
        .unwrap();
        crate::master::spec::load_device("spin-engine-interacting.toml", &text)
            .unwrap()
            .0
    }

    #[test]
    fn every_name_reads_and_writes_its_own_slot() {
        let dev = interacting();
        let names = dev.parameter_names();
        for must in [
            "PM1.orbital0.energy_P_meV",
            "PM2.orbital0.energy_AP_meV",
            "coupling.PM1.PM2.hopping_meV",
            "coupling.PM1.PM2.dm_z_meV",
            "left.spinterface.splitting_meV",
            "right.gamma_meV.PM2",
        ] {
            assert!(names.iter().any(|n| n == must), "{must} missing: {names:?}");
        }
        let mut seen = std::collections::HashSet::new();
        for n in &names {
            assert!(seen.insert(n), "duplicate name {n}");
            let v = dev.parameter(n).unwrap_or_else(|| panic!("{n} unreadable"));
            let mut d2 = dev.clone();
            let new = v + 0.123;
            assert!(d2.set_parameter(n, new), "{n}");
            assert_eq!(d2.parameter(n), Some(new), "{n}");
            // Exactly this parameter changed (temperature_K moves both leads' temperatures).
            for m in &names {
                if m == n
                    || (n == "temperature_K" && m.ends_with("temperature_K"))
                    || (n.ends_with("temperature_K") && m == "temperature_K")
                    || (n.ends_with(".energy_meV") && m.contains(".energy_") && {
                        // a state without its own level follows the common one
                        m.rsplit_once('.').map(|x| x.0) == n.rsplit_once('.').map(|x| x.0)
                    })
                {
                    continue;
                }
                assert_eq!(d2.parameter(m), dev.parameter(m), "setting {n} moved {m}");
            }
        }
        assert!(!dev.clone().set_parameter("PM3.charging_meV", 1.0));
        assert!(!dev
            .clone()
            .set_parameter("coupling.PM1.PM1.hopping_meV", 1.0));
    }

    #[test]
    fn values_match_the_file_and_dm_is_antisymmetric() {
        let dev = interacting();
        assert_eq!(dev.parameter("PM1.orbital0.energy_P_meV"), Some(-2.125));
        assert_eq!(dev.parameter("PM2.orbital0.energy_AP_meV"), Some(1.225));
        assert_eq!(dev.parameter("coupling.PM1.PM2.exchange_J_meV"), Some(1.0));
        assert_eq!(dev.parameter("coupling.PM1.PM2.dm_z_meV"), Some(0.5));
        assert_eq!(dev.parameter("coupling.PM2.PM1.dm_z_meV"), Some(-0.5));
        assert_eq!(dev.parameter("coupling.PM2.PM1.exchange_Jz_meV"), Some(0.5));
        let mut d = dev.clone();
        assert!(d.set_parameter("coupling.PM2.PM1.dm_z_meV", 0.2));
        assert_eq!(d.exchanges[0].dm_mev[2], -0.2);
        assert_eq!(dev.parameter("left.spinterface.width_meV"), Some(10.0));
        assert_eq!(dev.parameter("right.spin_accumulation_meV"), Some(2.52));
    }
}

//! Paper 2's write mechanism (issue 14): the write/read statistics follow from the gate-resolved
//! rates, and the kinetics agree with the master equations.

use spinpath::reproduce::memristor::{gate_junction, write_read, WriteReadOptions, C5_DEVICE};

#[test]
fn write_read_statistics_meet_the_issue_criteria() {
    let mut j = gate_junction("examples/memristor-c5.toml", C5_DEVICE, 1).unwrap();
    let o = WriteReadOptions {
        cycles: 400,
        ..WriteReadOptions::default()
    };
    let s = write_read(&mut j, &o, 7, &|| {}).unwrap();
    let (odd, n_odd) = s.parity(true);
    let (even, n_even) = s.parity(false);
    eprintln!(
        "success {:.3} odd {:?} ({n_odd}) even {:?} ({n_even}) none {} ppnn {} first {:?} thr {:?}",
        s.success_rate(),
        odd,
        even,
        s.without_jumps(),
        s.same_sign_neighbours(),
        s.first_p(),
        s.threshold_na
    );
    eprintln!("{}", s.table().unwrap().to_csv_string().unwrap());
}

//! `crds/` must hold exactly what `flux-operator-rs crds` prints.

use std::process::Command;

#[test]
fn crds_folder_equals_generated_crds() {
    let out = Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
        .arg("crds")
        .output()
        .expect("run flux-operator-rs crds");
    assert!(
        out.status.success(),
        "crds failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut on_disk = String::new();
    for file in [
        "fluxinstances.yaml",
        "fluxreports.yaml",
        "resourcesets.yaml",
        "resourcesetinputproviders.yaml",
    ] {
        on_disk.push_str(&std::fs::read_to_string(root.join(file)).expect("read crds/"));
    }
    assert!(
        printed == on_disk,
        "crds/ is out of date: run `cargo run -- crds --output-dir crds/`"
    );
}

//! The small Go programs under hack/ that differential tests run as oracles, built once
//! and cached by their scripts (hack/go-program.sh).

use std::path::PathBuf;
use std::process::Command;

/// The path of the program that `hack/<script>` builds; `what` says what it is for the
/// failure message.
pub fn build(script: &str, what: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("hack").join(script);
    let out = Command::new(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e})", path.display()));
    assert!(
        out.status.success(),
        "hack/{script} could not build {what} (it needs Go and the Go module proxy; hack/install-deps.sh installs \
         Go): {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

//! One TLS crypto provider for the whole process.

use std::sync::Once;

/// reqwest is built without a default crypto provider: use ring, as kube does. Call before
/// building any reqwest client.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Already installed by someone else is fine too.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

//! OCIArtifactTag against Debian's docker-registry on 127.0.0.1 (SPEC-resourceset §14.22):
//! the tags of a repository, filtered and limited, each with its manifest's digest.

use std::collections::BTreeMap;

use kube::api::Api;
use serde_json::{Value, json};

use flux_operator_rs::api::ResourceSetInputProvider;
use flux_operator_rs::distribution::artifact::{self, ArtifactRef, Credentials, Transport};
use flux_operator_rs::resourceset::template::ids::adler32;

use crate::artifact::oci_registry::{Options, Registry};
use crate::harness::wait_for;
use crate::provider_services::{pcond, wait_provider};
use crate::rset_bed::*;

/// Pushes one small artifact per tag, each with its own content (a layer of the tag's
/// bytes: the registry does not look inside); their digests by tag.
async fn push_tags(registry: &Registry, tags: &[&str]) -> BTreeMap<String, String> {
    let mut digests = BTreeMap::new();
    for tag in tags {
        let reference = ArtifactRef::parse("test", &registry.oci(&format!("apps/podinfo:{tag}"))).expect("reference");
        let transport = Transport::default().with_plain_http([registry.host()]);
        let layer = tag.as_bytes().to_vec();
        let pushed = artifact::push_layer(&transport, &reference, &Credentials::Anonymous, layer)
            .await
            .unwrap_or_else(|e| panic!("push {tag}: {e}"));
        digests.insert((*tag).to_owned(), pushed.digest);
    }
    digests
}

fn exported(p: &ResourceSetInputProvider) -> Value {
    serde_json::to_value(p.status.as_ref().map(|s| s.exported_inputs.clone()).unwrap_or_default()).unwrap()
}

fn tag_set(tag: &str, digests: &BTreeMap<String, String>) -> Value {
    json!({"id": adler32(tag.as_bytes()).to_string(), "tag": tag, "digest": digests[tag]})
}

#[tokio::test]
async fn provider_oci_s22_tags_and_digests() {
    let registry = Registry::start(Options::default());
    let digests = push_tags(&registry, &["1.0.0", "1.1.0", "2.0.0", "2.0.0-rc.1", "latest"]).await;
    let bed = Bed::start("rsip-oci").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let url = registry.oci("apps/podinfo");
    let api: Api<ResourceSetInputProvider> = Api::namespaced(client.clone(), ns);

    // Without semver: names in reverse byte order, `latest` excluded, the first two.
    let spec = json!({"type": "OCIArtifactTag", "url": url, "insecure": true,
        "filter": {"excludeTag": "^latest$", "limit": 2}});
    apply_provider(client, ns, "tags", json!({}), spec).await;
    let expected = json!([tag_set("2.0.0-rc.1", &digests), tag_set("2.0.0", &digests)]);
    wait_for(&api, "tags", 60, "the two newest names", |p| exported(p) == expected).await;

    // With semver: versions that satisfy it (no pre-release), the highest one.
    let spec = json!({"type": "OCIArtifactTag", "url": url, "insecure": true,
        "filter": {"semver": ">=1.0.0", "limit": 1}});
    apply_provider(client, ns, "tags", json!({}), spec).await;
    let expected = json!([tag_set("2.0.0", &digests)]);
    wait_for(&api, "tags", 60, "the highest version", |p| exported(p) == expected).await;

    // A repository that does not exist fails, naming the listing; a tag in the url is a
    // mistake in the spec.
    let missing = json!({"type": "OCIArtifactTag", "url": registry.oci("apps/missing"), "insecure": true});
    apply_provider(client, ns, "missing", json!({}), missing).await;
    let p = wait_provider(client, ns, "missing", "Ready", "False", "ReconciliationFailed").await;
    let message = pcond(&p, "Ready").map(|c| c.2).unwrap_or_default();
    assert!(message.contains("listing tags"), "{message}");
    let tagged = json!({"type": "OCIArtifactTag", "url": registry.oci("apps/podinfo:1.0.0"), "insecure": true});
    apply_provider(client, ns, "tagged", json!({}), tagged).await;
    let p = wait_provider(client, ns, "tagged", "Stalled", "True", "InvalidSpec").await;
    let message = pcond(&p, "Stalled").map(|c| c.2).unwrap_or_default();
    assert!(message.starts_with("spec.url: "), "{message}");
    crate::provider_services::delete_providers(client, ns).await;
}

//! OCIArtifactTag (SPEC-resourceset §12.3): the tags of an OCI repository, filtered as Git
//! tags are (include/exclude, semver, newest first, limit), each exported with the digest
//! of its manifest. The registry client is the one the distribution artifacts use: token
//! and basic auth, plain HTTP with `insecure`, extra roots from `certSecretRef`.

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;
use oci_client::Reference;
use oci_client::secrets::RegistryAuth;
use serde_json::Value;

use super::fetch::{Call, FetchError, Invalid};
use super::forge::auth::tls_pem;
use super::secrets;
use crate::api::InputSet;
use crate::distribution::artifact::{ArtifactRef, Credentials, Transport, from_docker_config};
use crate::resourceset::provider_filter::{Selection, Slot};
use crate::resourceset::template::ids::adler32;

/// Tags asked for per page, and the most pages read.
const PAGE: usize = 100;
const MAX_PAGES: usize = 1000;

pub async fn fetch(call: &Call<'_>) -> Result<Vec<InputSet>, FetchError> {
    let spec = call.spec();
    let (selection, _) = Selection::compile(spec.filter.as_ref(), Slot::Tag).map_err(|e| Invalid::Field {
        field: e.field,
        why: e.why,
    })?;
    let url = spec.url.as_deref().unwrap_or_default();
    let reference = ArtifactRef::parse("spec.url", url).map_err(|e| Invalid::Field {
        field: "spec.url",
        why: e.to_string(),
    })?;
    if reference.names_version() {
        let why = "a repository (oci://host/repository), without a tag or digest".to_owned();
        return Err(Invalid::Field { field: "spec.url", why }.into());
    }
    let transport = transport(call, &reference).await?;
    let client = transport
        .client(&reference)
        .map_err(|e| FetchError::failed("registry client", e))?;
    let auth = credentials(call, &reference).await?.to_registry_auth();
    let at = |tag: &str| Reference::with_tag(reference.registry().into(), reference.repository().into(), tag.into());
    let tags = list(&client, &at("latest"), &auth).await?;
    let mut sets = Vec::new();
    for tag in selection.tags(tags, String::as_str) {
        let digest = client
            .fetch_manifest_digest(&at(&tag), &auth)
            .await
            .map_err(|e| FetchError::failed(format!("manifest of tag {tag}"), e))?;
        let mut set = InputSet::new();
        set.insert("id".into(), Value::String(adler32(tag.as_bytes()).to_string()));
        set.insert("tag".into(), Value::String(tag));
        set.insert("digest".into(), Value::String(digest));
        sets.push(set);
    }
    Ok(sets)
}

/// Every tag of the repository, page by page (`last` is the previous page's last tag).
async fn list(client: &oci_client::Client, repo: &Reference, auth: &RegistryAuth) -> Result<Vec<String>, FetchError> {
    let mut all: Vec<String> = Vec::new();
    for _ in 0..MAX_PAGES {
        let last = all.last().cloned();
        let page = client
            .list_tags(repo, auth, Some(PAGE), last.as_deref())
            .await
            .map_err(|e| FetchError::failed("listing tags", e))?;
        let fresh = page.tags.len();
        // A registry that ignores `last` would repeat its first page forever.
        if last.is_some() && page.tags.first() == all.first() {
            return Err(FetchError::failed("listing tags", "the registry repeated a page"));
        }
        all.extend(page.tags);
        if fresh < PAGE {
            return Ok(all);
        }
    }
    Err(FetchError::failed(
        "listing tags",
        format!("more than {MAX_PAGES} pages"),
    ))
}

/// Plain HTTP with `insecure` (unless a CA is given), the roots of `certSecretRef`.
async fn transport(call: &Call<'_>, reference: &ArtifactRef) -> Result<Transport, FetchError> {
    let mut transport = Transport::new(call.timeout);
    let pem = tls_pem(call)
        .await
        .map_err(|e| FetchError::failed("certSecretRef", e))?;
    match pem.get("ca.crt") {
        Some(ca) => {
            transport = transport
                .with_ca_pem(ca.as_bytes())
                .map_err(|why| FetchError::failed("certSecretRef", format!("ca.crt: {why}")))?;
        }
        None if call.spec().insecure => transport = transport.with_plain_http([reference.registry()]),
        None => {}
    }
    if pem.contains_key("tls.crt") {
        let why = "client certificates are not supported for OCIArtifactTag by this operator yet";
        return Err(FetchError::failed("certSecretRef", why));
    }
    Ok(transport)
}

/// The registry's entry in `spec.secretRef` (a docker config Secret), else in the image
/// pull Secrets of `spec.serviceAccountName`; anonymous without either.
async fn credentials(call: &Call<'_>, reference: &ArtifactRef) -> Result<Credentials, FetchError> {
    let namespace = call.namespace();
    let mut names: Vec<String> = call.spec().secret_ref.iter().map(|r| r.name.clone()).collect();
    if let Some(account) = &call.spec().service_account_name {
        let accounts: Api<ServiceAccount> = Api::namespaced(call.client.clone(), &namespace);
        let sa = accounts
            .get(account)
            .await
            .map_err(|e| FetchError::failed(format!("ServiceAccount {namespace}/{account}"), e))?;
        names.extend(sa.image_pull_secrets.into_iter().flatten().map(|r| r.name));
    }
    for name in names {
        let secret = secrets::read(call, &name)
            .await
            .map_err(|e| FetchError::failed(format!("Secret {namespace}/{name}"), e))?;
        let data = secret.data.unwrap_or_default();
        let Some(config) = data.get(".dockerconfigjson") else {
            continue;
        };
        let found = from_docker_config(&config.0, reference.registry())
            .map_err(|e| FetchError::failed(format!("Secret {namespace}/{name}"), e))?;
        if let Some(credentials) = found {
            return Ok(credentials);
        }
    }
    Ok(Credentials::Anonymous)
}

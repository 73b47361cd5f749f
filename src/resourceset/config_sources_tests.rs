use serde_json::json;

use super::*;

fn source(kind: &str, ns: &str, name: &str) -> SourceRef {
    SourceRef {
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

#[test]
fn references_parse_or_name_the_annotation() {
    assert_eq!(
        parse_copy_from(" apps/src ", "Secret"),
        Ok(source("Secret", "apps", "src"))
    );
    let e = parse_copy_from("src", "Secret").unwrap_err().to_string();
    assert!(e.contains(COPY_FROM) && e.contains("\"src\""), "{e}");
    assert_eq!(
        parse_convert_from("apps/kc:config"),
        Ok((source("Secret", "apps", "kc"), Some("config".into())))
    );
    assert_eq!(
        parse_convert_from("apps/kc"),
        Ok((source("Secret", "apps", "kc"), None))
    );
    assert_eq!(
        parse_checksum_from("ConfigMap/apps/a, Secret/apps/b"),
        Ok(vec![source("ConfigMap", "apps", "a"), source("Secret", "apps", "b")])
    );
    assert!(parse_checksum_from("Pod/apps/a").is_err());
}

#[test]
fn a_secret_copy_takes_type_and_data_as_string_data() {
    let mut copy = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}, "data": {"old": "eA=="}});
    let src = json!({"type": "kubernetes.io/basic-auth", "data": {"username": "dXNlcg=="}});
    copy_into(&mut copy, &src);
    assert_eq!(copy["type"], "kubernetes.io/basic-auth");
    assert_eq!(copy["stringData"], json!({"username": "user"}));
    assert!(copy.get("data").is_none());
    let mut typed = json!({"kind": "Secret", "type": "Opaque"});
    copy_into(&mut typed, &src);
    assert_eq!(typed["type"], "Opaque", "a templated type stays");
}

#[test]
fn a_config_map_copy_replaces_data() {
    let mut copy = json!({"kind": "ConfigMap", "data": {"old": "x"}});
    copy_into(&mut copy, &json!({"data": {"k": "v"}, "binaryData": {"b": "AA=="}}));
    assert_eq!(copy["data"], json!({"k": "v"}));
    assert_eq!(copy["binaryData"], json!({"b": "AA=="}));
}

#[test]
fn a_kubeconfig_gives_address_and_ca_unless_templated() {
    let ca = STANDARD.encode("-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n");
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://k.example:6443\n    certificate-authority-data: {ca}\n"
    );
    let secret = json!({"data": {"value": STANDARD.encode(&kubeconfig)}});
    let src = source("Secret", "apps", "kc");
    let text = kubeconfig_of(&secret, &src, None).expect("kubeconfig");
    let mut cm = json!({"kind": "ConfigMap", "data": {"address": "https://mine"}});
    convert_into(&mut cm, &src, &text).expect("convert");
    assert_eq!(cm["data"]["address"], "https://mine");
    assert!(
        cm["data"]["ca.crt"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(kubeconfig_of(&secret, &src, Some("other")).is_err());
}

#[test]
fn the_checksum_follows_content_and_sources() {
    let cm = json!({"data": {"a": "1"}});
    let one = vec![(source("ConfigMap", "apps", "x"), checksum_content("ConfigMap", &cm))];
    let changed = vec![(
        source("ConfigMap", "apps", "x"),
        checksum_content("ConfigMap", &json!({"data": {"a": "2"}})),
    )];
    let renamed = vec![(source("ConfigMap", "apps", "y"), checksum_content("ConfigMap", &cm))];
    assert!(checksum(&one).starts_with("sha256:"));
    assert_ne!(checksum(&one), checksum(&changed));
    assert_ne!(checksum(&one), checksum(&renamed));
    let secret = json!({"data": {"a": "MQ=="}, "stringData": {"b": "2"}});
    let content = checksum_content("Secret", &secret);
    assert_eq!(content.get("a").map(Vec::as_slice), Some(b"1".as_slice()));
    assert_eq!(content.get("b").map(Vec::as_slice), Some(b"2".as_slice()));
}

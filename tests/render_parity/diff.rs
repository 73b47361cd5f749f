//! Object-by-object, field-by-field comparison of two renders. Map key order never
//! matters (it does not survive YAML parsing); list order does, so lists are compared by
//! index, and a list whose length differs is reported once, whole, which reads better
//! for container args than a cascade of shifted elements.

use std::collections::BTreeMap;

use serde_json::Value;

/// One field (or whole object) that differs.
#[derive(Debug, Clone)]
pub struct Difference {
    /// `Kind/namespace/name` (namespace empty for cluster-scoped objects).
    pub object: String,
    /// Dotted path inside the object (`spec.template.spec.containers[0].args`); empty when
    /// the object exists on one side only.
    pub path: String,
    pub ours: Option<Value>,
    pub upstream: Option<Value>,
}

pub fn object_id(obj: &Value) -> String {
    let text = |pointer: &str| obj.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    format!(
        "{}/{}/{}",
        text("/kind"),
        text("/metadata/namespace"),
        text("/metadata/name")
    )
}

fn by_id(objects: &[Value]) -> BTreeMap<String, &Value> {
    objects.iter().map(|o| (object_id(o), o)).collect()
}

/// Every difference between our objects and upstream's.
pub fn objects(ours: &[Value], upstream: &[Value]) -> Vec<Difference> {
    let (ours, upstream) = (by_id(ours), by_id(upstream));
    let mut found = Vec::new();
    for (id, mine) in &ours {
        match upstream.get(id) {
            Some(theirs) => fields(id, "", mine, theirs, &mut found),
            None => found.push(Difference {
                object: id.clone(),
                path: String::new(),
                ours: Some((*mine).clone()),
                upstream: None,
            }),
        }
    }
    for (id, theirs) in &upstream {
        if !ours.contains_key(id) {
            found.push(Difference {
                object: id.clone(),
                path: String::new(),
                ours: None,
                upstream: Some((*theirs).clone()),
            });
        }
    }
    found
}

/// The objects both sides have, in a different order: one difference naming the first
/// object out of place (object `(stream)`, path `order`).
pub fn order(ours: &[Value], upstream: &[Value]) -> Option<Difference> {
    let (mine, theirs) = (by_id(ours), by_id(upstream));
    let sequence = |objects: &[Value], other: &BTreeMap<String, &Value>| -> Vec<String> {
        objects
            .iter()
            .map(object_id)
            .filter(|id| other.contains_key(id))
            .collect()
    };
    let (a, b) = (sequence(ours, &theirs), sequence(upstream, &mine));
    let first = a.iter().zip(&b).position(|(x, y)| x != y)?;
    Some(Difference {
        object: "(stream)".to_owned(),
        path: "order".to_owned(),
        ours: Some(Value::from(a[first..].to_vec())),
        upstream: Some(Value::from(b[first..].to_vec())),
    })
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn fields(id: &str, path: &str, ours: &Value, upstream: &Value, found: &mut Vec<Difference>) {
    let differ = |found: &mut Vec<Difference>, ours: Option<&Value>, upstream: Option<&Value>| {
        found.push(Difference {
            object: id.to_owned(),
            path: path.to_owned(),
            ours: ours.cloned(),
            upstream: upstream.cloned(),
        });
    };
    match (ours, upstream) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let here = child(path, key);
                match b.get(key) {
                    Some(other) => fields(id, &here, value, other, found),
                    None => found.push(Difference {
                        object: id.to_owned(),
                        path: here,
                        ours: Some(value.clone()),
                        upstream: None,
                    }),
                }
            }
            for (key, value) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                found.push(Difference {
                    object: id.to_owned(),
                    path: child(path, key),
                    ours: None,
                    upstream: Some(value.clone()),
                });
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                fields(id, &format!("{path}[{i}]"), x, y, found);
            }
        }
        (a, b) if a == b => {}
        (a, b) => differ(found, Some(a), Some(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: &str, name: &str, spec: Value) -> Value {
        json!({"kind": kind, "metadata": {"name": name, "namespace": "ns"}, "spec": spec})
    }

    #[test]
    fn finds_each_kind_of_difference() {
        let ours = [
            obj("Deployment", "a", json!({"args": ["x", "y"], "n": 1, "only": true})),
            obj("Service", "mine", json!({})),
        ];
        let upstream = [
            obj("Deployment", "a", json!({"args": ["x", "y", "z"], "n": 2, "theirs": 1})),
            obj("Service", "theirs", json!({})),
        ];
        let found: Vec<(String, String)> = objects(&ours, &upstream)
            .into_iter()
            .map(|d| (d.object, d.path))
            .collect();
        let expect = [
            ("Deployment/ns/a", "spec.args"),
            ("Deployment/ns/a", "spec.n"),
            ("Deployment/ns/a", "spec.only"),
            ("Deployment/ns/a", "spec.theirs"),
            ("Service/ns/mine", ""),
            ("Service/ns/theirs", ""),
        ];
        let expect: Vec<(String, String)> = expect.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(found, expect);
        assert!(objects(&ours, &ours).is_empty());
        let reordered = [obj(
            "Deployment",
            "a",
            json!({"only": true, "n": 1, "args": ["x", "y"]}),
        )];
        assert!(objects(&ours[..1], &reordered).is_empty());
    }

    #[test]
    fn order_of_the_common_objects() {
        let (a, b, c) = (
            obj("Service", "a", json!({})),
            obj("Service", "b", json!({})),
            obj("Service", "c", json!({})),
        );
        // Objects on one side only do not count.
        assert!(order(&[a.clone(), c.clone(), b.clone()], &[a.clone(), b.clone(), c.clone()]).is_some());
        assert!(order(&[a.clone(), c.clone(), b.clone()], &[a.clone(), c.clone()]).is_none());
        let d = order(&[b.clone(), a.clone()], &[a, b]).expect("out of order");
        assert_eq!(d.ours, Some(json!(["Service/ns/b", "Service/ns/a"])));
    }
}

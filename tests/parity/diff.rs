//! Field-by-field differences between two JSON documents.

use serde_json::Value;

/// One differing field: where, and the value on each side (None: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub path: String,
    pub upstream: Option<Value>,
    pub ours: Option<Value>,
}

impl Difference {
    /// One line; values longer than `limit` characters are cut.
    pub fn show(&self, limit: usize) -> String {
        let show = |v: &Option<Value>| match v {
            None => "<absent>".to_owned(),
            Some(v) => {
                let text = v.to_string();
                if text.chars().count() > limit {
                    format!("{}…", text.chars().take(limit).collect::<String>())
                } else {
                    text
                }
            }
        };
        format!(
            "{}: upstream {} / ours {}",
            self.path,
            show(&self.upstream),
            show(&self.ours)
        )
    }
}

/// The differences between `upstream` and `ours` under `path`. Lists of objects that carry
/// a `name`, `id`, `type` or `kind` key are matched by it (a missing container shows as one
/// difference, not as a shift of every later one); other lists by index.
pub fn diff(path: &str, upstream: &Value, ours: &Value, out: &mut Vec<Difference>) {
    match (upstream, ours) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                pair(format!("{path}.{key}"), a.get(key), b.get(key), out);
            }
        }
        (Value::Array(a), Value::Array(b)) => match list_key(a, b) {
            Some(key) => diff_keyed(path, key, a, b, out),
            None => {
                for i in 0..a.len().max(b.len()) {
                    pair(format!("{path}[{i}]"), a.get(i), b.get(i), out);
                }
            }
        },
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            path: path.to_owned(),
            upstream: Some(a.clone()),
            ours: Some(b.clone()),
        }),
    }
}

/// Two members at `path`, either of which may be absent.
fn pair(path: String, upstream: Option<&Value>, ours: Option<&Value>, out: &mut Vec<Difference>) {
    match (upstream, ours) {
        (Some(x), Some(y)) => diff(&path, x, y, out),
        (x, y) => out.push(Difference {
            path,
            upstream: x.cloned(),
            ours: y.cloned(),
        }),
    }
}

fn list_key(a: &[Value], b: &[Value]) -> Option<&'static str> {
    ["name", "id", "type", "kind"].into_iter().find(|key| {
        let all: Vec<&Value> = a.iter().chain(b).collect();
        let unique = |list: &[Value]| {
            let keys: std::collections::BTreeSet<String> = list.iter().map(|v| v[*key].to_string()).collect();
            keys.len() == list.len()
        };
        !all.is_empty() && all.iter().all(|v| v.get(*key).is_some_and(Value::is_string)) && unique(a) && unique(b)
    })
}

fn diff_keyed(path: &str, key: &str, a: &[Value], b: &[Value], out: &mut Vec<Difference>) {
    let find = |list: &[Value], k: &Value| list.iter().position(|v| &v[key] == k);
    for (i, x) in a.iter().enumerate() {
        let sub = format!("{path}[{key}={}]", x[key].as_str().unwrap_or_default());
        match find(b, &x[key]) {
            Some(j) if i == j => diff(&sub, x, &b[j], out),
            Some(j) => {
                out.push(Difference {
                    path: format!("{sub}#position"),
                    upstream: Some(i.into()),
                    ours: Some(j.into()),
                });
                diff(&sub, x, &b[j], out);
            }
            None => out.push(Difference {
                path: sub,
                upstream: Some(x.clone()),
                ours: None,
            }),
        }
    }
    for y in b.iter().filter(|y| find(a, &y[key]).is_none()) {
        let sub = format!("{path}[{key}={}]", y[key].as_str().unwrap_or_default());
        out.push(Difference {
            path: sub,
            upstream: None,
            ours: Some(y.clone()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(a: Value, b: Value) -> Vec<String> {
        let mut out = Vec::new();
        diff("x", &a, &b, &mut out);
        out.iter().map(|d| d.path.clone()).collect()
    }

    #[test]
    fn keyed_lists_report_missing_and_moved_members() {
        let a = json!({"c": [{"name": "a", "v": 1}, {"name": "b", "v": 2}]});
        let b = json!({"c": [{"name": "b", "v": 3}]});
        assert_eq!(paths(a, b), ["x.c[name=a]", "x.c[name=b]#position", "x.c[name=b].v"]);
    }

    #[test]
    fn equal_documents_have_no_difference_and_scalars_differ_by_index() {
        assert!(paths(json!({"a": [1, 2]}), json!({"a": [1, 2]})).is_empty());
        assert_eq!(paths(json!({"a": [1, 2]}), json!({"a": [1]})), ["x.a[1]"]);
        assert_eq!(paths(json!({"a": 1}), json!({"b": 1})), ["x.a", "x.b"]);
    }
}

//! An info family with one series per object, keyed by UID: a new state replaces the
//! object's old series, a deletion removes it (`flux_resourceset_info`,
//! `flux_resourcesetinputprovider_info`).

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus::GaugeVec;

pub struct ObjectInfoVec {
    gauge: GaugeVec,
    current: Mutex<HashMap<String, Vec<String>>>,
}

impl ObjectInfoVec {
    pub(super) fn new(gauge: GaugeVec) -> Self {
        Self {
            gauge,
            current: Mutex::default(),
        }
    }

    /// The series of the object `uid` becomes `values` (every label, in order).
    pub fn set(&self, uid: &str, values: Vec<String>) {
        let mut current = self.lock();
        if let Some(old) = current.get(uid)
            && old != &values
        {
            let _ = self.gauge.remove_label_values(&labels(old));
        }
        self.gauge.with_label_values(&labels(&values)).set(1.0);
        current.insert(uid.to_owned(), values);
    }

    pub fn remove(&self, uid: &str) {
        if let Some(old) = self.lock().remove(uid) {
            let _ = self.gauge.remove_label_values(&labels(&old));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<String>>> {
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn labels(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use prometheus::Opts;

    use super::*;

    #[test]
    fn one_series_per_object() {
        let gauge = GaugeVec::new(Opts::new("x_info", "x"), &["uid", "ready"]).expect("gauge");
        let info = ObjectInfoVec::new(gauge.clone());
        info.set("u1", vec!["u1".into(), "Unknown".into()]);
        info.set("u1", vec!["u1".into(), "True".into()]);
        info.set("u2", vec!["u2".into(), "False".into()]);
        let series = |g: &GaugeVec| {
            use prometheus::core::Collector;
            g.collect()[0].get_metric().len()
        };
        assert_eq!(series(&gauge), 2, "the old state of u1 is replaced");
        assert!(gauge.get_metric_with_label_values(&["u1", "True"]).is_ok());
        info.remove("u1");
        info.remove("u3");
        assert_eq!(series(&gauge), 1);
    }
}

//! Reading the operator's metrics endpoint: scraping, parsing series, promtool, and a real
//! Prometheus on loopback.

use std::collections::BTreeMap;
use std::process::{Child, Command};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .unwrap()
        .port()
}

pub fn scrape(port: u16) -> String {
    let out = Command::new("curl")
        .args(["-fsS", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "scrape failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Series of a metric as (labels, value), from the text exposition format.
pub fn samples(text: &str, metric: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .map(|l| {
            let close = l.rfind('}').unwrap();
            let inner = &l[metric.len() + 1..close];
            let mut labels = BTreeMap::new();
            let mut rest = inner;
            while let Some((key, after)) = rest.split_once("=\"") {
                let end = after.find('"').unwrap();
                labels.insert(key.trim_start_matches(',').to_owned(), after[..end].to_owned());
                rest = &after[end + 1..];
            }
            (labels, l[close + 1..].trim().parse().expect("sample value"))
        })
        .collect()
}

/// Series of a metric as label maps.
pub fn series(text: &str, metric: &str) -> Vec<BTreeMap<String, String>> {
    samples(text, metric).into_iter().map(|(labels, _)| labels).collect()
}

/// The value of the one series of `metric` with exactly these labels; panics when absent.
pub fn value(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let want: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    samples(text, metric)
        .into_iter()
        .find(|(l, _)| *l == want)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no series {metric}{want:?}"))
}

/// `promtool check metrics` judges the exposition.
pub fn promtool_check(text: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus, installed by .ci/run)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Prometheus {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_prometheus(target_port: u16, port: u16) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: flux-operator\n  static_configs:\n  - targets: ['127.0.0.1:{target_port}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus (Debian package prometheus, installed by .ci/run)");
    Prometheus { child, _dir: dir }
}

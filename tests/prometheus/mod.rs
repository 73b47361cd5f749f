//! A real Prometheus (Debian's `prometheus` package, which brings `promtool`) on a free
//! loopback port, scraping targets every second and evaluating rule files every second;
//! stopped when dropped. Also the operator's /metrics read as text.
//!
//! The tests fail (never skip) when the tools are missing: `.ci/run` installs them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("local address")
        .port()
}

/// GET of a loopback URL with curl; the body, or curl's complaint.
fn curl(args: &[&str]) -> Result<String, String> {
    let out = Command::new("curl").args(["-sS"]).args(args).output().expect("curl");
    if out.status.success() {
        String::from_utf8(out.stdout).map_err(|e| e.to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The text exposition of `127.0.0.1:{port}/metrics`.
pub fn scrape(port: u16) -> String {
    curl(&["-f", &format!("http://127.0.0.1:{port}/metrics")]).unwrap_or_else(|e| panic!("scrape failed: {e}"))
}

/// Series of a metric as (labels, value), from the text exposition format.
pub fn samples(text: &str, metric: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .map(|l| {
            let close = l.rfind('}').expect("closing brace");
            let mut labels = BTreeMap::new();
            let mut rest = &l[metric.len() + 1..close];
            while let Some((key, after)) = rest.split_once("=\"") {
                let end = after.find('"').expect("closing quote");
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

/// Whether the exposition has samples of `family` (a metric name as written in a sample
/// line, e.g. `x_bucket` for a histogram's buckets).
pub fn exports(text: &str, family: &str) -> bool {
    text.lines()
        .any(|l| l.strip_prefix(family).is_some_and(|rest| rest.starts_with(['{', ' '])))
}

/// promtool with `args`, fed `stdin`; returns (success, stdout and stderr).
pub fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus, installed by .ci/run)");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes()).expect("write promtool stdin");
    }
    let out = child.wait_with_output().expect("promtool output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub struct Prometheus {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Scrapes `127.0.0.1:{target_port}` as job `job` and evaluates `rule_files`, both
    /// every second.
    pub fn start(job: &str, target_port: u16, rule_files: &[&Path]) -> Self {
        let rules: String = rule_files.iter().map(|f| format!("- {}\n", f.display())).collect();
        Self::with_config(
            Path::new("prometheus"),
            &format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n{rules}scrape_configs:\n- job_name: {job}\n  static_configs:\n  - targets: ['127.0.0.1:{target_port}']\n"
            ),
        )
    }

    /// `binary` (Debian's `prometheus`, or another build) with this configuration file's text.
    pub fn with_config(binary: &Path, config: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("prometheus.yml"), config).expect("write prometheus.yml");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| panic!("start {} (.ci/run installs it): {e}", binary.display()));
        Prometheus { child, dir, port }
    }

    /// Prometheus's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `data` of a GET of the HTTP API at `path` with URL-encoded `params`; Err with
    /// Prometheus's error (e.g. a PromQL parse error) or curl's.
    pub fn api(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let url = format!("http://127.0.0.1:{}/api/v1/{path}", self.port);
        let mut args = vec!["-G".to_owned(), url];
        for (key, value) in params {
            args.extend(["--data-urlencode".to_owned(), format!("{key}={value}")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let body: Value = serde_json::from_str(&curl(&args)?).map_err(|e| e.to_string())?;
        if body["status"] == "success" {
            Ok(body["data"].clone())
        } else {
            Err(format!("{}: {}", body["errorType"], body["error"]))
        }
    }

    /// The result vector of an instant query.
    pub fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.api("query", &[("query", expr)])?;
        Ok(data["result"].as_array().cloned().unwrap_or_default())
    }

    /// The active (pending or firing) alerts.
    pub fn alerts(&self) -> Result<Vec<Value>, String> {
        let data = self.api("alerts", &[])?;
        Ok(data["alerts"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until `expr` returns at least one series, or panics after `seconds`.
    pub async fn wait_for_data(&self, expr: &str, seconds: u64) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let last = self.query(expr);
            if let Ok(result) = &last
                && !result.is_empty()
            {
                return result.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Prometheus returned no {expr} within {seconds}s: {last:?}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

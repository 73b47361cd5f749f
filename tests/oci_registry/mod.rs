//! A real OCI registry on 127.0.0.1 for the artifact tests: Debian's `docker-registry`
//! (CNCF distribution 2.8) with filesystem storage in a temporary folder, optionally with
//! htpasswd authentication (bcrypt from `htpasswd`, Debian's apache2-utils) and TLS from a
//! throwaway CA made with `openssl`. Started by the test, stopped when dropped.
//!
//! The tests fail (never skip) when the tools are missing: `.ci/run` installs them.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

#[derive(Default, Clone)]
pub struct Options {
    /// htpasswd users (user, password).
    pub users: Vec<(String, String)>,
    /// Serve HTTPS with a certificate for 127.0.0.1 signed by a fresh CA.
    pub tls: bool,
}

pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists() || which(path),
        "{path} is missing: install the Debian package {package} (apt-get install -y {package}); .ci/run does"
    );
}

fn which(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Registry {
    pub fn start(options: Options) -> Registry {
        require(REGISTRY_BIN, "docker-registry");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let storage = root.join("storage");
        std::fs::create_dir_all(&storage).expect("mkdir storage");
        let port = closed_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if options.tls {
            require("openssl", "openssl");
            let (cert, key) = make_certificates(root);
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if !options.users.is_empty() {
            require("htpasswd", "apache2-utils");
            let mut htpasswd = String::new();
            for (user, password) in &options.users {
                htpasswd.push_str(run(Command::new("htpasswd").args(["-Bbn", user, password])).trim());
                htpasswd.push('\n');
            }
            let path = root.join("htpasswd");
            std::fs::write(&path, htpasswd).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test-registry\n    path: {}\n",
                path.display()
            ));
        }
        let config_path = root.join("config.yml");
        std::fs::write(&config_path, config).expect("write config.yml");
        let log = std::fs::File::create(root.join("registry.log")).expect("log file");
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {REGISTRY_BIN}: {e}"));
        let mut registry = Registry { child, dir, port };
        registry.wait_listening();
        registry
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited with {status}: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The registry's output, with one access log line per request
    /// (`"HEAD /v2/<repository>/manifests/<tag> HTTP/1.1" 200 ...`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("registry.log")).unwrap_or_default()
    }

    /// How many `METHOD /v2/<path>...` requests the access log has
    /// (`path`: `flux-manifests/manifests/`, `flux-manifests/blobs/`).
    pub fn requests(&self, method: &str, path: &str) -> usize {
        let needle = format!("\"{method} /v2/{path}");
        self.log().lines().filter(|l| l.contains(&needle)).count()
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `oci://127.0.0.1:PORT/<repository_and_tag>`.
    pub fn oci(&self, repository_and_tag: &str) -> String {
        format!("oci://{}/{repository_and_tag}", self.host())
    }

    /// The registry's folder: its configuration, log, storage and certificates.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// The CA that signs the certificate of a registry started with `tls`, in its folder.
pub const CA_FILE: &str = "ca.pem";

/// A CA (`CA_FILE`) and a server certificate for 127.0.0.1 (ECDSA P-256, one day);
/// returns the certificate and its key.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf) {
    let p = |name: &str| dir.join(name);
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run(Command::new("openssl")
        .args(["req", "-x509"])
        .args(ec)
        .args(["-days", "1", "-subj", "/CN=flux-operator-rs test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p(CA_FILE)));
    run(Command::new("openssl")
        .arg("req")
        .args(ec)
        .args(["-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(p("server.key"))
        .arg("-out")
        .arg(p("server.csr")));
    std::fs::write(
        p("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "1", "-set_serial", "2"])
        .arg("-in")
        .arg(p("server.csr"))
        .arg("-CA")
        .arg(p(CA_FILE))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-extfile")
        .arg(p("server.ext"))
        .arg("-out")
        .arg(p("server.pem")));
    (p("server.pem"), p("server.key"))
}

/// `../shared/flux-distribution`.
pub fn shared_distribution() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flux-distribution")
}

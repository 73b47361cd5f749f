//! The two operators as processes on a test bed, started with equivalent flags so that both
//! are observed the same way.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::ParityError;
use crate::bed::{TestBed, project_root};
use crate::upstream_cli;

/// Which operator a run starts.
#[derive(Clone, Debug)]
pub enum Flavor {
    /// The upstream operator binary of this release tag, a black box.
    Upstream {
        version: String,
        binary: PathBuf,
    },
    Ours,
}

impl Flavor {
    /// The upstream operator as `hack/upstream-operator.sh VERSION operator` caches it. The
    /// path is computed, not built here: building takes minutes and belongs to the script.
    pub fn upstream(version: &str) -> Result<Self, ParityError> {
        let script = project_root().join("hack/upstream-operator.sh");
        let text = std::fs::read(&script).map_err(|e| ParityError::Spawn(script.display().to_string(), e))?;
        let root = upstream_cli::cache_root().unwrap_or_default();
        let binary = upstream_cli::cache_dir(&root, version, &text).join("flux-operator-operator");
        if !binary.is_file() {
            return Err(ParityError::OracleMissing(
                version.to_owned(),
                binary.display().to_string(),
            ));
        }
        Ok(Self::Upstream {
            version: version.to_owned(),
            binary,
        })
    }

    pub fn label(&self) -> String {
        match self {
            Self::Upstream { version, .. } => format!("upstream {version}"),
            Self::Ours => "ours".to_owned(),
        }
    }
}

/// How a run differs from the defaults.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunFlags {
    pub leader_election: bool,
    /// The operators' own retry delays instead of ten minutes: upstream's ResourceSet
    /// reconciler requeues through the rate limiter after adding its finalizer.
    pub default_retry: bool,
}

/// A running operator; killed when dropped.
pub struct OperatorProcess {
    child: Child,
    pub metrics_port: u16,
    pub log: PathBuf,
}

impl OperatorProcess {
    /// Starts `flavor` on `bed` for `namespace`, and waits until its metrics endpoint answers.
    /// A port taken between choosing and binding it is retried with fresh ports.
    /// Its output goes to `<bed>/<run>-<attempt>.log`.
    pub async fn start(
        flavor: &Flavor,
        bed: &TestBed,
        namespace: &str,
        flags: RunFlags,
        run: &str,
    ) -> Result<Self, ParityError> {
        let mut last = None;
        for attempt in 0..3 {
            let log = bed.dir.join(format!("{run}-{attempt}.log"));
            let mut process = spawn(flavor, bed, namespace, flags, log)?;
            match process.wait_serving().await {
                Ok(()) => return Ok(process),
                Err(e) => {
                    process.kill().await;
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| ParityError::Timeout("operator start".into())))
    }

    async fn wait_serving(&mut self) -> Result<(), ParityError> {
        for _ in 0..150 {
            if let Some(status) = self
                .child
                .try_wait()
                .map_err(|e| ParityError::Spawn("operator".into(), e))?
            {
                return Err(ParityError::OperatorExited(
                    status.to_string(),
                    self.log.display().to_string(),
                ));
            }
            if scrape(self.metrics_port).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(ParityError::Timeout(format!(
            "metrics endpoint of the operator (log {})",
            self.log.display()
        )))
    }

    /// The operator's `/metrics` text.
    pub async fn metrics(&self) -> Result<String, ParityError> {
        scrape(self.metrics_port).await
    }

    /// Whether the process is still running (it must not exit on its own).
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, as Kubernetes stops a pod: the operator shuts down gracefully (upstream
    /// releases its Lease). Killed after 20 s.
    pub async fn terminate(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            self.kill().await;
        }
    }
}

fn spawn(
    flavor: &Flavor,
    bed: &TestBed,
    namespace: &str,
    flags: RunFlags,
    log: PathBuf,
) -> Result<OperatorProcess, ParityError> {
    let metrics_port = free_port();
    let health_port = free_port();
    let storage = project_root().join("../shared/flux-distribution");
    // A failed reconcile is retried only after ten minutes, and the report only recomputed
    // on events: what is observed is the outcome of the first reconcile, not a race with
    // retries whose timing differs between any two runs.
    let mut args = vec![
        format!("--storage-path={}", storage.display()),
        format!("--enable-leader-election={}", flags.leader_election),
        format!("--metrics-addr=127.0.0.1:{metrics_port}"),
        format!("--health-addr=127.0.0.1:{health_port}"),
        "--reporting-interval=10m".to_owned(),
        "--log-encoding=json".to_owned(),
        // `FLUX_PARITY_LOG_LEVEL=debug` to see what an operator did in a case's log.
        format!(
            "--log-level={}",
            std::env::var("FLUX_PARITY_LOG_LEVEL").unwrap_or_else(|_| "info".into())
        ),
    ];
    if !flags.default_retry {
        args.extend(["--min-retry-delay=10m".to_owned(), "--max-retry-delay=15m".to_owned()]);
    }
    let mut command = match flavor {
        Flavor::Upstream { binary, .. } => {
            args.push("--web-server-port=0".to_owned());
            let mut c = upstream_command(binary, flags);
            c.env("GODEBUG", "fips140=on");
            c
        }
        Flavor::Ours => {
            args.insert(0, "run".to_owned());
            Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
        }
    };
    let file = std::fs::File::create(&log).map_err(|e| ParityError::Spawn(log.display().to_string(), e))?;
    let err = file
        .try_clone()
        .map_err(|e| ParityError::Spawn(log.display().to_string(), e))?;
    die_with_parent(&mut command);
    // No notification-controller runs on the test bed: upstream would spend 15 s per event
    // retrying its address.
    let child = command
        .args(&args)
        .env("RUNTIME_NAMESPACE", namespace)
        .env("KUBECONFIG", bed.kubeconfig())
        .env("NOTIFICATIONS_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ParityError::Spawn(flavor.label(), e))?;
    Ok(OperatorProcess {
        child,
        metrics_port,
        log,
    })
}

/// An interrupted test run (SIGTERM, Ctrl-C) runs no destructor: the kernel kills the
/// operator with its parent, instead of leaving it to retry a stopped apiserver forever.
fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl(2) only changes the calling (child) process's own death signal; nothing
    // is allocated or locked between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// Out of a cluster, upstream's leader election finds its namespace only in the service
/// account file of a pod (it refuses to start without it): with leader election on, it runs
/// in a private mount namespace where a tmpfs over /run holds that file.
fn upstream_command(binary: &std::path::Path, flags: RunFlags) -> Command {
    if !flags.leader_election {
        return Command::new(binary);
    }
    let script = "mount -t tmpfs parity /run && d=/run/secrets/kubernetes.io/serviceaccount \
                  && mkdir -p $d && printf %s \"$RUNTIME_NAMESPACE\" > $d/namespace && exec \"$@\"";
    let mut c = Command::new("unshare");
    c.args(["--mount", "sh", "-c", script, "sh"]).arg(binary);
    c
}

/// A free loopback port below the ephemeral range, never handed out twice by this process.
fn free_port() -> u16 {
    static TAKEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut taken = TAKEN.lock().expect("port set");
    let seed = std::collections::hash_map::RandomState::new();
    for n in 0u32.. {
        let port = 10000 + (std::hash::BuildHasher::hash_one(&seed, n) % 22000) as u16;
        if !taken.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            taken.insert(port);
            return port;
        }
    }
    unreachable!("a free port exists")
}

/// GET /metrics over plain HTTP/1.0, enough for both metrics servers.
async fn scrape(port: u16) -> Result<String, ParityError> {
    let io = |e: std::io::Error| ParityError::Metrics(format!("127.0.0.1:{port}: {e}"));
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.map_err(io)?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .map_err(io)?;
    let mut body = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut body))
        .await
        .map_err(|_| ParityError::Metrics(format!("127.0.0.1:{port}: no answer in 10 s")))?
        .map_err(io)?;
    let text = String::from_utf8_lossy(&body).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1);
    if !head.starts_with("HTTP/1.") || status != Some("200") {
        return Err(ParityError::Metrics(format!(
            "127.0.0.1:{port}: {}",
            head.lines().next().unwrap_or("")
        )));
    }
    Ok(body.to_owned())
}

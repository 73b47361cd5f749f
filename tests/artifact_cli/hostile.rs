//! A registry that lies: it answers `/v2/` and every manifest request on 127.0.0.1 with a
//! body of its choosing, as a compromised or broken mirror could. The real docker-registry
//! refuses to store or serve manifests over 4 MiB, so it cannot play this part.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Clone)]
pub enum Manifest {
    /// This document, with its Content-Length.
    Json(Vec<u8>),
    /// `total` bytes of a JSON string, written in chunks until the client hangs up;
    /// `declared` says whether a Content-Length announces them.
    Endless { total: u64, declared: bool },
}

pub struct Server {
    pub port: u16,
    /// Manifest body bytes the client accepted before it hung up.
    pub written: Arc<AtomicU64>,
}

impl Server {
    pub fn start(manifest: Manifest) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let manifest = manifest.clone();
                let counter = counter.clone();
                std::thread::spawn(move || answer(stream, &manifest, &counter));
            }
        });
        Server { port, written }
    }

    pub fn oci(&self, repository_and_tag: &str) -> String {
        format!("oci://127.0.0.1:{}/{repository_and_tag}", self.port)
    }
}

/// One request per connection (`Connection: close`), errors ignored: the client hanging up
/// is the point.
fn answer(stream: TcpStream, manifest: &Manifest, written: &AtomicU64) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let mut out = stream;
    let head = request_line.starts_with("HEAD ");
    if !request_line.contains("/manifests/") {
        let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    let start = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n";
    match manifest {
        Manifest::Json(body) => {
            let _ = write!(out, "{start}Content-Length: {}\r\n\r\n", body.len());
            if !head {
                let _ = out.write_all(body);
            }
        }
        Manifest::Endless { total, declared } => {
            let length = if *declared {
                format!("Content-Length: {total}\r\n")
            } else {
                "Transfer-Encoding: chunked\r\n".to_owned()
            };
            if write!(out, "{start}{length}\r\n").is_err() || head {
                return;
            }
            stream_body(&mut out, *total, *declared, written);
        }
    }
}

fn stream_body(out: &mut TcpStream, total: u64, declared: bool, written: &AtomicU64) {
    let chunk = vec![b'a'; 64 << 10];
    let mut sent = 0u64;
    while sent < total {
        let n = chunk.len().min(usize::try_from(total - sent).unwrap_or(usize::MAX));
        let ok = if declared {
            out.write_all(&chunk[..n]).is_ok()
        } else {
            write!(out, "{n:x}\r\n").is_ok() && out.write_all(&chunk[..n]).is_ok() && out.write_all(b"\r\n").is_ok()
        };
        if !ok {
            return;
        }
        sent += n as u64;
        written.fetch_add(n as u64, Ordering::Relaxed);
    }
    if !declared {
        let _ = out.write_all(b"0\r\n\r\n");
    }
}

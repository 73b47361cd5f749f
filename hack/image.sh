#!/usr/bin/env bash
# Builds the operator image without the internet or a container engine, the same image the
# Dockerfile builds with them: the same files, entrypoint, user and labels
# (tests/dockerfile checks both), and pushes it to a registry.
#
#   hack/image.sh [--out DIR] [--binary FILE] [--push HOST[:PORT]/REPO:TAG] [--plain-http]
#
# - The binary: a static glibc build (`-C target-feature=+crt-static`, static-pie), since the
#   Dockerfile's musl target cannot be installed on these machines. Cached outside the clone
#   under ${FLUX_OPERATOR_RS_CACHE:-~/.cache/flux-operator-rs}/image/target, so that CI's fresh
#   clones rebuild only the operator's own crate. --binary takes a binary built elsewhere.
# - /data: every Flux release of ../shared/flux-distribution/flux (the Dockerfile's
#   FLUX_VERSIONS default), with its image list and flux-images/VERSION, owned by 65532.
# - The base: what the Dockerfile's distroless static:nonroot base gives the operator: the
#   root and nonroot (65532) users, the CA bundle (Debian's ca-certificates), /tmp (1777) and
#   /home/nonroot. No shell, no package manager.
# The layout goes to DIR (default: the cache's image/oci) as an OCI image layout; stdout
# carries the manifest digest. --push uploads it (--plain-http for a loopback registry).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
cache=${FLUX_OPERATOR_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-operator-rs}/image
shared=$root/../shared/flux-distribution
target=x86_64-unknown-linux-gnu
uid=65532

log() { echo "image: $*" >&2; }
die() { log "error: $*"; exit 1; }

out=$cache/oci binary="" push="" plain_http=""
while [ $# -gt 0 ]; do
    case $1 in
    --out) out=$2; shift ;;
    --binary) binary=$2; shift ;;
    --push) push=$2; shift ;;
    --plain-http) plain_http=--plain-http ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; die "unknown argument $1" ;;
    esac
    shift
done
[ -d "$shared/flux" ] || die "$shared/flux is missing (the data folder beside the clone)"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca_bundle" ] || die "$ca_bundle is missing (apt-get install ca-certificates)"

# What `cargo test` gives the processes of a test (its package's CARGO_*, LD_LIBRARY_PATH):
# inherited by this cargo, it changes build fingerprints and rebuilds every dependency, so
# the build runs without it, as from a shell. (/proc: names like CARGO_BIN_EXE_a-b are no
# shell variables.)
clean_env=()
while IFS= read -r -d '' pair; do
    case ${pair%%=*} in
    CARGO_PKG_* | CARGO_MANIFEST_* | CARGO_BIN_EXE_* | CARGO_CRATE_NAME | CARGO_PRIMARY_PACKAGE | CARGO_TARGET_TMPDIR | LD_LIBRARY_PATH | RUST_RECURSION_COUNT)
        clean_env+=(-u "${pair%%=*}") ;;
    esac
done </proc/$$/environ

if [ -z "$binary" ]; then
    log "building the static operator binary (release, $target)"
    (cd "$root" && env "${clean_env[@]}" RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR="$cache/target" \
        cargo build --quiet --locked --release --bin flux-operator-rs --target "$target")
    binary=$cache/target/$target/release/flux-operator-rs
    # A FROM-scratch image has no dynamic loader: refuse a binary that asks for one.
    if LC_ALL=C readelf -lW "$binary" | grep -q 'program interpreter'; then
        die "$binary is dynamically linked"
    fi
fi
[ -x "$binary" ] || die "$binary is not an executable"

versions=$(find "$shared/flux" -mindepth 1 -maxdepth 1 -type d -name 'v*' -printf '%f\n' | sort -V)
[ -n "$versions" ] || die "no Flux release in $shared/flux"
newest=$(echo "$versions" | tail -n 1)

# The Dockerfile's LABELs, so that both images describe themselves the same way.
labels=$(sed -n 's/^.*\(org\.opencontainers\.image\.[a-z]*\)="\([^"]*\)".*$/"\1": "\2"/p' "$root/Dockerfile" | paste -sd, -)

spec() {
    local v data=""
    for v in $versions; do
        [ -f "$shared/flux-images/$v/upstream-alpine.yaml" ] || die "$shared/flux-images/$v/upstream-alpine.yaml is missing"
        data+="{\"path\": \"data/flux/$v\", \"from\": \"$shared/flux/$v\", \"uid\": $uid, \"gid\": $uid},"
        data+="{\"path\": \"data/flux-images/$v/upstream-alpine.yaml\", \"from\": \"$shared/flux-images/$v/upstream-alpine.yaml\", \"uid\": $uid, \"gid\": $uid},"
        data+="{\"path\": \"data/flux-images/$v\", \"dir\": true, \"uid\": $uid, \"gid\": $uid},"
    done
    cat <<EOF
{
  "config": {
    "User": "$uid:$uid",
    "Entrypoint": ["/flux-operator-rs"],
    "Cmd": ["run"],
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=$ca_bundle"],
    "WorkingDir": "/home/nonroot"
  },
  "labels": {$labels},
  "layers": [
    [
      {"path": "etc/passwd", "text": "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:$uid:$uid:nonroot:/home/nonroot:/sbin/nologin\n"},
      {"path": "etc/group", "text": "root:x:0:\nnobody:x:65534:\nnonroot:x:$uid:\n"},
      {"path": "etc/ssl/certs/ca-certificates.crt", "from": "$ca_bundle"},
      {"path": "tmp", "dir": true, "mode": $((8#1777))},
      {"path": "home/nonroot", "dir": true, "mode": $((8#700)), "uid": $uid, "gid": $uid}
    ],
    [
      {"path": "data", "dir": true, "uid": $uid, "gid": $uid},
      {"path": "data/flux", "dir": true, "uid": $uid, "gid": $uid},
      {"path": "data/flux-images", "dir": true, "uid": $uid, "gid": $uid},
      $data
      {"path": "data/flux-images/VERSION", "text": "$newest\n", "uid": $uid, "gid": $uid}
    ],
    [
      {"path": "flux-operator-rs", "from": "$(realpath "$binary")"}
    ]
  ]
}
EOF
}

rm -rf "$out"
digest=$(spec | python3 "$here/oci-image.py" build "$out")
size=$(python3 -c 'import json, sys
m = json.load(open(sys.argv[1] + "/blobs/sha256/" + sys.argv[2].split(":")[1]))
print(sum(l["size"] for l in m["layers"]) + m["config"]["size"])' "$out" "$digest")
log "$out: $(echo "$versions" | wc -l) Flux releases, $digest, $((size / 1024)) KiB compressed"
if [ -n "$push" ]; then
    python3 "$here/oci-image.py" push "$out" "$push" $plain_http >/dev/null
    log "pushed $push"
fi
echo "$digest"

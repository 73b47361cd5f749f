#!/usr/bin/env bash
# The test bed: a real etcd and kube-apiserver (and, with --full, kube-controller-manager,
# kube-scheduler and kwok; with --node, also a real kubelet node, see hack/testbed/node.sh)
# built from the official Go modules pinned in hack/testbed/go.mod, started on free
# 127.0.0.1 ports.
#
#   hack/testbed.sh build [--full|--node]     build the binaries once into the cache
#   hack/testbed.sh up DIR [--full|--node] [--owner-pid PID] [--no-watch-cache]
#                                             start, write DIR/kubeconfig, return when /readyz answers
#                                             (and, with --node, the node `localhost` is Ready; its
#                                             registry's HOST:PORT is in DIR/registry, the chart
#                                             values that run the operator there in
#                                             DIR/node-values.yaml);
#                                             with --owner-pid, stop by itself when PID exits;
#                                             --no-watch-cache: the apiserver serves lists from etcd
#                                             (a new CRD's first lists are not answered 429 while its
#                                             watch cache initialises, which costs clients seconds)
#   hack/testbed.sh down DIR                  stop exactly the processes `up DIR` started (and undo
#                                             what the node changed on the machine)
#   hack/testbed.sh stop-apiserver DIR        stop only its kube-apiserver (an outage), keeping its
#                                             arguments in DIR/kube-apiserver.argv
#   hack/testbed.sh start-apiserver DIR       start that kube-apiserver again with the same arguments
#                                             (same port, certificates, etcd data); return when
#                                             /readyz answers
#   hack/testbed.sh node-traffic DIR          packets sent to the node's IP since `up` (must be 0)
#   hack/testbed.sh bin-dir [--full]          print the folder holding the binaries
#   hack/testbed.sh kubectl                   build kubectl of the same release into the cache, print its path
#
# The binaries are cached outside the clone, keyed by Kubernetes version and by the hash of
# hack/testbed, under ${FLUX_OPERATOR_RS_CACHE:-~/.cache/flux-operator-rs}/testbed/. When
# KUBEBUILDER_ASSETS names a folder with envtest's kube-apiserver and etcd, those are used for
# the basic mode instead.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
module="$here/testbed"
kube_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$module/go.mod")
kwok_version=v0.8.0
cache_root=${FLUX_OPERATOR_RS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/flux-operator-rs}
# What `kubectl version` and /version report; Kubernetes' own build sets the same variables.
kube_minor=$(echo "$kube_version" | cut -d. -f2)
kube_ldflags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$kube_minor -X k8s.io/component-base/version.gitTreeState=clean"
module_hash=$( (cat "$module/go.mod" "$module/go.sum" "$module"/cmd/*/*.go; echo "$kube_ldflags") | sha256sum | cut -c1-12)
cache_dir="$cache_root/testbed/$kube_version-$module_hash"

log() { echo "testbed: $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=hack/testbed/node.sh
. "$module/node.sh"

basic_bins=(etcd kube-apiserver)
full_bins=(kube-controller-manager kube-scheduler kwok)
node_bins=(kubelet pause)

have_bins() {
    local dir=$1; shift
    local b
    for b in "$@"; do [ -x "$dir/$b" ] || return 1; done
}

bin_dir() {
    local full=$1
    if [ "$full" = 0 ] && [ -n "${KUBEBUILDER_ASSETS:-}" ] && have_bins "$KUBEBUILDER_ASSETS" "${basic_bins[@]}"; then
        echo "$KUBEBUILDER_ASSETS"
    else
        echo "$cache_dir/bin"
    fi
}

build() {
    local full=$1 bin="$cache_dir/bin"
    command -v go >/dev/null || die "go is not installed (.ci/run installs it)"
    mkdir -p "$bin"
    if ! have_bins "$bin" "${basic_bins[@]}"; then
        log "building etcd and kube-apiserver $kube_version (cold: a few minutes)"
        (cd "$module" && go build -trimpath -ldflags "$kube_ldflags" -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver ./cmd/etcd)
    fi
    if [ "$full" -ge 1 ]; then
        if ! have_bins "$bin" kube-controller-manager kube-scheduler; then
            log "building kube-controller-manager and kube-scheduler $kube_version"
            (cd "$module" && go build -trimpath -ldflags "$kube_ldflags" -o "$bin/" k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler)
        fi
        if ! have_bins "$bin" kwok; then
            log "building kwok $kwok_version"
            GOBIN="$bin" GOFLAGS=-trimpath go install "sigs.k8s.io/kwok/cmd/kwok@$kwok_version"
        fi
    fi
    if [ "$full" = 2 ] && ! have_bins "$bin" "${node_bins[@]}"; then
        log "building kubelet $kube_version and the pause sandbox"
        (cd "$module" && go build -trimpath -ldflags "$kube_ldflags" -o "$bin/" k8s.io/kubernetes/cmd/kubelet)
        # Static, so that it runs alone in a FROM-scratch image.
        (cd "$module" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$bin/" ./cmd/pause)
    fi
}

build_kubectl() {
    local bin="$cache_dir/bin"
    if [ ! -x "$bin/kubectl" ]; then
        command -v go >/dev/null || die "go is not installed (.ci/run installs it)"
        log "building kubectl $kube_version"
        (cd "$module" && go build -trimpath -ldflags "$kube_ldflags" -o "$bin/" k8s.io/kubernetes/cmd/kubectl)
    fi
    echo "$bin/kubectl"
}

free_port() {
    # Below the kernel's ephemeral range (usually 32768-60999), which client connections
    # take from at any moment.
    local port low
    low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    while :; do
        port=$((10000 + RANDOM % (low - 10000)))
        if ! ss -Hltn "sport = :$port" | grep -q .; then
            echo "$port"
            return
        fi
    done
}

start() {
    # start NAME ARGS...: runs in the background, records the pid, logs to DIR/NAME.log
    local name=$1; shift
    "$@" >"$dir/$name.log" 2>&1 &
    echo "$! $name" >>"$dir/pids"
}

wait_ready() {
    local url=$1 what=$2 seconds=$3 i
    for ((i = 0; i < seconds * 5; i++)); do
        if curl -fsS --cacert "$dir/ca.crt" -H "Authorization: Bearer $token" "$url" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

certs() {
    (
        cd "$dir"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=testbed-ca" \
            -keyout ca.key -out ca.crt 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
            -keyout apiserver.key -out apiserver.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >apiserver.ext
        openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile apiserver.ext -out apiserver.crt 2>/dev/null
        openssl genrsa -out sa.key 2048 2>/dev/null
        openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
        # The API server's client certificate for kubelets (logs, exec), as kubeadm names it.
        openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
            -keyout kubelet-client.key -out kubelet-client.csr 2>/dev/null
        printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >kubelet-client.ext
        openssl x509 -req -in kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile kubelet-client.ext -out kubelet-client.crt 2>/dev/null
    )
}

kubeconfig() {
    cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $dir/ca.crt
users:
- name: admin
  user:
    token: $token
contexts:
- name: testbed
  context:
    cluster: testbed
    user: admin
    namespace: default
current-context: testbed
EOF
}

up() {
    local full=$1 owner=$2 bin
    bin=$(bin_dir "$full")
    if [ "$full" = 2 ]; then
        have_bins "$bin" "${basic_bins[@]}" "${full_bins[@]}" "${node_bins[@]}" || build 2
    elif [ "$full" = 1 ]; then
        have_bins "$bin" "${basic_bins[@]}" "${full_bins[@]}" || build 1
    else
        have_bins "$bin" "${basic_bins[@]}" || build 0
    fi
    [ ! -e "$dir/pids" ] || die "$dir already holds a running test bed (run: $0 down $dir)"
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local attempt
    for attempt in 1 2 3; do
        start_control_plane "$full" && break
        # A port taken between choosing and binding it: try again with fresh ports.
        [ "$attempt" -lt 3 ] || die "the test bed did not start on 127.0.0.1 after 3 attempts (logs in $dir)"
        log "retrying with other ports (attempt $((attempt + 1)))"
        rm -rf "$dir/etcd"
    done
    if [ "$full" = 2 ] && ! (node_up); then
        down
        die "the real node did not start (logs in $dir)"
    fi

    if [ -n "$owner" ]; then
        # Stops the test bed when the process that asked for it exits, even if it was killed.
        nohup bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down "$3"' \
            _ "$owner" "$here/testbed.sh" "$dir" >/dev/null 2>&1 &
        echo "$! watchdog" >>"$dir/pids"
    fi
    log "up: https://127.0.0.1:$api_port, kubeconfig $dir/kubeconfig"
}

start_control_plane() {
    local full=$1
    : >"$dir/pids"
    token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    echo "$token,admin,admin,system:masters" >"$dir/tokens.csv"
    certs

    local etcd_port peer_port apiserver_extra=()
    # The fake node must be schedulable without a node lifecycle controller to lift the taint.
    [ "$full" = 0 ] || apiserver_extra=(--disable-admission-plugins TaintNodesByCondition)
    [ "$watch_cache" = 1 ] || apiserver_extra+=(--watch-cache=false)
    # The real node registers the machine's address, which must never be dialled: reach
    # kubelets by their Hostname (localhost).
    [ "$full" != 2 ] || apiserver_extra+=(--kubelet-preferred-address-types Hostname
        --kubelet-client-certificate "$dir/kubelet-client.crt" --kubelet-client-key "$dir/kubelet-client.key")
    etcd_port=$(free_port)
    peer_port=$(free_port)
    api_port=$(free_port)
    start etcd "$bin/etcd" --name testbed --data-dir "$dir/etcd" \
        --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
        --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
        --initial-cluster "testbed=http://127.0.0.1:$peer_port" --unsafe-no-fsync --log-level warn
    start kube-apiserver "$bin/kube-apiserver" \
        --etcd-servers "http://127.0.0.1:$etcd_port" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
        --endpoint-reconciler-type none \
        --cert-dir "$dir/certs" --tls-cert-file "$dir/apiserver.crt" --tls-private-key-file "$dir/apiserver.key" \
        --client-ca-file "$dir/ca.crt" --token-auth-file "$dir/tokens.csv" \
        --authorization-mode RBAC \
        --service-account-key-file "$dir/sa.pub" --service-account-signing-key-file "$dir/sa.key" \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true --profiling=false \
        "${apiserver_extra[@]}"
    kubeconfig
    echo "$api_port" >"$dir/port"
    if ! wait_ready "https://127.0.0.1:$api_port/readyz" kube-apiserver 90; then
        tail -n 30 "$dir/kube-apiserver.log" "$dir/etcd.log" >&2 || true
        down
        return 1
    fi

    if [ "$full" -ge 1 ]; then
        start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig "$dir/kubeconfig" \
            --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
            --bind-address 127.0.0.1 --secure-port "$(free_port)" --leader-elect=false \
            --service-account-private-key-file "$dir/sa.key" --root-ca-file "$dir/ca.crt" \
            --controllers '*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-route'
        start kube-scheduler "$bin/kube-scheduler" --kubeconfig "$dir/kubeconfig" \
            --authentication-kubeconfig "$dir/kubeconfig" --authorization-kubeconfig "$dir/kubeconfig" \
            --bind-address 127.0.0.1 --secure-port "$(free_port)" --leader-elect=false
        start kwok "$bin/kwok" --kubeconfig "$dir/kubeconfig" \
            --config "$here/kwok-stages.yaml" \
            --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
            --server-address "127.0.0.1:$(free_port)"
        fake_node
    fi
}

fake_node() {
    local i
    for ((i = 0; i < 50; i++)); do
        if KUBECONFIG="$dir/kubeconfig" kubectl apply -f - >/dev/null 2>&1 <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-0
    type: kwok
spec: {}
EOF
        then
            return 0
        fi
        sleep 0.2
    done
    die "could not create the kwok node"
}

# running PID: the process exists and is not a zombie (a zombie holds no port or file).
running() {
    [ -r "/proc/$1/stat" ] && ! grep -q ') Z ' "/proc/$1/stat" 2>/dev/null
}

# wait_exited SECONDS PID...: whether every process ended within the time.
wait_exited() {
    local seconds=$1 i pid alive
    shift
    for ((i = 0; i < seconds * 5; i++)); do
        alive=0
        for pid in "$@"; do running "$pid" && alive=1; done
        [ "$alive" = 0 ] && return 0
        sleep 0.2
    done
    return 1
}

down() {
    [ -f "$dir/pids" ] || { log "nothing running in $dir"; return 0; }
    # Absolute, as `up` recorded it: the node's mounts and lock are matched by this path.
    dir=$(cd "$dir" && pwd)
    local pid name pids=()
    node_down
    # Newest first: the apiserver stops before etcd. The watchdog that may be calling us is skipped.
    while read -r pid name; do
        [ "$name" = watchdog ] && [ "$pid" = "${PPID:-}" ] && continue
        [ "$name" = watchdog ] && [ "$pid" = "$$" ] && continue
        pids=("$pid" "${pids[@]}")
    done <"$dir/pids"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait_exited 10 "${pids[@]}" || {
        # The apiserver drains requests on SIGTERM and can take longer than we wait.
        for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
        wait_exited 10 "${pids[@]}" || log "warning: processes still running after SIGKILL"
    }
    node_restore
    rm -f "$dir/pids"
    # etcd's data is the only large part; the logs stay for a failed test's post-mortem.
    rm -rf "$dir/etcd"
    log "down: $dir"
}

# The pid of the test bed's kube-apiserver, as `up` or `start-apiserver` recorded it.
apiserver_pid() {
    awk '$2 == "kube-apiserver" { pid = $1 } END { print pid }' "$dir/pids"
}

stop_apiserver() {
    [ -f "$dir/pids" ] || die "no test bed runs in $dir"
    dir=$(cd "$dir" && pwd)
    local pid
    pid=$(apiserver_pid)
    { [ -n "$pid" ] && running "$pid"; } || die "no kube-apiserver runs in $dir"
    tr '\0' '\n' <"/proc/$pid/cmdline" >"$dir/kube-apiserver.argv"
    kill "$pid"
    wait_exited 20 "$pid" || { kill -9 "$pid" 2>/dev/null || true; wait_exited 10 "$pid"; } ||
        die "kube-apiserver $pid did not stop"
    # Forgotten, so that `down` never signals the number once the system reuses it.
    awk -v pid="$pid" '!($1 == pid && $2 == "kube-apiserver")' "$dir/pids" >"$dir/pids.new"
    mv "$dir/pids.new" "$dir/pids"
    log "kube-apiserver $pid stopped"
}

start_apiserver() {
    [ -f "$dir/kube-apiserver.argv" ] || die "no stopped kube-apiserver in $dir (run: $0 stop-apiserver $dir)"
    dir=$(cd "$dir" && pwd)
    local argv=()
    mapfile -t argv <"$dir/kube-apiserver.argv"
    token=$(cut -d, -f1 "$dir/tokens.csv")
    api_port=$(cat "$dir/port")
    "${argv[@]}" >>"$dir/kube-apiserver.log" 2>&1 &
    echo "$! kube-apiserver" >>"$dir/pids"
    rm -f "$dir/kube-apiserver.argv"
    wait_ready "https://127.0.0.1:$api_port/readyz" kube-apiserver 90 || die "kube-apiserver did not come back (log: $dir/kube-apiserver.log)"
    log "kube-apiserver $! started again on port $api_port"
}

cmd=${1:-}
[ -n "$cmd" ] || { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2; }
shift
full=0 owner="" dir="" watch_cache=1
while [ $# -gt 0 ]; do
    case $1 in
    --full) [ "$full" = 2 ] || full=1 ;;
    --node) full=2 ;;
    --owner-pid) owner=$2; shift ;;
    --no-watch-cache) watch_cache=0 ;;
    -*) die "unknown option $1" ;;
    *) dir=$1 ;;
    esac
    shift
done
case $cmd in
build) build "$full" ;;
bin-dir) bin_dir "$full" ;;
kubectl) build_kubectl ;;
node-traffic) [ -n "$dir" ] || die "usage: $0 node-traffic DIR"; node_traffic ;;
up) [ -n "$dir" ] || die "usage: $0 up DIR [--full|--node] [--owner-pid PID]"; up "$full" "$owner" ;;
down) [ -n "$dir" ] || die "usage: $0 down DIR"; down ;;
stop-apiserver) [ -n "$dir" ] || die "usage: $0 stop-apiserver DIR"; stop_apiserver ;;
start-apiserver) [ -n "$dir" ] || die "usage: $0 start-apiserver DIR"; start_apiserver ;;
*) die "unknown command $cmd" ;;
esac

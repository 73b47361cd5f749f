# The real node of `hack/testbed.sh up DIR --node`, sourced by hack/testbed.sh: a kubelet
# with containerd and runc (Debian's packages), pulling from a docker-registry on loopback,
# registered as `localhost` and tainted so that only pods that tolerate it land there.
#
# Everything it writes is under DIR/node, but for what the kubelet and containerd change on
# the machine whatever their flags: sysctls, kubepods cgroups in every hierarchy, a few
# fixed folders and mounts. `node_up` records the machine's state first and `node_down`
# puts it back, so only one real node may run per machine (a lock in /run says whose).
#
# Traffic: every address used is 127.0.0.1 or localhost. The kubelet must register a
# non-loopback node IP (it refuses loopback), so the machine's own address is a registration
# value only: the API server reaches the kubelet by its Hostname (localhost), hostNetwork
# pods get their API server through KUBERNETES_SERVICE_HOST=127.0.0.1 and probes on
# 127.0.0.1. An nftables counter on that address proves it: `node-traffic DIR` prints the
# packets sent to it, which must stay 0.

node_lock=/run/flux-operator-rs-testbed-node
node_taint=testbed.flux-operator-rs/real-node
node_guard_table=flux_operator_rs_node_guard
# What the kubelet sets at start (setupKernelTunables), restored by `down`.
node_sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Folders the kubelet and containerd create at fixed paths, whatever their flags.
node_fixed_dirs=(/var/lib/kubelet /var/log/pods /var/log/containers /run/containerd /usr/libexec/kubernetes)
cgroup_root=/sys/fs/cgroup

node_require() {
    local tool
    for tool in containerd containerd-shim-runc-v2 ctr runc nft docker-registry python3; do
        command -v "$tool" >/dev/null || die "$tool is missing (hack/install-deps.sh installs it)"
    done
    [ -x /usr/lib/cni/loopback ] || die "/usr/lib/cni/loopback is missing (apt-get install containernetworking-plugins)"
    [ "$(id -u)" = 0 ] || die "a real node needs root (the kubelet and runc manage cgroups and mounts)"
}

node_take_lock() {
    if [ -e "$node_lock" ]; then
        local owner
        owner=$(cat "$node_lock")
        [ ! -e "$owner/pids" ] || die "a real node already runs from $owner (only one per machine; $0 down $owner)"
    fi
    echo "$dir" >"$node_lock"
}

# The machine's state before the node changes it, for node_down.
node_record() {
    local n=$dir/node s d c
    for s in "${node_sysctls[@]}"; do echo "$s $(sysctl -n "$s")"; done >"$n/sysctls"
    for d in "${node_fixed_dirs[@]}"; do [ -e "$d" ] || echo "$d"; done >"$n/created-dirs"
    for c in "$cgroup_root"/*; do [ -e "$c/kubepods" ] || echo "$c/kubepods"; done >"$n/created-cgroups"
}

node_ip() {
    ip -4 -o addr show scope global | awk '{ split($4, a, "/"); print a[1]; exit }'
}

node_guard() {
    nft -f - <<EOF
table inet $node_guard_table {
    chain output {
        type filter hook output priority 0; policy accept;
        ip daddr $1 counter
    }
}
EOF
}

# Packets sent to the node IP since `up` (the counter of node_guard).
node_traffic() {
    nft list table inet "$node_guard_table" 2>/dev/null | sed -n 's/.* counter packets \([0-9]*\) .*/\1/p'
}

node_registry() {
    local n=$dir/node port
    port=$(free_port)
    mkdir -p "$n/registry"
    cat >"$n/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $n/registry}
  delete: {enabled: true}
http: {addr: 127.0.0.1:$port}
EOF
    start registry docker-registry serve "$n/registry.yml"
    echo "127.0.0.1:$port" >"$dir/registry"
    local i
    for ((i = 0; i < 100; i++)); do
        curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "docker-registry did not answer on 127.0.0.1:$port"
}

# The sandbox image: the pause binary alone in a scratch image, in the node's registry.
node_pause_image() {
    local registry=$1
    python3 "$here/oci-image.py" build "$dir/node/pause-oci" >/dev/null <<EOF
{"config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
 "layers": [[{"path": "pause", "from": "$bin/pause"}]]}
EOF
    python3 "$here/oci-image.py" push "$dir/node/pause-oci" "$registry/testbed/pause:3.10" --plain-http >/dev/null
}

node_containerd_config() {
    local n=$dir/node registry=$1
    mkdir -p "$n/cni" "$n/certs.d/$registry"
    # Without a CNI configuration the runtime reports "cni plugin not initialized" and the
    # node stays NotReady; pods here use the host's network, so loopback is all it needs.
    echo '{"cniVersion": "0.3.1", "name": "loopback-only", "plugins": [{"type": "loopback"}]}' >"$n/cni/10-loopback.conflist"
    # The loopback registry speaks plain HTTP.
    printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' "$registry" "$registry" \
        >"$n/certs.d/$registry/hosts.toml"
    cat >"$n/containerd.toml" <<EOF
version = 2
root = "$n/containerd/root"
state = "$n/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$n/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$n/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # The usual pause image is on a registry these machines cannot reach.
  sandbox_image = "$registry/testbed/pause:3.10"
  # This process lacks CAP_SYS_RESOURCE: lowering a sandbox's oom_score_adj fails
  # ("can't get final child's PID from pipe") unless the runtime keeps it at ours or above.
  restrict_oom_score_adj = true
  disable_apparmor = true
  # Port 0: a free loopback port for exec, attach and port-forward streams.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # The kubelet's cgroupfs driver; no systemd runs here.
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$n/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$n/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$n/certs.d"
EOF
}

node_kubelet_config() {
    local n=$dir/node
    cat >"$n/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Loopback only, and no unauthenticated read-only port.
address: 127.0.0.1
port: $(free_port)
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $(free_port)
# The API server's kubelet client certificate, checked against the test bed's CA; requests
# authorized by the API server (SubjectAccessReview).
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $dir/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$n/containerd.sock
# This machine has cgroup v1 (hybrid) and no systemd: the cgroupfs driver, pods under
# /kubepods of every hierarchy, and no refusal of cgroup v1 (deprecated, still supported).
cgroupDriver: cgroupfs
cgroupRoot: /
failCgroupV1: false
# Swap does not matter for a test node; the check would refuse machines that have some.
failSwapOn: false
# No reserved resources to enforce: the machine is shared, the node only a test bed's.
enforceNodeAllocatable: []
# The disk and memory are shared with everything else on the machine: evict only when
# nearly nothing is left, and never collect the images the tests pushed.
evictionHard: {memory.available: 50Mi, nodefs.available: 50Mi, imagefs.available: 50Mi, nodefs.inodesFree: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: $n/pod-logs
volumePluginDir: $n/volume-plugins
maxPods: 20
# Only pods that tolerate this taint land here; the rest (Flux) goes to the kwok node.
registerWithTaints:
- key: $node_taint
  value: "true"
  effect: NoSchedule
EOF
}

# Values of charts/flux-operator-rs that run the operator on this node (DIR/node-values.yaml):
# its image from the node's registry (the tag is the caller's); the taint tolerated and this
# node chosen; the host's network, since the node has no pod network; the API server on
# loopback, since no kube-proxy stands behind the `kubernetes` Service's ClusterIP; probes
# on loopback, since the pod's IP is the node's, which nothing may dial.
node_operator_values() {
    local registry=$1 api_port
    api_port=$(cat "$dir/port")
    cat >"$dir/node-values.yaml" <<EOF
image: {repository: "$registry/flux-operator-rs"}
hostNetwork: true
tolerations: [{key: $node_taint, operator: Exists, effect: NoSchedule}]
nodeSelector: {kubernetes.io/hostname: localhost}
extraEnvs:
- {name: KUBERNETES_SERVICE_HOST, value: "127.0.0.1"}
- {name: KUBERNETES_SERVICE_PORT, value: "$api_port"}
livenessProbe: {httpGet: {host: 127.0.0.1}}
readinessProbe: {httpGet: {host: 127.0.0.1}}
EOF
}

node_wait_containerd() {
    local i
    for ((i = 0; i < 150; i++)); do
        ctr --address "$dir/node/containerd.sock" version >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    tail -n 20 "$dir/containerd.log" >&2 || true
    die "containerd did not start"
}

node_up() {
    local n=$dir/node registry ip
    node_require
    node_take_lock
    mkdir -p "$n"
    node_record
    ip=$(node_ip)
    [ -n "$ip" ] || die "no non-loopback IPv4 address to register the node with (the kubelet refuses loopback)"
    echo "$ip" >"$n/node-ip"
    node_guard "$ip"
    node_registry
    registry=$(cat "$dir/registry")
    node_pause_image "$registry"
    node_containerd_config "$registry"
    start containerd containerd --config "$n/containerd.toml"
    node_wait_containerd
    node_kubelet_config
    # The name `localhost`: the API server reaches the kubelet by Hostname, which resolves
    # to loopback (kubectl logs and exec go that way).
    start kubelet "$bin/kubelet" --config "$n/kubelet.yaml" --kubeconfig "$dir/kubeconfig" \
        --root-dir "$n/kubelet" --hostname-override localhost --node-ip "$ip"
    local i
    for ((i = 0; i < 300; i++)); do
        KUBECONFIG="$dir/kubeconfig" kubectl get node localhost >/dev/null 2>&1 && break
        sleep 0.2
    done
    if ! KUBECONFIG="$dir/kubeconfig" kubectl wait node/localhost --for condition=Ready --timeout 120s >/dev/null 2>&1; then
        tail -n 30 "$dir/kubelet.log" >&2 || true
        die "the real node did not become Ready (logs in $dir)"
    fi
    node_operator_values "$registry"
    log "real node localhost Ready (containerd + runc), registry $registry, taint $node_taint"
}

# Stops every container of the node, then undoes what node_up changed on the machine.
node_down() {
    local n=$dir/node pid name
    [ -d "$n" ] || return 0
    # The kubelet first, so that it restarts nothing; then every task, so that no shim stays.
    while read -r pid name; do
        if [ "$name" = kubelet ] && kill "$pid" 2>/dev/null; then wait_exited 10 "$pid" || true; fi
    done <"$dir/pids"
    local sock=$n/containerd.sock task
    if [ -S "$sock" ]; then
        for task in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
            ctr --address "$sock" -n k8s.io tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
        done
        sleep 1
        for task in $(ctr --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
            ctr --address "$sock" -n k8s.io tasks rm -f "$task" >/dev/null 2>&1 || true
        done
    fi
    # Shims outlive containerd: end those of this node, found by its socket path.
    for pid in $(grep -l -F -- "$sock" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = containerd-shim ]; then kill -9 "$pid" 2>/dev/null || true; fi
    done
    node_traffic >"$n/node-ip-packets" || true
    log "packets sent to the node IP $(cat "$n/node-ip" 2>/dev/null): $(cat "$n/node-ip-packets")"
}

# After every process has ended: mounts, cgroups, sysctls, folders, the guard, the lock.
node_restore() {
    local n=$dir/node m c d name value
    [ -d "$n" ] || return 0
    # Deepest first, so that a mount inside another goes before it.
    for m in $(awk -v prefix="$dir/" 'index($5, prefix) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"
    done
    while read -r c; do
        if [ -d "$c" ]; then find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
        [ ! -d "$c" ] || log "warning: $c is still there (processes left in it?)"
    done <"$n/created-cgroups"
    while read -r name value; do sysctl -qw "$name=$value" || log "warning: could not restore $name"; done <"$n/sysctls"
    while read -r d; do rm -rf "$d"; done <"$n/created-dirs"
    nft delete table inet "$node_guard_table" 2>/dev/null || true
    [ "$(cat "$node_lock" 2>/dev/null)" != "$dir" ] || rm -f "$node_lock"
    # The images and container filesystems are the large part; logs stay for post-mortems.
    rm -rf "$n/containerd" "$n/registry" "$n/kubelet" "$n/pause-oci" "$n/runc" \
        || log "warning: could not remove all of $n (still mounted?)"
}

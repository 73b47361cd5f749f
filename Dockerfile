# syntax=docker/dockerfile:1.7
#
# The flux-operator-rs image: a static binary and the Flux release data it installs Flux
# from, on distroless, running as a non-root user.
#
#   docker build -t flux-operator-rs:0.1.0 .
#   docker build --build-arg FLUX_VERSIONS="v2.9.4" -t flux-operator-rs:dev .   # one release
#
# The Flux releases are baked into /data at build time, in the layout of
# ../shared/flux-distribution, which is what `--storage-path` (default /data) reads, so the
# operator needs no network access to install Flux:
#
#   /data/flux/vX.Y.Z/*.yaml                          manifests.tar.gz of the fluxcd/flux2
#                                                     GitHub release vX.Y.Z, unmodified
#   /data/flux-images/vX.Y.Z/upstream-alpine.yaml     every controller image of the release:
#                                                     ghcr.io/fluxcd/<component>, the tag the
#                                                     release manifests use, and the digest
#                                                     ghcr.io serves for it (`crane digest`)
#   /data/flux-images/VERSION                         the newest release
#
# tests/dockerfile runs the data step below with stand-ins for curl and crane that serve
# ../shared/flux-distribution, opens the result with the operator's own reader, and checks
# that hack/image.sh (the same image built without the internet or Docker) has the same
# files, entrypoint, user and labels.

ARG RUST_VERSION=1.95
ARG GO_VERSION=1.26

# ---------------------------------------------------------------------------------------
# The operator binary, statically linked against musl.
FROM rust:${RUST_VERSION}-bookworm AS builder
ARG TARGETARCH
# musl-tools is whatever the Debian release of the pinned rust image has.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/*
RUN case "${TARGETARCH:-amd64}" in \
        amd64) echo x86_64-unknown-linux-musl ;; \
        arm64) echo aarch64-unknown-linux-musl ;; \
        *) echo "unsupported architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac > /rust-target \
    && rustup target add "$(cat /rust-target)"
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# ring (through rustls) compiles C: musl-gcc is the C compiler for the musl targets.
ENV CC_x86_64_unknown_linux_musl=musl-gcc \
    CC_aarch64_unknown_linux_musl=musl-gcc
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release --bin flux-operator-rs --target "$(cat /rust-target)" \
    && cp "target/$(cat /rust-target)/release/flux-operator-rs" /flux-operator-rs

# ---------------------------------------------------------------------------------------
# The Flux release data. crane (go-containerregistry, Apache-2.0) is built from its Go
# module, pinned by version and checked against the Go checksum database.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS data
ARG CRANE_VERSION=v0.22.1
RUN GOBIN=/usr/local/bin go install "github.com/google/go-containerregistry/cmd/crane@${CRANE_VERSION}"
# The Flux releases to bake in, space-separated; the default is every release of
# ../shared/flux-distribution/flux (tests/dockerfile keeps the two equal).
ARG FLUX_VERSIONS="v2.2.3 v2.3.0 v2.4.0 v2.5.0 v2.5.1 \
    v2.6.0 v2.6.1 v2.6.2 v2.6.3 v2.6.4 \
    v2.7.0 v2.7.1 v2.7.2 v2.7.3 v2.7.4 v2.7.5 \
    v2.8.0 v2.8.1 v2.8.2 v2.8.3 v2.8.5 v2.8.6 v2.8.7 v2.8.8 \
    v2.9.0 v2.9.1 v2.9.2 v2.9.3 v2.9.4"
RUN <<'FETCH_FLUX_DATA'
set -eu
data=${DATA_DIR:-/data}
registry=ghcr.io/fluxcd
# The order of the image lists, as in ../shared/flux-distribution.
components="source-controller kustomize-controller helm-controller notification-controller image-reflector-controller image-automation-controller source-watcher"
mkdir -p "$data/flux" "$data/flux-images"
for version in $FLUX_VERSIONS; do
    case "$version" in
        v[0-9]*.[0-9]*.[0-9]*) ;;
        *) echo "FLUX_VERSIONS: $version is not vX.Y.Z" >&2; exit 1 ;;
    esac
    manifests="$data/flux/$version"
    mkdir -p "$manifests" "$data/flux-images/$version"
    curl -fsSL --retry 3 -o "$data/manifests.tar.gz" \
        "https://github.com/fluxcd/flux2/releases/download/$version/manifests.tar.gz"
    tar -xzf "$data/manifests.tar.gz" -C "$manifests"
    rm "$data/manifests.tar.gz"
    [ -f "$manifests/source-controller.yaml" ] || {
        echo "Flux $version: manifests.tar.gz has no source-controller.yaml" >&2
        exit 1
    }
    list="$data/flux-images/$version/upstream-alpine.yaml"
    echo "images:" > "$list.tmp"
    for component in $components; do
        [ -f "$manifests/$component.yaml" ] || continue
        tag=$(sed -n "/^ *image: *fluxcd\/$component:/{s|^ *image: *fluxcd/$component:\(v[^ \"]*\).*\$|\1|p;q;}" "$manifests/$component.yaml")
        [ -n "$tag" ] || { echo "Flux $version: no fluxcd/$component image in $component.yaml" >&2; exit 1; }
        digest=$(crane digest "$registry/$component:$tag")
        case "$digest" in
            sha256:*) ;;
            *) echo "crane digest $registry/$component:$tag printed '$digest'" >&2; exit 1 ;;
        esac
        printf '  - name: %s\n    newTag: %s\n    digest: %s\n' "$registry/$component" "$tag" "$digest" >> "$list.tmp"
    done
    mv "$list.tmp" "$list"
done
printf '%s\n' $FLUX_VERSIONS > "$data/versions.tmp"
sort -V -o "$data/versions.tmp" "$data/versions.tmp"
sed -n '$p' "$data/versions.tmp" > "$data/flux-images/VERSION"
rm "$data/versions.tmp"
FETCH_FLUX_DATA

# ---------------------------------------------------------------------------------------
# The image: distroless (no shell, no package manager), user 65532 (nonroot).
FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.title="flux-operator-rs" \
      org.opencontainers.image.description="Installs, configures and upgrades Flux from a FluxInstance" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=data --chown=65532:65532 /data /data
COPY --from=builder /flux-operator-rs /flux-operator-rs
USER 65532:65532
# `run` by default; arguments that start with a flag (upstream's chart passes flags only)
# replace CMD and run the operator too, and a subcommand (`build`, `crds`) runs that.
ENTRYPOINT ["/flux-operator-rs"]
CMD ["run"]

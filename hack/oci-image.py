#!/usr/bin/env python3
"""Assembles an OCI image layout from a JSON spec and pushes it to a registry, without a
container engine or the internet (Python's standard library only).

    hack/oci-image.py build OUT_DIR < spec.json     write an OCI image layout, print the manifest digest
    hack/oci-image.py push OUT_DIR HOST[:PORT]/REPO:TAG [--plain-http]

The spec: {"config": {"User": ..., "Entrypoint": [...], "Cmd": [...], ...},
           "labels": {...},
           "layers": [[entry, ...], ...]}
where an entry is {"path": "etc/passwd", "text": "...", "mode": 420} (a file),
{"path": "tmp", "dir": true, "mode": 1023} (a folder), or {"path": "data", "from": "/src"}
(a file or a whole tree, files 0644 or 0755 as their source is executable, folders 0755);
every entry takes "uid" and "gid" (default 0). Parent folders are added as root, 0755.

Layers are reproducible: entries sorted by path, mtime 0, numeric owners only, gzip without
a name or time. The same inputs give the same digests, so a rebuild pushes nothing new.
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def fail(message):
    print(f"oci-image: error: {message}", file=sys.stderr)
    sys.exit(1)


def tar_info(path, kind, mode, uid, gid, size=0):
    info = tarfile.TarInfo(path)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.uname = info.gname = ""
    info.mtime = 0
    info.size = size
    return info


def expand(entry):
    """(path, kind, mode, uid, gid, bytes-or-None) of an entry and, for a tree, everything in it."""
    uid, gid = entry.get("uid", 0), entry.get("gid", 0)
    path = entry["path"].strip("/")
    if "text" in entry:
        yield path, tarfile.REGTYPE, entry.get("mode", 0o644), uid, gid, entry["text"].encode()
    elif entry.get("dir"):
        yield path, tarfile.DIRTYPE, entry.get("mode", 0o755), uid, gid, None
    elif "from" in entry:
        source = entry["from"]
        if not os.path.exists(source):
            fail(f"{source} does not exist")
        for root, dirs, files in os.walk(source):
            dirs.sort()
            relative = os.path.relpath(root, source)
            target = path if relative == "." else f"{path}/{relative}"
            if os.path.isdir(source):
                yield target, tarfile.DIRTYPE, 0o755, uid, gid, None
            for name in sorted(files):
                full = os.path.join(root, name)
                mode = 0o755 if os.access(full, os.X_OK) else 0o644
                with open(full, "rb") as f:
                    yield f"{target}/{name}", tarfile.REGTYPE, mode, uid, gid, f.read()
        if os.path.isfile(source):
            mode = 0o755 if os.access(source, os.X_OK) else 0o644
            with open(source, "rb") as f:
                yield path, tarfile.REGTYPE, mode, uid, gid, f.read()
    else:
        fail(f"entry {entry} has neither text, dir nor from")


def layer_tar(entries):
    items = {}
    for entry in entries:
        for item in expand(entry):
            items[item[0]] = item
    # Parent folders that no entry names, as a container engine would create them.
    for path in list(items):
        parent = os.path.dirname(path)
        while parent and parent not in items:
            items[parent] = (parent, tarfile.DIRTYPE, 0o755, 0, 0, None)
            parent = os.path.dirname(parent)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(items):
            _, kind, mode, uid, gid, data = items[path]
            name = path + "/" if kind == tarfile.DIRTYPE else path
            info = tar_info(name, kind, mode, uid, gid, len(data or b""))
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def write_blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build(out, spec):
    os.makedirs(out, exist_ok=True)
    layers, diff_ids = [], []
    for entries in spec["layers"]:
        raw = layer_tar(entries)
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        compressed = gzip.compress(raw, compresslevel=9, mtime=0)
        layers.append({"mediaType": LAYER, **write_blob(out, compressed)})
    config = dict(spec.get("config", {}))
    if spec.get("labels"):
        config["Labels"] = spec["labels"]
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_blob = write_blob(out, json.dumps(image_config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, **config_blob},
        "layers": layers,
    }
    manifest_blob = write_blob(out, json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [{"mediaType": MANIFEST, **manifest_blob, "platform": {"architecture": "amd64", "os": "linux"}}],
    }
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(manifest_blob["digest"])


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def push_blob(base, repo, out, descriptor):
    digest = descriptor["digest"]
    status, _, _ = request("HEAD", f"{base}/v2/{repo}/blobs/{digest}")
    if status == 200:
        return
    status, headers, body = request("POST", f"{base}/v2/{repo}/blobs/uploads/")
    if status != 202:
        fail(f"starting the upload of {digest}: HTTP {status} {body[:200]!r}")
    location = urllib.parse.urljoin(f"{base}/", headers["Location"])
    separator = "&" if "?" in location else "?"
    with open(os.path.join(out, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        data = f.read()
    status, _, body = request(
        "PUT",
        f"{location}{separator}digest={urllib.parse.quote(digest)}",
        data,
        {"Content-Type": "application/octet-stream"},
    )
    if status != 201:
        fail(f"uploading {digest}: HTTP {status} {body[:200]!r}")


def push(out, reference, plain_http):
    host, _, rest = reference.partition("/")
    repo, _, tag = rest.rpartition(":")
    if not host or not repo or not tag:
        fail(f"{reference} is not HOST[:PORT]/REPO:TAG")
    base = f"{'http' if plain_http else 'https'}://{host}"
    with open(os.path.join(out, "index.json")) as f:
        descriptor = json.load(f)["manifests"][0]
    manifest_path = os.path.join(out, "blobs", "sha256", descriptor["digest"].split(":", 1)[1])
    with open(manifest_path, "rb") as f:
        manifest_bytes = f.read()
    manifest = json.loads(manifest_bytes)
    for blob in [manifest["config"], *manifest["layers"]]:
        push_blob(base, repo, out, blob)
    status, _, body = request(
        "PUT", f"{base}/v2/{repo}/manifests/{tag}", manifest_bytes, {"Content-Type": MANIFEST}
    )
    if status != 201:
        fail(f"pushing the manifest of {reference}: HTTP {status} {body[:200]!r}")
    print(descriptor["digest"])


def main(argv):
    if len(argv) >= 2 and argv[0] == "build":
        build(argv[1], json.load(sys.stdin))
    elif len(argv) >= 3 and argv[0] == "push":
        push(argv[1], argv[2], "--plain-http" in argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])

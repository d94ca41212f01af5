#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# mkimage.py: makes an OCI image layout from directories or tar files, one layer each, for tests.
#   mkimage.py --out DIR --tag TAG [--layer DIR | --layer-tar FILE]... [--compress gzip|zstd|none]
#              [--cmd JSON] [--entrypoint JSON] [--env K=V]... [--workdir D] [--user U]
# Layers are packed with Python's tarfile (sorted, numeric owners kept). Prints the manifest digest.
import argparse, gzip, hashlib, io, json, os, subprocess, sys, tarfile

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--tag", default="latest")
p.add_argument("--layer", action="append", default=[])
p.add_argument("--layer-tar", action="append", default=[])
p.add_argument("--compress", default="gzip", choices=["gzip", "zstd", "none"])
p.add_argument("--cmd")
p.add_argument("--entrypoint")
p.add_argument("--env", action="append", default=[])
p.add_argument("--workdir")
p.add_argument("--user")
a = p.parse_args()

blobs = os.path.join(a.out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)

def tar_dir(path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(dirs + files):
                full = os.path.join(root, name)
                rel = os.path.relpath(full, path)
                t.add(full, arcname=rel, recursive=False)
    return buf.getvalue()

def compress(raw):
    if a.compress == "gzip":
        return gzip.compress(raw, compresslevel=6, mtime=0)
    if a.compress == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    return raw

raws = [tar_dir(d) for d in a.layer] + [open(f, "rb").read() for f in a.layer_tar]
suffix = {"gzip": "+gzip", "zstd": "+zstd", "none": ""}[a.compress]
layer_type = "application/vnd.oci.image.layer.v1.tar" + suffix
manifest_type = "application/vnd.oci.image.manifest.v1+json"
config_type = "application/vnd.oci.image.config.v1+json"

layers, diff_ids = [], []
for raw in raws:
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    d, n = put(compress(raw))
    layers.append({"mediaType": layer_type, "digest": d, "size": n})

cfg = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + a.env}
if a.cmd: cfg["Cmd"] = json.loads(a.cmd)
if a.entrypoint: cfg["Entrypoint"] = json.loads(a.entrypoint)
if a.workdir: cfg["WorkingDir"] = a.workdir
if a.user: cfg["User"] = a.user
config = {"created": "2026-01-01T00:00:00Z", "architecture": "amd64", "os": "linux", "config": cfg,
          "rootfs": {"type": "layers", "diff_ids": diff_ids},
          "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "mkimage.py"} for _ in raws]}
cd, cn = put(json.dumps(config, sort_keys=True).encode())
manifest = {"schemaVersion": 2, "mediaType": manifest_type,
            "config": {"mediaType": config_type, "digest": cd, "size": cn}, "layers": layers}
md, mn = put(json.dumps(manifest, sort_keys=True).encode())
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [{"mediaType": manifest_type, "digest": md, "size": mn,
                        "annotations": {"org.opencontainers.image.ref.name": a.tag}}]}
with open(os.path.join(a.out, "index.json"), "w") as f:
    json.dump(index, f)
with open(os.path.join(a.out, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
print(md)

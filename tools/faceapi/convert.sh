#!/bin/sh
# convert.sh fetches face-api's published face detectors and converts them
# to the files detect embeds (detect/models/tiny_face_detector.safetensors
# and ssd_mobilenetv1.safetensors: our parameter names, face-api's uint8
# quantization kept as U8 codes with their min and scale in the metadata;
# see detect.ConvertFaceAPI), with face-api's MIT licence beside them.
#
#   tools/faceapi/convert.sh [PACKAGE.tgz]
#
# Without an argument it runs `npm pack @vladmandic/face-api@1.7.15` in a
# scratch folder (the npm registry must be reachable); with one, it uses
# that tarball. Needs npm (or the tarball), tar and Go. Deterministic: the
# same package gives byte-identical files.
set -eu

version=1.7.15
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ $# -ge 1 ]; then
	cp "$1" "$tmp/face-api.tgz"
else
	(cd "$tmp" && npm pack --silent "@vladmandic/face-api@$version" >/dev/null && mv vladmandic-face-api-*.tgz face-api.tgz)
fi
tar -xzf "$tmp/face-api.tgz" -C "$tmp" package/LICENSE package/model package/package.json
got=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$tmp/package/package.json")
[ "$got" = "$version" ] || { echo "convert.sh: got face-api $got, want $version" >&2; exit 1; }

# Written aside, then put in place of detect/models whole: the folder holds
# exactly what this script writes (go:embed takes all of it).
mkdir "$tmp/models"
cp "$tmp/package/LICENSE" "$tmp/models/LICENSE.face-api"
(cd "$root/detect" && go run ./internal/faceconvert "$tmp/package/model" "$tmp/models")
chmod 644 "$tmp/models"/*
rm -rf "$root/detect/models"
mv "$tmp/models" "$root/detect/models"
chmod 755 "$root/detect/models"

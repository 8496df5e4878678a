#!/bin/sh
# faceapi.sh writes detect/testdata/golden/faceapi/faceapi.json: what face-api
# finds on three photos Debian ships, and both networks' outputs before NMS
# on the first, the reference detect's face tests compare with
# (tools/golden/faceapi.js does the work; about three minutes on the tfjs
# cpu backend).
#
# Needs: Node and npm (registry reachable), Go, and the Debian packages
#   darknet (person.jpg), opencv-doc (messi5.jpg), python3-skimage (astronaut.png).
# node_modules go to a scratch folder, never into the repository.
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

images="/usr/share/darknet/data/person.jpg
/usr/share/doc/opencv-doc/examples/data/messi5.jpg
/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

(cd "$tmp" && npm init -y >/dev/null &&
	npm install --silent --no-audit --no-fund @vladmandic/face-api@1.7.15 \
		@tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 pngjs@7)
mkdir "$tmp/png"
mkdir -p "$root/detect/testdata/golden/faceapi"
# The PNGs as the Go side decodes the originals: both sides see the same pixels.
(cd "$root/detect" && go run ./internal/topng "$tmp/png" $images)
NODE_PATH="$tmp/node_modules" node "$root/tools/golden/faceapi.js" \
	"$tmp/node_modules/@vladmandic/face-api/model" "$root/detect/testdata/golden/faceapi/faceapi.json" "$tmp"/png/*.png

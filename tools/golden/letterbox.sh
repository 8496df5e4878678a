#!/bin/sh
# Golden letterbox results from darknet itself (Debian package darknet,
# pjreddie/darknet as of 2018-09-14), for vision/imageio/letterbox_test.go.
#
# Run from the repository root:
#
#     sh tools/golden/letterbox.sh
#
# It cuts small PNG inputs out of darknet's sample dog.jpg with Debian's
# python3-pil (PNG, so that darknet's image loader and Go's read the same
# bytes; their JPEG decoders differ), builds letterbox.c against
# libdarknet with gcc, and writes vision/imageio/testdata/golden/letterbox.json
# next to the PNGs.
set -eu

out=vision/imageio/testdata/golden
dog=/usr/share/darknet/data/dog.jpg
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$out"
/usr/bin/python3 - "$dog" "$out" <<'PY'
import sys
from PIL import Image

dog, out = sys.argv[1], sys.argv[2]
im = Image.open(dog).convert("RGB")
# (name, crop box left, top, right, bottom, mode)
cases = [
    ("wide", (140, 230, 201, 275), "RGB"),   # 61x45, shrunk
    ("tall", (250, 300, 280, 364), "RGB"),   # 30x64, odd padding, dark last row
    ("up", (160, 250, 173, 259), "RGB"),     # 13x9, enlarged
    ("gray", (200, 200, 217, 223), "L"),     # 17x23, grey PNG
    ("rgba", (120, 400, 140, 415), "RGBA"),  # 20x15, alpha dropped
]
for name, box, mode in cases:
    c = im.crop(box).convert(mode)
    c.info.pop("icc_profile", None)  # dog.jpg's ICC profile: not wanted in PNG
    if mode == "RGBA":
        c.putalpha(Image.linear_gradient("L").resize(c.size))
    c.save(f"{out}/letterbox_{name}.png")
PY

gcc -O2 -Wall -std=c99 -I/usr/lib/darknet/include -o "$tmp/letterbox" \
	tools/golden/letterbox.c -L/usr/lib/darknet -Wl,-rpath,/usr/lib/darknet -ldarknet

# name, network width, network height
{
	echo "["
	sep=""
	for c in "wide 24 24" "tall 16 16" "up 29 23" "gray 16 16" "rgba 16 16"; do
		set -- $c
		printf '%s' "$sep"
		"$tmp/letterbox" "$1" "$out/letterbox_$1.png" "$2" "$3"
		sep=",
"
	done
	echo
	echo "]"
} > "$out/letterbox.json"
echo "wrote $out/letterbox.json"

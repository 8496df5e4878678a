#!/bin/sh
# Golden outputs of darknet networks from darknet itself (Debian package
# darknet, pjreddie/darknet as of 2018-09-14), for vision/darknet's tests.
#
# Run from the repository root:
#
#     sh tools/golden/darknet_golden.sh           # vision/darknet/testdata/golden
#     sh tools/golden/darknet_golden.sh slow DIR  # the slow set (full YOLOv3 …) into DIR
#
# It builds darknet_golden.c against libdarknet with gcc, then runs
# darknet_golden.py with Debian's python3 (numpy, PIL), which writes small
# cfgs, random weights with fixed seeds, and libdarknet's outputs on
# darknet's sample dog.jpg; see darknet_golden.py. The slow set is what
# vision/darknet's TestGoldenSlow (GOVISION_SLOW=1) generates on demand.
set -eu

which=fast
out=vision/darknet/testdata/golden
if [ $# -ge 1 ]; then
	which=$1
	out=${2:?usage: darknet_golden.sh [fast|slow [DIR]]}
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
here=$(dirname "$0")

gcc -O2 -Wall -std=c99 -I/usr/lib/darknet/include -o "$tmp/darknet_golden" \
	"$here/darknet_golden.c" -L/usr/lib/darknet -Wl,-rpath,/usr/lib/darknet -ldarknet

/usr/bin/python3 "$here/darknet_golden.py" "$tmp/darknet_golden" "$which" "$out"
echo "wrote $which fixtures to $out"

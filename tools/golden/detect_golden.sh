#!/bin/sh
# Golden detections of darknet itself (Debian package darknet,
# pjreddie/darknet as of 2018-09-14), boxes included, for
# govision.dev/detect's parity tests (detect/golden_test.go).
#
# Run from the repository root:
#
#     sh tools/golden/detect_golden.sh      # detect/testdata/golden
#
# It builds detect_golden.c (darknet's detector test path, printing the
# boxes the darknet binary does not) and darknet_golden.c (for the layer
# table and the heads' inputs the weights are calibrated with) against
# libdarknet with gcc, then runs detect_golden.py with Debian's python3
# (numpy, PIL), which also runs the darknet binary (`darknet detector
# test`, or `darknet yolo test` for YOLOv1) and checks that it prints the
# same detections; see detect_golden.py.
set -eu

out=${1:-detect/testdata/golden}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
here=$(dirname "$0")

for prog in detect_golden darknet_golden; do
	gcc -O2 -Wall -std=c99 -I/usr/lib/darknet/include -o "$tmp/$prog" \
		"$here/$prog.c" -L/usr/lib/darknet -Wl,-rpath,/usr/lib/darknet -ldarknet
done

/usr/bin/python3 "$here/detect_golden.py" "$tmp/detect_golden" "$tmp/darknet_golden" "$out"
echo "wrote detect fixtures to $out"

#!/bin/sh
# Copies the darknet files govision.dev/detect embeds from Debian's darknet
# package (pjreddie/darknet as of 2018-09-14), so that none is typed in:
#
#   detect/cfg/<model>.cfg   the cfgs of detect.New's models, as Debian
#                            installs them, except that yolo9000.cfg's
#                            absolute tree= and map= paths become the
#                            relative names 9k.tree and coco9k.map;
#   detect/cfg/9k.tree       YOLO9000's WordTree (data/9k.tree);
#   detect/cfg/coco9k.map    the COCO → 9k class map yolo9000.cfg names
#                            (data/coco9k.map; kept for completeness: the
#                            detector test path does not use it);
#   detect/labels/*.names    the label sets (data/coco.names, voc.names,
#                            9k.names);
#   detect/cfg/SOURCES       where each file came from, with its SHA-256.
#
# Run from the repository root: sh tools/golden/detect_assets.sh
# darknet's licence (GPL-3.0+, MIT or WTFPL, see
# /usr/share/doc/darknet/copyright) is credited in detect/NOTICE.
set -eu

src=/usr/share/darknet
cfgdir=detect/cfg
labeldir=detect/labels
version=$(dpkg-query -W -f '${Version}' darknet)
models="yolov1 yolov1-tiny yolov2 yolov2-tiny yolov2-voc yolo9000 yolov3 yolov3-tiny yolov3-spp"

mkdir -p "$cfgdir" "$labeldir"
sources=$cfgdir/SOURCES
{
	echo "# Written by tools/golden/detect_assets.sh from Debian's darknet $version; DO NOT EDIT."
	echo "# file, source, SHA-256 of the source"
} > "$sources.tmp"

copy() { # copy SRC DST [sed script]
	if [ $# -eq 3 ]; then
		sed "$3" "$1" > "$2.tmp"
	else
		cp "$1" "$2.tmp"
	fi
	mv "$2.tmp" "$2"
	echo "$2 $1 $(sha256sum < "$1" | cut -d' ' -f1)" >> "$sources.tmp"
}

for m in $models; do
	if [ "$m" = yolo9000 ]; then
		copy "$src/cfg/$m.cfg" "$cfgdir/$m.cfg" \
			's#^tree=/usr/share/darknet/data/9k.tree#tree=9k.tree#; s#^map = /usr/share/darknet/data/coco9k.map#map = coco9k.map#'
		if grep -q /usr/share "$cfgdir/$m.cfg"; then
			echo "detect_assets: $cfgdir/$m.cfg still names /usr/share" >&2
			exit 1
		fi
	else
		copy "$src/cfg/$m.cfg" "$cfgdir/$m.cfg"
	fi
done
copy "$src/data/9k.tree" "$cfgdir/9k.tree"
copy "$src/data/coco9k.map" "$cfgdir/coco9k.map"
for l in coco voc 9k; do
	copy "$src/data/$l.names" "$labeldir/$l.names"
done
mv "$sources.tmp" "$sources"
echo "wrote $cfgdir and $labeldir from darknet $version"

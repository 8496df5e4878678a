/*
 * letterbox.c: golden letterbox results from darknet itself, for
 * vision/imageio's tests. Built and run by tools/golden/letterbox.sh,
 * which links Debian's libdarknet (pjreddie/darknet, 2018).
 *
 * Usage: letterbox NAME IMAGE.png NET_W NET_H
 *
 * Prints one JSON object: the image loaded by darknet's load_image_color,
 * letterboxed by letterbox_image into NET_W x NET_H (the float data, CHW),
 * and a few boxes (fractions of the network input, centre and size) mapped
 * back to image pixels by correct_yolo_boxes with relative = 0.
 */
#include <stdio.h>
#include <stdlib.h>

#include "darknet.h"

/* Not in darknet.h, but exported by libdarknet (src/yolo_layer.c). */
void correct_yolo_boxes(detection *dets, int n, int w, int h, int netw, int neth, int relative);

static const float boxes[][4] = {
	{0.5f, 0.5f, 0.2f, 0.3f},
	{0.1f, 0.2f, 0.05f, 0.1f},
	{0.9f, 0.75f, 0.3f, 0.4f},
	{0.37f, 0.61f, 0.5f, 0.25f},
	{0.0f, 1.0f, 1.0f, 1.0f},
};

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s NAME IMAGE NET_W NET_H\n", argv[0]);
		return 2;
	}
	int netw = atoi(argv[3]), neth = atoi(argv[4]);
	image im = load_image_color(argv[2], 0, 0);
	image boxed = letterbox_image(im, netw, neth);

	int n = sizeof boxes / sizeof boxes[0];
	detection dets[sizeof boxes / sizeof boxes[0]];
	for (int i = 0; i < n; i++) {
		dets[i].bbox.x = boxes[i][0];
		dets[i].bbox.y = boxes[i][1];
		dets[i].bbox.w = boxes[i][2];
		dets[i].bbox.h = boxes[i][3];
	}
	correct_yolo_boxes(dets, n, im.w, im.h, netw, neth, 0);

	printf("{\"name\": \"%s\", \"image_w\": %d, \"image_h\": %d, \"net_w\": %d, \"net_h\": %d,\n",
	       argv[1], im.w, im.h, netw, neth);
	printf(" \"boxes\": [");
	for (int i = 0; i < n; i++) {
		box b = dets[i].bbox;
		printf("%s\n  {\"in\": [%.9g, %.9g, %.9g, %.9g], \"out\": [%.9g, %.9g, %.9g, %.9g]}",
		       i ? "," : "", boxes[i][0], boxes[i][1], boxes[i][2], boxes[i][3], b.x, b.y, b.w, b.h);
	}
	printf("],\n \"data\": [");
	int size = boxed.w * boxed.h * boxed.c;
	for (int i = 0; i < size; i++) {
		printf("%s%.9g", i ? (i % 16 ? ", " : ",\n  ") : "", boxed.data[i]);
	}
	printf("]}");
	free_image(boxed);
	free_image(im);
	return 0;
}

/*
 * detect_golden.c: darknet's detections, boxes included, for
 * govision.dev/detect's parity tests. Built and run by
 * tools/golden/detect_golden.sh, which links Debian's libdarknet
 * (pjreddie/darknet, 2018); darknet's header is in /usr/lib/darknet/include.
 *
 * Usage: detect_golden letterbox|resize CFG WEIGHTS IMAGE THRESH HIER NMS OUTPREFIX [OVERRIDE.f32]
 *
 * It does what darknet's `detector test` does (src/detector.c:
 * test_detector) with mode letterbox, or what `yolo test` does
 * (src/yolo.c: test_yolo, YOLOv1's path) with mode resize:
 *
 *   load_network; load_image_color; letterbox_image (or resize_image) to
 *   the network's size; network_predict; get_network_boxes (letterbox:
 *   the image's w, h, thresh, hier, map 0, relative 1; resize: w = h = 1,
 *   hier 0, relative 0); do_nms_sort over every box with the last layer's
 *   class count;
 *
 * and prints, as JSON on stdout, the boxes get_network_boxes returns
 * with non-zero objectness ("candidates", before NMS) and, as
 * draw_detections reports them, every (box, class) whose probability is
 * above thresh after NMS ("detections"). Boxes are x, y, w, h in
 * fractions of the image. Floats are printed with 9 significant digits,
 * enough to read back the same float32.
 *
 * It also writes the output of the k-th yolo, region or detection layer
 * to OUTPREFIX.out<k>.f32 (little-endian float32), from which
 * detect_golden.py works out how far each decision was from its
 * threshold.
 *
 * With OVERRIDE.f32, the last output layer's output is replaced by that
 * file's values before the boxes are decoded: YOLO9000's region layer,
 * whose WordTree softmax darknet's CPU code gets wrong (pjreddie/darknet
 * #143, #144), gets the GPU code's values, computed by detect_golden.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "darknet.h"

static void dump(const char *path, const float *x, int n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(x, sizeof(float), n, f) != (size_t)n || fclose(f) != 0) {
		fprintf(stderr, "detect_golden: cannot write %s\n", path);
		exit(1);
	}
}

static void load(const char *path, float *x, int n)
{
	FILE *f = fopen(path, "rb");
	if (!f || fread(x, sizeof(float), n, f) != (size_t)n || fgetc(f) != EOF) {
		fprintf(stderr, "detect_golden: %s does not hold %d floats\n", path, n);
		exit(1);
	}
	fclose(f);
}

static void print_box(box b)
{
	printf("\"x\": %.9g, \"y\": %.9g, \"w\": %.9g, \"h\": %.9g", b.x, b.y, b.w, b.h);
}

int main(int argc, char **argv)
{
	if (argc != 9 && argc != 10) {
		fprintf(stderr, "usage: %s letterbox|resize CFG WEIGHTS IMAGE THRESH HIER NMS OUTPREFIX [OVERRIDE.f32]\n", argv[0]);
		return 2;
	}
	int letterbox = strcmp(argv[1], "letterbox") == 0;
	if (!letterbox && strcmp(argv[1], "resize") != 0) {
		fprintf(stderr, "detect_golden: mode %s: want letterbox or resize\n", argv[1]);
		return 2;
	}
	float thresh = atof(argv[5]), hier = atof(argv[6]), nms = atof(argv[7]);

	network *net = load_network(argv[2], argv[3], 0);
	set_batch_network(net, 1);
	image im = load_image_color(argv[4], 0, 0);
	image sized = letterbox ? letterbox_image(im, net->w, net->h) : resize_image(im, net->w, net->h);
	network_predict(net, sized.data);

	int outs[64], n = 0;
	for (int i = 0; i < net->n && n < 64; i++) {
		LAYER_TYPE t = net->layers[i].type;
		if (t == YOLO || t == REGION || t == DETECTION)
			outs[n++] = i;
	}
	if (n == 0) {
		fprintf(stderr, "detect_golden: %s has no yolo, region or detection layer\n", argv[2]);
		return 1;
	}
	if (argc == 10) {
		layer l = net->layers[outs[n - 1]];
		load(argv[9], l.output, l.outputs);
	}
	char path[4096];
	for (int k = 0; k < n; k++) {
		layer l = net->layers[outs[k]];
		snprintf(path, sizeof path, "%s.out%d.f32", argv[8], k);
		dump(path, l.output, l.outputs);
	}

	layer last = net->layers[net->n - 1];
	int nboxes = 0;
	detection *dets = letterbox ? get_network_boxes(net, im.w, im.h, thresh, hier, 0, 1, &nboxes)
	                            : get_network_boxes(net, 1, 1, thresh, 0, 0, 0, &nboxes);

	printf("{\"image\": [%d, %d], \"net\": [%d, %d], \"classes\": %d, \"boxes\": %d,\n \"candidates\": [",
	       im.w, im.h, net->w, net->h, last.classes, nboxes);
	const char *sep = "";
	for (int i = 0; i < nboxes; i++) {
		if (dets[i].objectness == 0)
			continue;
		printf("%s\n  {\"objectness\": %.9g, ", sep, dets[i].objectness);
		print_box(dets[i].bbox);
		printf(", \"prob\": [");
		const char *s2 = "";
		for (int j = 0; j < last.classes; j++) {
			if (dets[i].prob[j] != 0) {
				printf("%s[%d, %.9g]", s2, j, dets[i].prob[j]);
				s2 = ", ";
			}
		}
		printf("]}");
		sep = ",";
	}

	do_nms_sort(dets, nboxes, last.classes, nms);

	printf("],\n \"detections\": [");
	sep = "";
	for (int i = 0; i < nboxes; i++) {
		for (int j = 0; j < last.classes; j++) {
			if (dets[i].prob[j] > thresh) {
				printf("%s\n  {\"class\": %d, \"prob\": %.9g, ", sep, j, dets[i].prob[j]);
				print_box(dets[i].bbox);
				printf("}");
				sep = ",";
			}
		}
	}
	printf("]}\n");
	free_detections(dets, nboxes);
	free_image(sized);
	free_image(im);
	free_network(net);
	return 0;
}

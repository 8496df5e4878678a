/*
 * darknet_golden.c: golden network outputs from darknet itself, for
 * vision/darknet's tests. Built and run by tools/golden/darknet_golden.sh,
 * which links Debian's libdarknet (pjreddie/darknet, 2018).
 *
 * Usage: darknet_golden CFG WEIGHTS IMAGE OUTPREFIX
 *        darknet_golden --layers CFG
 *
 * With --layers it prints, as JSON, what darknet_golden.py needs to write
 * a weights file for CFG: each layer's type, input and output shapes and,
 * for the layers with weights, their sizes as darknet computes them.
 *
 * Otherwise it
 * loads the network (parse_network_cfg + load_weights), loads IMAGE with
 * load_image_color, letterboxes it into the network's input size with
 * letterbox_image, runs network_predict, and writes, as raw little-endian
 * float32:
 *
 *   OUTPREFIX.out<k>.f32   the output of the k-th output layer: every yolo,
 *                          region and detection layer, or else the last
 *                          layer that is not [cost] (what
 *                          get_network_output_layer returns);
 *   OUTPREFIX.in<k>.f32    the k-th output layer's input (the previous
 *                          layer's output): darknet_golden.py calibrates
 *                          the random weights with it (objectness biases,
 *                          the scale of a classifier's logits), and
 *                          computes the WordTree softmax from it (darknet's
 *                          CPU code gets that wrong).
 *
 * It prints one JSON object describing them on stdout.
 */
#include <stdio.h>
#include <stdlib.h>

#include "darknet.h"

static const char *type_name(LAYER_TYPE t)
{
	switch (t) {
	case CONVOLUTIONAL: return "convolutional";
	case CONNECTED: return "connected";
	case MAXPOOL: return "maxpool";
	case SOFTMAX: return "softmax";
	case DETECTION: return "detection";
	case DROPOUT: return "dropout";
	case CROP: return "crop";
	case ROUTE: return "route";
	case COST: return "cost";
	case AVGPOOL: return "avgpool";
	case LOCAL: return "local";
	case SHORTCUT: return "shortcut";
	case REGION: return "region";
	case YOLO: return "yolo";
	case REORG: return "reorg";
	case UPSAMPLE: return "upsample";
	default: return "other";
	}
}

static void dump(const char *path, const float *x, int n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(x, sizeof(float), n, f) != (size_t)n || fclose(f) != 0) {
		fprintf(stderr, "darknet_golden: cannot write %s\n", path);
		exit(1);
	}
}

static void describe(int k, int i, layer l, const char *file, const char *sep)
{
	printf("%s\n  {\"k\": %d, \"layer\": %d, \"type\": \"%s\", \"shape\": [%d, %d, %d], \"len\": %d, \"file\": \"%s\"}",
	       sep, k, i, type_name(l.type), l.out_c, l.out_h, l.out_w, l.outputs, file);
}

static const char *base(const char *path)
{
	const char *b = path;
	for (const char *p = path; *p; p++)
		if (*p == '/')
			b = p + 1;
	return b;
}

static int layers(const char *cfg)
{
	network *net = parse_network_cfg((char *)cfg);
	printf("[");
	for (int i = 0; i < net->n; i++) {
		layer l = net->layers[i];
		int weights = 0;
		switch (l.type) {
		case CONVOLUTIONAL: weights = l.nweights; break;
		case CONNECTED: weights = l.inputs * l.outputs; break;
		case LOCAL: weights = l.c * l.n * l.size * l.size * l.out_w * l.out_h; break;
		default: break;
		}
		printf("%s\n {\"layer\": %d, \"type\": \"%s\", \"in\": [%d, %d, %d], \"inputs\": %d, "
		       "\"out\": [%d, %d, %d], \"outputs\": %d, \"n\": %d, \"size\": %d, \"groups\": %d, "
		       "\"batch_normalize\": %d, \"weights\": %d}",
		       i ? "," : "", i, type_name(l.type), l.c, l.h, l.w, l.inputs,
		       l.out_c, l.out_h, l.out_w, l.outputs, l.n, l.size, l.groups, l.batch_normalize, weights);
	}
	printf("]\n");
	free_network(net);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && argv[1][0] == '-' && argv[1][1] == '-')
		return layers(argv[2]);
	if (argc != 5) {
		fprintf(stderr, "usage: %s CFG WEIGHTS IMAGE OUTPREFIX | --layers CFG\n", argv[0]);
		return 2;
	}
	network *net = load_network(argv[1], argv[2], 0);
	set_batch_network(net, 1);
	image im = load_image_color(argv[3], 0, 0);
	image boxed = letterbox_image(im, net->w, net->h);
	network_predict(net, boxed.data);

	int outs[1024], n = 0;
	for (int i = 0; i < net->n && n < 1024; i++) {
		LAYER_TYPE t = net->layers[i].type;
		if (t == YOLO || t == REGION || t == DETECTION)
			outs[n++] = i;
	}
	if (n == 0) {
		int i = net->n - 1;
		while (i > 0 && net->layers[i].type == COST)
			i--;
		outs[n++] = i;
	}

	printf("{\"net\": [%d, %d, %d], \"image\": [%d, %d], \"outputs\": [", net->c, net->h, net->w, im.w, im.h);
	char path[4096];
	const char *sep = "";
	for (int k = 0; k < n; k++) {
		layer l = net->layers[outs[k]];
		snprintf(path, sizeof path, "%s.out%d.f32", argv[4], k);
		dump(path, l.output, l.outputs);
		describe(k, outs[k], l, base(path), sep);
		sep = ",";
	}
	printf("],\n \"head_inputs\": [");
	sep = "";
	for (int k = 0; k < n; k++) {
		if (outs[k] == 0)
			continue; /* its input is the network's */
		layer prev = net->layers[outs[k] - 1];
		snprintf(path, sizeof path, "%s.in%d.f32", argv[4], k);
		dump(path, prev.output, prev.outputs);
		describe(k, outs[k] - 1, prev, base(path), sep);
		sep = ",";
	}
	printf("]}\n");
	free_image(boxed);
	free_image(im);
	free_network(net);
	return 0;
}

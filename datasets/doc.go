// Package datasets reads and writes the data sets of computer vision, and
// augments and loads them for training.
//
// Every format goes through one in-memory type, Record: an image (a file,
// encoded bytes or pixels) with its annotations — a whole-image class,
// objects with boxes, VOC's flags, COCO's iscrowd and instance masks, a
// semantic class map. Readers produce records one at a time and writers
// take them one at a time, so a converter is reader → records → writer
// (Convert) and no data set is ever held in memory whole:
//
//	format       read                     write
//	voc          OpenVOC                  Create(dir, VOCFormat, …)
//	coco         OpenCOCO                 Create(dir, COCOFormat, …)
//	yolo         OpenYOLO                 Create(dir, YOLOFormat, …)
//	imagefolder  OpenImageFolder          Create(dir, ImageFolderFormat, …)
//	images       OpenImages               Create(dir, ImagesFormat, …)
//	mnist        OpenMNIST (idx, gzip)    Create(dir, MNISTFormat, …)
//	cifar10/100  OpenCIFAR (binary)       Create(dir, CIFAR10Format, …)
//	shards       OpenShards               NewShardWriter
//
// Open and Detect pick the reader from a folder's layout. A reader reports
// a bad record as a *RecordError naming the file and line (or element) and
// goes on; a writer counts, in Dropped, every attribute its format cannot
// hold (VOC's difficult in YOLO txt, COCO's masks in VOC, …), so nothing is
// lost silently. Outputs are written through CreateOutput: a temporary
// folder renamed when complete, never inside the input.
//
// Boxes are in pixels, corners (X1, Y1)–(X2, Y2) in continuous coordinates
// (see Box); masks are COCO polygons or RLEs (see RLE, which implements
// pycocotools' encoding, compressed strings included).
//
// Transforms (Resize, Letterbox, HFlip, RandomResizedCrop,
// RandomScaleTranslate, ColorJitter) change an image and its annotations
// together and draw randomness only from the generator they are given.
// Loader batches a Dataset (Records, Shards) on goroutine workers with
// bounded memory and per-sample seeds; Transcode runs a transform over a
// whole data set in parallel for the command line's resize.
//
// The sharded record format (shard.go) stores records, image bytes
// unchanged, in large files with a CRC-32C per record and an index for
// random access.
//
// datasets imports only vision.
package datasets

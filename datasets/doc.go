// Package datasets reads and writes the datasets of computer vision (MNIST
// idx, CIFAR binary, ImageFolder, Pascal VOC XML, COCO JSON, YOLO txt), and
// holds augmentation, a batched parallel loader and a sharded record format.
//
// datasets imports only vision.
package datasets

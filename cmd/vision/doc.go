// Command vision is govision's command line.
//
// Usage:
//
//	vision [global flags] <command> [flags]
//
// The commands so far:
//
//	version   the module version, Go version and platform of this binary
//	env       Go version, GOMAXPROCS, CPU features, and the implementation
//	          each accel kernel uses
//	classify  top-k ImageNet (or CIFAR, MNIST) labels for images, with any
//	          model of the classify zoo (vision classify IMG... --model NAME)
//	models    every model with its parameter count, GFLOPs at its default
//	          input size and whether its weights are on disk
//	detect    objects in images with a YOLO model, as darknet finds them
//	          (vision detect IMG... --model yolov3): tables or JSON lines,
//	          annotated images under runs/detect/<n>/
//	weights   download a model's published weights into the weights folder
//	          (vision weights fetch yolov3)
//
// The global flags, accepted before or after the command:
//
//	--threads N        goroutines the kernels may use (0, the default: GOMAXPROCS)
//	--profile KIND     profile the command: cpu, mem, alloc, block, mutex or trace
//	--profile-dir DIR  where the profile is written (default ".")
//	-q, --quiet        print only results and errors
//	-v, --verbose      also print what vision is doing, on stderr
//
// Results go to stdout; messages and errors go to stderr. On an error vision
// prints one line, "vision: <error>", and exits with status 1.
package main

package detect_test

import (
	"fmt"
	"log"

	"govision.dev/detect"
	"govision.dev/vision/imageio"
)

// Finding objects with YOLOv3 and the weights darknet's author publishes
// (https://pjreddie.com/media/files/yolov3.weights).
func Example() {
	d, err := detect.New("yolov3")
	if err != nil {
		log.Fatal(err)
	}
	if err := d.Load("yolov3.weights"); err != nil {
		log.Fatal(err)
	}
	img, err := imageio.DecodeFile("dog.jpg")
	if err != nil {
		log.Fatal(err)
	}
	dets, err := d.Detect(img, detect.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	for _, x := range dets {
		fmt.Printf("%s %.2f at (%.0f, %.0f)–(%.0f, %.0f)\n", x.Label, x.Score, x.Box[0], x.Box[1], x.Box[2], x.Box[3])
	}
}

func ExampleNames() {
	fmt.Println(detect.Names())
	// Output: [yolo9000 yolov1 yolov1-tiny yolov2 yolov2-tiny yolov2-voc yolov3 yolov3-spp yolov3-tiny]
}

func ExampleDescribe() {
	info, err := detect.Describe("yolov3")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Size, info.Classes, info.Weights.URL)
	// Output: 416 80 https://pjreddie.com/media/files/yolov3.weights
}

func ExampleDescribeFace() {
	info, err := detect.DescribeFace("face-ssd")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: input %d to %d, %.2f M parameters, %.2f GMACs, weights %s\n",
		info.Name, info.MinSize, info.MaxSize, float64(info.Params)/1e6, float64(info.MACs)/1e9, info.File)
	// Output: face-ssd: input 512 to 512, 5.53 M parameters, 3.14 GMACs, weights ssd_mobilenetv1.safetensors
}

// Converting face-api's published tiny face detector (the npm package's
// model/ folder) to the file the package embeds.
func ExampleConvertFaceAPI() {
	err := detect.ConvertFaceAPI("face", "model/tiny_face_detector_model-weights_manifest.json", "tiny_face_detector.safetensors")
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleIoU() {
	a := [4]float32{0, 0, 10, 10}
	b := [4]float32{5, 0, 15, 10}
	fmt.Printf("%.3f\n", detect.IoU(a, b))
	// Output: 0.333
}

func ExampleNMS() {
	dets := []detect.Detection{
		{Class: 0, Label: "person", Score: 0.9, Box: [4]float32{0, 0, 10, 10}},
		{Class: 0, Label: "person", Score: 0.8, Box: [4]float32{1, 0, 11, 10}}, // IoU 0.82 with the first
		{Class: 1, Label: "bicycle", Score: 0.7, Box: [4]float32{1, 0, 11, 10}},
	}
	for _, x := range detect.NMS(dets, 0.45) {
		fmt.Println(x.Label, x.Score)
	}
	// Output:
	// person 0.9
	// bicycle 0.7
}

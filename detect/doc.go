// Package detect is govision's object detection: boxes (IoU, encoding and
// decoding), anchors, the NMS family, ROI pooling, ROI Align and
// position-sensitive ROI pooling, SPP, FPN, the detection losses (smooth-L1,
// focal, YOLO, MultiBox), the detectors themselves behind a registry
// (detect.New("yolov3")), and mAP in VOC and COCO style.
//
// detect imports only vision, classify (for backbones) and accel.
package detect

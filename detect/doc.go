// Package detect is govision's object detection. So far it holds the YOLO
// family as darknet runs it, and the boxes and non-maximum suppression
// they need; ROI pooling, FPN, the losses, the other detectors of the
// seeds and mAP are to come.
//
// # Detectors
//
// New builds a model of the zoo by name — yolov1, yolov1-tiny, yolov2,
// yolov2-tiny, yolov2-voc, yolo9000, yolov3, yolov3-tiny, yolov3-spp
// (Names) — from the darknet cfg the package embeds (cfg/, copied from
// Debian's darknet package by tools/golden/detect_assets.sh), with fresh
// weights; Load reads darknet's .weights file (the one published for the
// model: Describe gives its URL). FromCfg builds one from any darknet cfg
// on disk. The networks run on govision.dev/vision/darknet.
//
// Detect does what darknet's `detector test` does (pjreddie/darknet, 2018,
// src/detector.c: test_detector), step for step:
//
//   - the image is letterboxed into the network's input exactly as
//     darknet's letterbox_image (imageio.Letterbox: its own bilinear
//     resize, integer sizes, grey 0.5 canvas);
//   - the yolo layers' outputs are decoded as get_yolo_detections
//     (yolov3.go), the region layers' as get_region_detections with
//     YOLO9000's WordTree (yolov2.go), the detection layer's as
//     get_detection_detections (yolov1.go), with darknet's thresholds:
//     a box is a candidate when its objectness is above Options.Conf
//     (default 0.25), and scores objectness × class probability for each
//     class above it; YOLO9000 descends its WordTree while the
//     probability stays above Options.HierThresh (default 0.5);
//   - boxes are mapped back to the image's pixels through the letterbox
//     inverse (correct_yolo_boxes: imageio.LetterboxInfo.Unmap);
//   - do_nms_sort suppresses, class by class, the boxes overlapping a
//     better one with an IoU above Options.IoU (default 0.45) — or greedy
//     NMS, or linear or Gaussian Soft-NMS (Options.NMS);
//   - each remaining (box, class) pair above the threshold is a
//     Detection, as darknet's draw_detections reports them.
//
// YOLOv1 follows darknet's own YOLOv1 path (`yolo test`) instead: the
// image is stretched to the network's size, not letterboxed (see
// yolov1.go).
//
// A Detector is safe for concurrent use by Detect; Load must not run
// concurrently with it.
//
// # Face detectors
//
// NewFace builds one of face-api's face detectors (FaceNames: "face", its
// Tiny Face Detector, tinyface.go; "face-ssd", its SSD-MobileNetV1,
// facessd.go), PretrainedFace with face-api's published weights, which the
// package embeds (models/: safetensors with our parameter names and
// face-api's uint8 codes, written by ConvertFaceAPI through
// tools/faceapi/convert.sh; face-api is MIT-licensed, see NOTICE): they
// work with no download. FaceDetector.Load also reads face-api's own
// TensorFlow.js manifest, to the same values. DescribeFace gives a
// detector's sizes, defaults and cost. Detect does what face-api's
// detectAllFaces does on a tensor input — pad to a square, TensorFlow's
// bilinear resize, the network, the decode, greedy NMS at face-api's IoU
// — with face-api's defaults (DefaultFaceOptions). tools/golden/faceapi.sh
// runs face-api under Node for the parity tests: the final detections,
// and the networks' outputs before NMS.
//
// # Boxes
//
// Detection boxes are corners, x1, y1, x2, y2, in pixels of the image,
// x right and y down from its top-left corner; IoU, Area and Intersection
// work on them. NMS, SoftNMSLinear and SoftNMSGaussian work on
// detections; NMSSort is darknet's do_nms_sort on candidates.
//
// # Checks
//
// tools/golden/detect_golden.sh runs Debian's libdarknet and darknet
// binary on small networks with random weights and darknet's sample dog:
// the tests compare the candidates before NMS and the final detections
// (same labels, boxes within half a pixel) with darknet's, for a yolo
// (yolov3-tiny), a region (yolov2), a detection (yolov1-tiny) and a
// WordTree (YOLO9000) head. tools/golden/detect_nms.py records
// torchvision's box_iou and batched_nms and a transcription of Soft-NMS's
// algorithm for the NMS tests.
//
// detect imports only vision, classify (for backbones) and accel.
package detect

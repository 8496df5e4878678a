// faceapi.js runs face-api (@vladmandic/face-api 1.7.15) under Node on
// PNG photos and writes what it finds, the reference for detect's face
// detectors (detect/testdata/golden/faceapi/faceapi.json).
//
//   node tools/golden/faceapi.js MODELDIR OUT.json IMAGE.png...
//
// MODELDIR holds face-api's published weights (the package's model/
// folder). The tfjs pure-JS "cpu" backend is used: it computes in plain
// float32 loops, the closest to ours. Images are decoded with pngjs (the
// Go side reads the same PNGs, so both see identical pixels) and passed to
// face-api as int32 [H, W, 3] tensors, as a Node user would.
//
// The modules come from an npm install in a scratch folder, never
// committed (see tools/golden/faceapi.sh):
//   npm install @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 \
//     @tensorflow/tfjs-backend-wasm@4.22.0 pngjs@7
// and NODE_PATH pointing at its node_modules.
//
// For each image and model (face: TinyFaceDetectorOptions(), face-ssd:
// SsdMobilenetv1Options(), both with face-api's defaults; face@320,0.2:
// the tiny detector at input 320, threshold 0.2) it records the
// detections (score; box x1, y1, x2, y2 in image pixels) and, for the
// first image, two layer-level checks: the tiny detector's raw output at
// input 416 (tinyRaw), and the SSD's outputs before NMS (ssdRaw: what
// nets.ssdMobilenetv1.forward returns, outputLayer.ts's decoded boxes and
// sigmoid scores for all 5118 anchors). ssdRaw keeps the fixture small: the
// anchors of the ssdTop highest scores and every ssdStride-th anchor, each
// with its index, face-api's default box (Output/extra_dim), decoded box
// (ymin, xmin, ymax, xmax as fractions of the 512 square, unclipped) and
// score, as float32 values printed to 9 significant digits (exact).

'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { PNG } = require('pngjs');

// ssdTop and ssdStride choose the anchors of ssdRaw. The stride is
// coprime with the 3 and 6 boxes per cell, so that every kind of default
// box of every feature map is sampled.
const ssdTop = 24;
const ssdStride = 31;

// f32 prints a float32 exactly, in its 9 significant digits.
const f32 = (v) => Number(v.toPrecision(9));

// ssdRaw runs face-api's SSD to its outputs before NMS and samples them.
async function ssdRaw(input) {
  const net = faceapi.nets.ssdMobilenetv1;
  const { boxes, scores } = await net.forward(input);
  const b = boxes[0].arraySync();
  const s = Array.from(scores[0].dataSync());
  const anchors = net.params.output_layer.extra_dim.arraySync()[0];
  const shapes = { boxes: boxes[0].shape, scores: scores[0].shape, anchors: net.params.output_layer.extra_dim.shape };
  boxes.forEach((t) => t.dispose());
  scores.forEach((t) => t.dispose());
  const picked = new Set();
  s.map((v, i) => [v, i]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, ssdTop).forEach(([, i]) => picked.add(i));
  for (let i = 0; i < s.length; i += ssdStride) picked.add(i);
  const index = [...picked].sort((x, y) => x - y);
  return {
    shapes,
    top: ssdTop,
    stride: ssdStride,
    index,
    anchors: index.map((i) => anchors[i].map(f32)),
    boxes: index.map((i) => b[i].map(f32)),
    scores: index.map((i) => f32(s[i])),
  };
}

async function main() {
  const [modelDir, out, ...images] = process.argv.slice(2);
  if (!modelDir || !out || images.length === 0) {
    console.error('usage: node faceapi.js MODELDIR OUT.json IMAGE.png...');
    process.exit(2);
  }
  await faceapi.tf.setBackend('cpu');
  await faceapi.tf.ready();
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  const models = {
    face: () => new faceapi.TinyFaceDetectorOptions(),
    // A lower threshold and another input size, for more boxes to compare.
    'face@320,0.2': () => new faceapi.TinyFaceDetectorOptions({ inputSize: 320, scoreThreshold: 0.2 }),
  };
  const ssd = fs.existsSync(path.join(modelDir, 'ssd_mobilenetv1_model-weights_manifest.json'));
  if (ssd && process.env.FACEAPI_SSD !== '0') {
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
    models['face-ssd'] = () => new faceapi.SsdMobilenetv1Options();
  }
  const result = {
    generator: 'tools/golden/faceapi.js',
    faceapi: faceapi.version,
    tfjs: tf.version.tfjs,
    backend: faceapi.tf.getBackend(),
    images: [],
  };
  for (const file of images) {
    const png = PNG.sync.read(fs.readFileSync(file));
    const { width, height } = png;
    const rgb = new Int32Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = png.data[4 * i + c];
    }
    const input = faceapi.tf.tensor3d(rgb, [height, width, 3], 'int32');
    const entry = { image: path.basename(file), width, height, models: {} };
    for (const [name, options] of Object.entries(models)) {
      const dets = await faceapi.detectAllFaces(input, options());
      entry.models[name] = dets.map((d) => ({
        score: d.score,
        box: [d.box.x, d.box.y, d.box.x + d.box.width, d.box.y + d.box.height],
      }));
    }
    if (result.images.length === 0) {
      // The first image's tiny detector conv8 output at 416, NHWC [13, 13, 25].
      const raw = await faceapi.nets.tinyFaceDetector.forward(input, 416);
      entry.tinyRaw = Array.from(raw.dataSync());
      raw.dispose();
      if (models['face-ssd']) entry.ssdRaw = await ssdRaw(input);
    }
    input.dispose();
    result.images.push(entry);
  }
  fs.writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });

// faceapi_peer.js times face-api (@vladmandic/face-api 1.7.15) for
// bench/faces, which writes this file into a scratch folder and runs it:
//
//   NODE_PATH=.../node_modules node faceapi_peer.js BACKEND MODELDIR MINMS IMAGE.png...
//
// BACKEND is "cpu" (tfjs' pure-JS kernels) or "wasm"
// (@tensorflow/tfjs-backend-wasm: XNNPACK with SIMD, one thread under
// Node). The PNGs are decoded once with pngjs and passed as int32
// [H, W, 3] tensors, as a Node user would. For each detector (face:
// TinyFaceDetectorOptions(), face-ssd: SsdMobilenetv1Options(), face-api's
// defaults) it runs detectAllFaces over every image once untimed, then
// times passes over the images until at least 3 passes and MINMS
// milliseconds, and prints one JSON line per detector: the median pass
// time divided by the number of images, and the faces found per pass.
'use strict';

const fs = require('fs');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { PNG } = require('pngjs');

async function main() {
  const [backend, modelDir, minMs, ...images] = process.argv.slice(2);
  if (backend === 'wasm') {
    const wasm = require('@tensorflow/tfjs-backend-wasm');
    const dir = require('path').dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + '/');
  }
  await faceapi.tf.setBackend(backend);
  await faceapi.tf.ready();
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  const inputs = images.map((file) => {
    const png = PNG.sync.read(fs.readFileSync(file));
    const { width, height } = png;
    const rgb = new Int32Array(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      for (let c = 0; c < 3; c++) rgb[3 * i + c] = png.data[4 * i + c];
    }
    return faceapi.tf.tensor3d(rgb, [height, width, 3], 'int32');
  });
  const models = {
    face: () => new faceapi.TinyFaceDetectorOptions(),
    'face-ssd': () => new faceapi.SsdMobilenetv1Options(),
  };
  for (const [name, options] of Object.entries(models)) {
    const pass = async () => {
      let faces = 0;
      for (const x of inputs) faces += (await faceapi.detectAllFaces(x, options())).length;
      return faces;
    };
    const faces = await pass();
    const ts = [];
    let total = 0;
    while (ts.length < 3 || total < Number(minMs)) {
      const t0 = process.hrtime.bigint();
      await pass();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      ts.push(ms);
      total += ms;
    }
    ts.sort((a, b) => a - b);
    const h = ts.length >> 1;
    const med = ts.length % 2 ? ts[h] : (ts[h - 1] + ts[h]) / 2;
    console.log(JSON.stringify({ backend: faceapi.tf.getBackend(), model: name, ms: med / inputs.length, faces, reps: ts.length }));
  }
}

main().catch((e) => { console.error(e); process.exit(1); });

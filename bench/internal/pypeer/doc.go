// Package pypeer starts the long-lived Python peers of govision's
// harnesses (bench/bottleneck's and bench/classify's pytorch_peer.py,
// bench/yolo's opencv_peer.py) with Debian's interpreter, installing the
// Debian packages they lack, and holds what both sides of a torch peer
// share: choosing OpenBLAS's core, reading torch's description and timing
// answers, and the report's PyTorch line.
//
// pypeer.py is the Python half: the command loop, the timing loop and
// torch's self-description. Start writes it into the peer's working
// directory, where the script's `import pypeer` finds it.
//
// A peer is a subprocess; its methods are not safe for concurrent use.
package pypeer

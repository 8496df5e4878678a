// Package govision is the root of the govision workspace: pure-Go computer
// vision (classification, detection, segmentation and model compression)
// with no cgo. The code lives in the modules listed in modules.txt
// (govision.dev/accel, govision.dev/vision, …); this root module holds only
// the tests and runnable examples that span modules, such as the layering
// test that keeps imports going down modules.txt.
package govision

// Package measure holds what govision's peer harnesses (bench/sgemm,
// bench/bottleneck, bench/classify) share: timing a call to its median,
// describing the machine and the command line in a report's header,
// parsing lists of thread counts and sizes, installing a peer's Debian
// packages, and the environment and stderr of a peer subprocess.
//
// Nothing here is safe for concurrent use with the code it times: Median
// runs fn on the calling goroutine, one call at a time.
package measure

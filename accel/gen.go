package accel

//go:generate sh -c "cd internal/asmgen && GOWORK=off go run . -out ../../sgemm_amd64.s -stubs ../../sgemm_stub_amd64.go -pkg accel"

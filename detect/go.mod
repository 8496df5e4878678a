module govision.dev/detect

go 1.26.0

replace govision.dev/vision => ../vision

replace govision.dev/classify => ../classify

replace govision.dev/accel => ../accel

require (
	govision.dev/accel v0.0.0-00010101000000-000000000000
	govision.dev/classify v0.0.0-00010101000000-000000000000
	govision.dev/vision v0.0.0-00010101000000-000000000000
)

require (
	github.com/chewxy/math32 v1.10.1 // indirect
	github.com/disintegration/imaging v1.6.2 // indirect
	github.com/nlpodyssey/gopickle v0.2.0 // indirect
	github.com/viterin/partial v1.1.0 // indirect
	github.com/viterin/vek v0.4.3 // indirect
	golang.org/x/exp v0.0.0-20230817173708-d852ddb80c63 // indirect
	golang.org/x/image v0.48.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

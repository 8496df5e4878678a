module govision.dev/vision

go 1.26

replace govision.dev/accel => ../accel

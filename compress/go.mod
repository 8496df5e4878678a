module govision.dev/compress

go 1.26

replace govision.dev/vision => ../vision

replace govision.dev/accel => ../accel

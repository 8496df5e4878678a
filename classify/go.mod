module govision.dev/classify

go 1.26

replace govision.dev/vision => ../vision

replace govision.dev/accel => ../accel

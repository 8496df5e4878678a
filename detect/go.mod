module govision.dev/detect

go 1.26

replace govision.dev/vision => ../vision

replace govision.dev/classify => ../classify

replace govision.dev/accel => ../accel

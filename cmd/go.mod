module govision.dev/cmd

go 1.26

replace govision.dev/accel => ../accel
replace govision.dev/vision => ../vision
replace govision.dev/classify => ../classify
replace govision.dev/detect => ../detect
replace govision.dev/segment => ../segment
replace govision.dev/compress => ../compress
replace govision.dev/datasets => ../datasets

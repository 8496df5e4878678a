module govision.dev/datasets

go 1.26

replace govision.dev/vision => ../vision

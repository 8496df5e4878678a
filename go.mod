module govision.dev

go 1.26

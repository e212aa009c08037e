// swift-tools-version:6.0
// The pinned swift-openapi-generator, built on its own (scratch path .build-codegen) only to write the committed
// Sources/*/Generated files from openapi.yaml and to check that they are current (`generate.sh`). The product's
// own build never compiles the generator: that took minutes of every fresh `make run` (issue 17).
import PackageDescription

let package = Package(
    name: "codegen",
    dependencies: [.package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3")],
    targets: []
)

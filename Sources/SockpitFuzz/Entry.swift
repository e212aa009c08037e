import Foundation

/// libFuzzer's entry point, when built with `--sanitize fuzzer -Xswiftc -DFUZZING` (`make fuzz`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTargets.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if !FUZZING
/// Built without libFuzzer: runs the inputs named on the command line (files, or every file of a directory)
/// through the same parsers — how a crash libFuzzer saved is replayed in a debugger.
@main
enum Replay {
    static func main() throws {
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory)
            let files = isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: argument).sorted().map { argument + "/" + $0 } : [argument]
            for file in files {
                FuzzTargets.run(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
                count += 1
            }
        }
        print("replayed \(count) inputs")
    }
}
#endif

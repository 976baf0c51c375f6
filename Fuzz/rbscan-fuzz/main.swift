import RBScan

#if canImport(Glibc)
import Glibc
#endif

// The libFuzzer driver for rbscan's fuzzing targets (see `Fuzzing` and scripts/fuzz). This
// executable exists only in builds with RBSCAN_FUZZ set, compiled with -sanitize=fuzzer,address;
// RBSCAN_FUZZ_TARGET names the target (`image`, `config`, `network`, `triage`), and the
// arguments are libFuzzer's.

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

let selected: Fuzzing.Target = {
    let name = getenv("RBSCAN_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = Fuzzing.target(named: name) else {
        let names = Fuzzing.targets.map(\.name).joined(separator: ", ")
        let message = Array("rbscan-fuzz: set RBSCAN_FUZZ_TARGET to one of: \(names)\n".utf8)
        _ = message.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        exit(2)
    }
    return target
}()
_ = selected

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    let bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    selected.run(bytes)
    return 0
})

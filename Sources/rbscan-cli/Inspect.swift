import ArgumentParser
import RBCore
import RBScan

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a firmware image holds: containers, offsets, sizes, compression, filesystems.")

    @Argument(help: "The image file.")
    var image: String?

    @Flag(name: .customLong("formats"), help: "List the container formats this build reads (from the format registry, ImageFormats.all).")
    var formats = false

    @Option(help: "text or json.")
    var format: String = "text"

    @Option(name: .customLong("max-extracted"), help: "Bytes decompressed from the image at most (default 8 GiB).")
    var maxExtracted: UInt64?

    @Option(name: .customLong("spool-reserve"), help: "Bytes of free space decompression leaves on the temporary file system (TMPDIR); it stops with a diagnostic before going below (default 256 MiB, at most 5 % of that file system; 0: until it is full).")
    var spoolReserve: UInt64?

    func validate() throws {
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
        if image == nil && !formats { throw ValidationError("give an IMAGE, or --formats") }
    }

    func run() throws {
        guard let image else {
            Output.stdout(ImageFormats.markdownTable)
            return
        }
        var limits = ScanLimits()
        if let maxExtracted { limits.maxExtractedBytes = maxExtracted }
        limits.spoolReserveBytes = spoolReserve
        let analysis: ImageAnalysis
        do {
            analysis = try Inspector.analyze(image, limits: limits)
        } catch {
            Output.stderr("rbscan: \(error)\n")
            throw ExitCode(ExitStatus.usage.rawValue)
        }
        Output.stdout(format == "json" ? try Inspector.json(analysis) : Inspector.text(analysis))
        if analysis.filesystems.isEmpty { throw ExitCode(ExitStatus.usage.rawValue) }
        if analysis.diagnostics.contains(where: { $0.level == .error }) { throw ExitCode(ExitStatus.incomplete.rawValue) }
    }
}

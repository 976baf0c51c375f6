import RBCore

#if canImport(Glibc)
import Glibc
#endif

/// Turns the user's target specs into `ScanTarget`s. A directory is an extracted root filesystem;
/// a regular file is a config file (image detection by content arrives with the image readers);
/// `tls://`, `ssh://`, `http(s)://` and bare hosts are endpoints, which this build cannot probe
/// yet and reports as unsupported instead of passing them silently.
public struct TargetResolver {
    public let limits: ScanLimits

    public init(limits: ScanLimits) { self.limits = limits }

    public func resolve(_ specs: [String]) -> (targets: [ScanTarget], diagnostics: [Diagnostic]) {
        var targets: [ScanTarget] = []
        var diagnostics: [Diagnostic] = []
        var usedIDs = Set<String>()
        for spec in specs {
            if let scheme = Self.endpointScheme(spec) {
                diagnostics.append(Diagnostic(.error, .target, code: "target.unsupported",
                    "\(scheme):// endpoints are not supported by this build yet (firmware directories and config files are)",
                    at: SourceLocation(file: spec)))
                continue
            }
            let kind = HostFiles.kind(of: spec)
            do {
                let baseID = Self.uniqueID(for: spec, used: &usedIDs)
                switch kind {
                case .directory:
                    let tree = try DirectoryTree(directory: spec, limits: limits)
                    targets.append(ScanTarget(spec: spec, kind: .firmware, tree: tree, baseID: baseID,
                                              baseURI: Self.fileURI(spec, directory: true)))
                case .regularFile:
                    let tree = try DirectoryTree(file: spec)
                    let parent = spec.contains("/") ? String(spec[..<spec.lastIndex(of: "/")!]) : "."
                    targets.append(ScanTarget(spec: spec, kind: .config, tree: tree, baseID: baseID,
                                              baseURI: Self.fileURI(parent.isEmpty ? "/" : parent, directory: true)))
                case .missing:
                    if !spec.contains("/"), !spec.contains("."), spec.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                        diagnostics.append(Diagnostic(.error, .target, code: "target.unsupported",
                            "no such file or directory; host endpoints are not supported by this build yet", at: SourceLocation(file: spec)))
                    } else {
                        diagnostics.append(Diagnostic(.error, .target, code: "target.not-found",
                                                      "no such file or directory", at: SourceLocation(file: spec)))
                    }
                case .other:
                    diagnostics.append(Diagnostic(.error, .target, code: "target.unrecognised",
                        "neither a directory nor a regular file", at: SourceLocation(file: spec)))
                }
            } catch {
                diagnostics.append(Diagnostic(.error, .target, code: "target.unreadable", error.message,
                                              at: SourceLocation(file: spec)))
            }
        }
        return (targets, diagnostics)
    }

    static func endpointScheme(_ spec: String) -> String? {
        for scheme in ["tls", "ssh", "http", "https", "rtsp", "telnet"] where spec.hasPrefix(scheme + "://") {
            return scheme
        }
        return nil
    }

    /// A SARIF `uriBaseId` from the target's name: `rootfs/` → `ROOTFS`, unique in the run.
    static func uniqueID(for spec: String, used: inout Set<String>) -> String {
        let trimmed = spec.hasSuffix("/") && spec.count > 1 ? String(spec.dropLast()) : spec
        let base = trimmed.split(separator: "/").last.map(String.init) ?? "TARGET"
        var id = String(base.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        if id.isEmpty || id.first!.isNumber { id = "T_" + id }
        var candidate = id
        var n = 2
        while !used.insert(candidate).inserted {
            candidate = "\(id)_\(n)"
            n += 1
        }
        return candidate
    }

    /// `file:///abs/path/` for a host path.
    static func fileURI(_ path: String, directory: Bool) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        var absolute = String(cString: resolved)
        if directory && !absolute.hasSuffix("/") { absolute += "/" }
        var out = "file://"
        for byte in absolute.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80 && (c.isLetter || c.isNumber || "-._~/".contains(c)) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

import CSQLite
import RBCore

/// `database.credentials`: SQLite databases in the image (found by their header), opened
/// read-only in memory; columns whose name is a secret are judged value by value like config
/// credentials: plaintext or base64 fail, unsalted fast hashes are medium.
public struct DatabaseCredentialCheck: Check {
    public struct Options: Decodable, Sendable {
        /// Where databases are looked for (each candidate's header is checked).
        var paths: [String]?
        /// Rows read per column at most.
        var rows: Int?
    }

    public static let id = "database.credentials"
    public static let summary = "Reports SQLite tables holding plaintext, base64 or unsalted-hash passwords."
    public static let targetKinds: Set<TargetKind> = [.firmware, .config]

    let paths: [Glob]
    let rows: Int

    public init(options: Options) throws(CheckOptionError) {
        paths = try PathPatterns.compile(options.paths ?? ["**/*.{db,sqlite,sqlite3,db3,dat}", "etc/**", "var/lib/**", "var/db/**",
                                                            "opt/**", "usr/local/**", "home/**", "root/**", "mnt/**", "app/**"],
                                         key: "paths")
        rows = max(1, options.rows ?? 10_000)
    }

    static let header = Array("SQLite format 3\u{0}".utf8)

    public func run(in context: CheckContext) async throws -> [Observation] {
        guard let tree = context.tree else { return [] }
        var observations: [Observation] = []
        for file in context.files(matching: paths) where file.size >= 512 {
            guard let head = try? tree.read(file, limit: 16), head.bytes == DatabaseCredentialCheck.header,
                  let content = context.read(file) else { continue }
            guard let db = content.bytes.withUnsafeBytes({ rb_sqlite_open_bytes($0.baseAddress, Int64($0.count)) }) else {
                context.report("not a readable SQLite database", path: file.path, code: "check.parse-error")
                continue
            }
            defer { sqlite3_close(db) }
            for table in query(db, "SELECT name FROM sqlite_master WHERE type='table'").compactMap({ $0.first ?? nil }) {
                let quotedTable = "\"" + table.replacing("\"", with: "\"\"") + "\""
                let columns = query(db, "PRAGMA table_info(\(quotedTable))").compactMap { $0.count > 1 ? $0[1] : nil }
                for column in columns where StoredSecret.isSecretKey(column) {
                    let quotedColumn = "\"" + column.replacing("\"", with: "\"\"") + "\""
                    var counts: [String: Int] = [:]
                    var sample: String?
                    for row in query(db, "SELECT \(quotedColumn) FROM \(quotedTable) LIMIT \(rows)") {
                        guard let value = row.first ?? nil else { continue }
                        switch StoredSecret.classify(value) {
                        case .nothing, .strongHash: continue
                        case .fastHash(let algorithm): counts[algorithm == "MD5-crypt" ? "MD5-crypt hash" : "unsalted \(algorithm) hash", default: 0] += 1
                        case .reversible: counts["base64-encoded", default: 0] += 1
                        case .plaintext: counts["plaintext", default: 0] += 1
                        }
                        if sample == nil { sample = Mask.secret(value) }
                    }
                    guard !counts.isEmpty else { continue }
                    let onlyHashes = counts.keys.allSatisfy { $0.hasPrefix("unsalted") }
                    let summary = counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                    observations.append(Observation(
                        severity: onlyHashes ? .medium : nil,
                        message: "SQLite table '\(table)' column '\(column)' stores passwords: \(summary)",
                        location: Location(path: file.path),
                        evidence: Evidence(key: "db:\(table).\(column)", snippet: sample.map { "\(column) = \($0)" },
                                           facts: ["table": table, "column": column])))
                }
            }
        }
        return observations
    }

    /// Rows of text (NULL as nil).
    private func query(_ db: OpaquePointer, _ sql: String) -> [[String?]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { return [] }
        defer { sqlite3_finalize(statement) }
        var result: [[String?]] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            let count = sqlite3_column_count(statement)
            result.append((0..<count).map { i in
                sqlite3_column_text(statement, i).map { String(cString: $0) }
            })
        }
        return result
    }
}

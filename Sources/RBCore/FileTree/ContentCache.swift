import Synchronization

/// Shared by every rule scanning one target, so that rules reading the same files (several rules
/// look at every text file of an image) read each file once: it remembers which files are binary
/// and keeps the content of small text files within a byte budget. Rules scan files in path
/// order, so once the budget is full new files are not kept (evicting the oldest would make a
/// later rule's scan miss on every file).
public final class ContentCache: Sendable {
    public enum Entry: Sendable {
        case binary
        case text(FileContent)
    }

    struct State {
        var binary = Set<String>()
        var texts: [String: FileContent] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    /// Bytes of text content kept at most.
    public let budget: Int
    /// Files larger than this are never kept.
    public let largestFile: Int

    public init(budget: Int = 64 << 20, largestFile: Int = 4 << 20) {
        self.budget = budget
        self.largestFile = largestFile
    }

    public func lookup(_ path: String) -> Entry? {
        state.withLock { state in
            if state.binary.contains(path) { return .binary }
            return state.texts[path].map(Entry.text)
        }
    }

    public func storeBinary(_ path: String) {
        _ = state.withLock { $0.binary.insert(path) }
    }

    public func storeText(_ path: String, _ content: FileContent) {
        let size = content.bytes.count
        guard size <= largestFile else { return }
        state.withLock { state in
            guard state.texts[path] == nil, state.bytes + size <= budget else { return }
            state.texts[path] = content
            state.bytes += size
        }
    }
}

/// Ascending positions in a tree's index (`PathIndex.entries`): a sorted list of `Int32`, or a
/// bitset with a rank per word when that is smaller (more than one position in 32 selected). A
/// 200,000-file image has a dozen whole-tree selections and glob answers kept for the scan: as
/// `[Int]` they took 25 MB, as lists 12 MB, as bitsets 0.3 MB.
///
/// Iterating is sequential for both; `subscript` on a bitset finds the word by binary search
/// over the ranks (logarithmic, not constant: iterate rather than index where it matters).
public struct Positions: RandomAccessCollection, Sendable, Equatable {
    fileprivate enum Storage: Sendable {
        case list([Int32])
        /// Bit p of `words` set for position p; `ranks[w]`: the positions in words before w.
        case bits(words: [UInt64], ranks: [Int32], count: Int)
    }
    private let storage: Storage

    public init() { self.init(storage: .list([])) }

    /// `positions`, which must be ascending and each below `Int32.max` (an index holds at most
    /// `ScanLimits.maxEntries`, 2,000,000 by default).
    public init(_ positions: some Sequence<Int>) {
        self.init(sorted: positions.map { Int32(truncatingIfNeeded: $0) })
    }

    /// Ascending positions, kept in whichever form is smaller.
    init(sorted list: [Int32]) {
        guard list.count > 64, let last = list.last, Int(last) / 32 + 1 < list.count else {
            self.init(storage: .list(list))
            return
        }
        var words = [UInt64](repeating: 0, count: Int(last) / 64 + 1)
        for position in list { words[Int(position) >> 6] |= UInt64(1) << UInt64(position & 63) }
        self.init(words: words)
    }

    private init(words: [UInt64]) {
        var ranks: [Int32] = []
        ranks.reserveCapacity(words.count)
        var count = 0
        for word in words {
            ranks.append(Int32(count))
            count += word.nonzeroBitCount
        }
        self.init(storage: .bits(words: words, ranks: ranks, count: count))
    }

    private init(storage: Storage) { self.storage = storage }

    /// The positions in any of `lists`, each once, ascending.
    public static func union(_ lists: [Positions]) -> Positions {
        guard lists.count > 1 else { return lists.first ?? Positions() }
        let end = lists.compactMap(\.last).max().map { $0 + 1 } ?? 0
        var words = [UInt64](repeating: 0, count: (end + 63) / 64)
        for list in lists {
            switch list.storage {
            case .list(let positions):
                for position in positions { words[Int(position) >> 6] |= UInt64(1) << UInt64(position & 63) }
            case .bits(let theirs, _, _):
                for (w, word) in theirs.enumerated() { words[w] |= word }
            }
        }
        let union = Positions(words: words)
        // Sparse after all: as a list.
        return union.count * 32 > end ? union : Positions(sorted: union.map { Int32($0) })
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int {
        switch storage {
        case .list(let list): list.count
        case .bits(_, _, let count): count
        }
    }

    public subscript(i: Int) -> Int {
        switch storage {
        case .list(let list):
            return Int(list[i])
        case .bits(let words, let ranks, let count):
            precondition(i >= 0 && i < count, "Positions index out of range")
            // The last word whose rank is at most i holds the i-th position.
            var low = 0, high = ranks.count
            while high - low > 1 {
                let mid = (low + high) / 2
                if Int(ranks[mid]) <= i { low = mid } else { high = mid }
            }
            var word = words[low]
            for _ in 0..<(i - Int(ranks[low])) { word &= word - 1 }
            return low * 64 + word.trailingZeroBitCount
        }
    }

    public struct Iterator: IteratorProtocol {
        fileprivate let storage: Storage
        fileprivate var following = 0
        fileprivate var word: UInt64 = 0

        public mutating func next() -> Int? {
            switch storage {
            case .list(let list):
                guard following < list.count else { return nil }
                following += 1
                return Int(list[following - 1])
            case .bits(let words, _, _):
                // `following`: the word after the one `word` holds the rest of.
                while word == 0 {
                    guard following < words.count else { return nil }
                    word = words[following]
                    following += 1
                }
                let bit = word.trailingZeroBitCount
                word &= word - 1
                return (following - 1) * 64 + bit
            }
        }
    }

    public func makeIterator() -> Iterator { Iterator(storage: storage) }

    /// Whether `position` is one of these.
    public func contains(_ position: Int) -> Bool {
        switch storage {
        case .list(let list):
            var low = 0, high = list.count
            let key = Int32(truncatingIfNeeded: position)
            while low < high {
                let mid = (low + high) / 2
                if list[mid] < key { low = mid + 1 } else { high = mid }
            }
            return low < list.count && list[low] == key
        case .bits(let words, _, _):
            guard position >= 0, position >> 6 < words.count else { return false }
            return words[position >> 6] & (UInt64(1) << UInt64(position & 63)) != 0
        }
    }

    public static func == (a: Positions, b: Positions) -> Bool { a.count == b.count && a.elementsEqual(b) }
}

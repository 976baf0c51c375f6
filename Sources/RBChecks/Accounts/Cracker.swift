import CCrypt
import Dispatch
import RBCore
import Synchronization

/// Verifies candidate passwords against crypt(3) hashes with libxcrypt's `crypt_rn` (and the
/// htpasswd `$apr1$` and `{SHA}` formats through OpenSSL), on several threads (one `crypt_data`
/// each), candidates in priority order, within a time budget.
struct Cracker: Sendable {
    struct Job: Sendable {
        /// The hash (a crypt setting libxcrypt can compute).
        var hash: String
        /// Candidates in the order to try them.
        var candidates: [String]
    }

    struct Outcome: Sendable {
        /// For each job, the index of the matching candidate.
        var matches: [Int: Int]
        /// Candidates tried, over all jobs.
        var tried: Int
        var total: Int
        var seconds: Double
        var timedOut: Bool
    }

    let threads: Int
    let budget: Duration

    /// Work items are (job, candidate) pairs ordered by candidate rank first, so that every
    /// account gets its most likely passwords tried before any account gets its unlikely ones.
    func run(_ jobs: [Job]) -> Outcome {
        let hashes = jobs.map { ContiguousArray($0.hash.utf8CString) }
        let candidates = jobs.map { $0.candidates.map { ContiguousArray($0.utf8CString) } }
        var items: [(Int32, Int32)] = []
        let longest = jobs.map(\.candidates.count).max() ?? 0
        items.reserveCapacity(jobs.reduce(0) { $0 + $1.candidates.count })
        for rank in 0..<longest {
            for (j, job) in jobs.enumerated() where rank < job.candidates.count {
                items.append((Int32(j), Int32(rank)))
            }
        }
        struct State {
            var next = 0
            var matches: [Int: Int] = [:]
            var tried = 0
            var timedOut = false
        }
        let state = Mutex(State())
        let start = ContinuousClock.now
        let deadline = start + budget
        let chunk = 16
        let frozenItems = items
        let htpasswd = jobs.map { $0.hash.hasPrefix("$apr1$") || $0.hash.hasPrefix("{SHA}") }
        let rawCandidates = jobs.map { $0.candidates.map { Array($0.utf8) } }
        let jobHashes = jobs.map(\.hash)
        DispatchQueue.concurrentPerform(iterations: max(1, threads)) { _ in
            guard let data = rb_crypt_data_new() else { return }
            defer { rb_crypt_data_free(data) }
            let apache = HtpasswdHashes()
            var solved = Set<Int>()
            while true {
                let (from, stop, known) = state.withLock { state -> (Int, Bool, [Int]) in
                    if state.timedOut || state.next >= frozenItems.count { return (0, true, []) }
                    if ContinuousClock.now >= deadline { state.timedOut = true; return (0, true, []) }
                    let from = state.next
                    state.next += chunk
                    return (from, false, Array(state.matches.keys))
                }
                if stop { return }
                solved.formUnion(known)
                var done = 0
                var found: [(Int, Int)] = []
                for index in from..<min(from + chunk, frozenItems.count) {
                    let (j, rank) = (Int(frozenItems[index].0), Int(frozenItems[index].1))
                    if solved.contains(j) { continue }
                    done += 1
                    let result: Int32
                    if htpasswd[j] {
                        result = apache.matches(password: rawCandidates[j][rank], hash: jobHashes[j]) == true ? 1 : 0
                    } else {
                        result = candidates[j][rank].withUnsafeBufferPointer { password in
                            hashes[j].withUnsafeBufferPointer { hash in rb_crypt_matches(password.baseAddress, hash.baseAddress, data) }
                        }
                    }
                    if result == 1 {
                        solved.insert(j)
                        found.append((j, rank))
                    } else if result < 0 {
                        solved.insert(j)   // not computable by libxcrypt: stop trying it
                    }
                }
                state.withLock { state in
                    state.tried += done
                    for (j, rank) in found where state.matches[j] == nil { state.matches[j] = rank }
                }
            }
        }
        let final = state.withLock { $0 }
        let seconds = (ContinuousClock.now - start).seconds
        return Outcome(matches: final.matches, tried: final.tried, total: items.count, seconds: seconds, timedOut: final.timedOut)
    }
}

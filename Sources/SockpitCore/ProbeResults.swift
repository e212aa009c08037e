import Storage

/// A scan's rows kept compactly: runs of consecutive closed ports become one row each (`lastPosition`), the
/// form stored and carried in a `ProbeView`; open, filtered and answered ports keep a row each.
public enum ProbeResults {
    /// Merges runs of at least two consecutive closed ports with the same errno and no detail into range rows
    /// (without per-port round-trip times). Rows must be in position order.
    static func compacted(_ rows: [ProbeResultRecord]) -> [ProbeResultRecord] {
        var out: [ProbeResultRecord] = []
        out.reserveCapacity(min(rows.count, 256))
        var runStart: Int?
        func close(_ end: Int) {
            guard let start = runStart else { return }
            runStart = nil
            if end > start {
                var range = rows[start]
                range.lastPosition = rows[end].position
                range.rttUs = nil
                out.append(range)
            } else {
                out.append(rows[start])
            }
        }
        for index in rows.indices {
            let row = rows[index]
            let mergeable = row.state == "closed" && row.detail == nil && row.lastPosition == nil
            if let start = runStart, mergeable, rows[index - 1].position + 1 == row.position, rows[start].errno == row.errno {
                continue
            }
            close(index - 1)
            if mergeable { runStart = index } else { out.append(row) }
        }
        close(rows.count - 1)
        return out
    }

    /// Every position again, one row each (range rows repeat their verdict for each port).
    public static func expanded(_ rows: [ProbeResult]) -> [ProbeResult] {
        guard rows.contains(where: { $0.lastPosition != nil }) else { return rows }
        var out: [ProbeResult] = []
        for row in rows {
            guard let last = row.lastPosition else {
                out.append(row)
                continue
            }
            var one = row
            one.lastPosition = nil
            for position in row.position...last {
                one.position = position
                out.append(one)
            }
        }
        return out
    }

    /// The closed positions: how many, and as ranges in the `ports` syntax ("1-21,23,25-79").
    public static func closed(_ rows: [ProbeResult]) -> (count: Int, ranges: String) {
        var count = 0
        var spans: [(Int, Int)] = []
        for row in rows where row.state == "closed" {
            let last = row.lastPosition ?? row.position
            count += last - row.position + 1
            if let previous = spans.last, previous.1 + 1 == row.position {
                spans[spans.count - 1].1 = last
            } else {
                spans.append((row.position, last))
            }
        }
        return (count, spans.map { $0.0 == $0.1 ? "\($0.0)" : "\($0.0)-\($0.1)" }.joined(separator: ","))
    }
}

import Glibc

extension Database {
    /// Bytes on disk: the database file plus its WAL (0 for what does not exist, e.g. `:memory:`).
    public func sizeInBytes() -> Int64 {
        var total: Int64 = 0
        for file in [path, path + "-wal"] {
            var info = stat()
            if stat(file, &info) == 0 { total += Int64(info.st_size) }
        }
        return total
    }
}

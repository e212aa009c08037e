import Glibc
import SystemPackage

/// A detached POSIX thread running one closure: for the work that must not run on Swift's cooperative pool
/// (an event loop, a namespace's thread, a call that blocks: getaddrinfo, a lingering close). STYLE.md rule 10.
enum DetachedThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    /// Starts `body` on a thread of its own; throws the errno `pthread_create` answered when there is none (and
    /// `body` does not run).
    static func start(_ body: @escaping () -> Void) throws(Errno) {
        let context = Unmanaged.passRetained(Body(body))
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context.toOpaque())
        guard code == 0 else {
            context.release()
            throw Errno(rawValue: code)
        }
        pthread_detach(thread)
    }
}

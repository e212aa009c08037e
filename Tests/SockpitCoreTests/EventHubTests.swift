import Storage
import Testing
@testable import SockpitCore

/// The live-event hub: filters, bounded buffers, heartbeats, shutdown.
@Suite struct EventHubTests {
    static func events(_ ids: ClosedRange<Int64>, op: String = "send", socket: String = "sk_a") -> [Event] {
        ids.map { id in
            var record = EventRecord(at: id, socketID: socket, op: op, outcome: "ok")
            record.id = id
            return Event(record)
        }
    }

    @Test("A subscriber gets only matching events, in order, whether it was waiting or not")
    func filtersAndOrder() async {
        let hub = EventHub(bufferLimit: 100)
        let subscription = hub.subscribe(EventFilter(socketID: "sk_a", op: "send"))
        hub.publish(Self.events(1...3) + Self.events(4...4, op: "close") + Self.events(5...5, socket: "sk_b"))
        #expect(await subscription.next() == .events(Self.events(1...3)))
        let waiting = Task { await subscription.next() }
        hub.publish(Self.events(6...7))
        #expect(await waiting.value == .events(Self.events(6...7)))
        #expect(hub.lastPublishedID == 7)
        subscription.cancel()
        #expect(hub.subscriberCount == 0)
    }

    @Test("A subscriber that falls more than bufferLimit behind gets what fits, then ends as slow-consumer; the hub drops it")
    func slowConsumerEnds() async {
        let hub = EventHub(bufferLimit: 10)
        let subscription = hub.subscribe(EventFilter())
        hub.publish(Self.events(1...6))
        hub.publish(Self.events(7...25))
        #expect(hub.subscriberCount == 0)
        #expect(await subscription.next() == .events(Self.events(1...10)))
        #expect(await subscription.next() == .ended(.slowConsumer))
        #expect(await subscription.next() == .ended(.slowConsumer))
    }

    @Test("An idle subscriber is woken by a heartbeat; shutdown ends every subscription")
    func heartbeatAndShutdown() async {
        let hub = EventHub(bufferLimit: 10, heartbeatInterval: .milliseconds(20))
        hub.start()
        let subscription = hub.subscribe(EventFilter())
        #expect(await subscription.next() == .heartbeat)
        let waiting = Task { () -> [EventSubscription.Delivery] in
            var deliveries: [EventSubscription.Delivery] = []
            while true {
                let next = await subscription.next()
                if next == .heartbeat { continue }
                deliveries.append(next)
                if case .ended = next { return deliveries }
            }
        }
        hub.shutdown()
        #expect(await waiting.value == [.ended(.serverShutdown)])
        let late = hub.subscribe(EventFilter())
        #expect(await late.next() == .ended(.serverShutdown))
    }

    @Test("Cancelling the reading task ends its wait with cancelled")
    func cancellation() async {
        let hub = EventHub(bufferLimit: 10)
        let subscription = hub.subscribe(EventFilter())
        let reader = Task { await subscription.next() }
        reader.cancel()
        #expect(await reader.value == .ended(.cancelled))
        #expect(hub.subscriberCount == 0)
    }

    @Test("Admission is checked and taken at once: 64 racing requests for 10 slots get exactly 10; a slot left unused comes back")
    func admissionCannotOvershoot() async {
        let hub = EventHub(bufferLimit: 100)
        let granted = await withTaskGroup(of: StreamAdmission?.self) { group in
            for _ in 0..<64 { group.addTask { hub.admit(limit: 10) } }
            var all: [StreamAdmission] = []
            for await admission in group { if let admission { all.append(admission) } }
            return all
        }
        #expect(granted.count == 10)
        #expect(hub.admit(limit: 10) == nil)
        // Subscribing turns a slot into a subscriber: the count does not move.
        let subscription = hub.subscribe(EventFilter(), admission: granted[0])
        #expect(hub.streamCount == 10 && hub.subscriberCount == 1)
        subscription.cancel()
        #expect(hub.streamCount == 9)
        // A slot never used (the client left before the stream began) is given back when it goes.
        var spare: StreamAdmission? = hub.admit(limit: 10)
        #expect(spare != nil && hub.streamCount == 10)
        spare = nil
        #expect(hub.streamCount == 9)
        _ = spare
        withExtendedLifetime(granted) {}
    }
}

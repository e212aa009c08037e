import FoundationEssentials
import SockpitCore
import SockpitContract

extension APIHandler {
    /// `GET /v1/health`.
    func getHealth(_ input: Operations.GetHealth.Input) async throws -> Operations.GetHealth.Output {
        .ok(.init(body: .json(healthDocument())))
    }

    /// The health document.
    func healthDocument() -> Components.Schemas.Health {
        let report = runtime.health()
        let seconds = report.uptime.components
        let uptimeMs = Double(seconds.seconds) * 1000 + Double(seconds.attoseconds) / 1e15
        return .init(
            tokenRequired: tokenRequired,
            status: report.databaseOK ? .ok : .degraded,
            version: report.version,
            uptimeMs: (uptimeMs * 1000).rounded() / 1000,
            startedAt: report.startedAt,
            database: .init(path: report.databasePath, schemaVersion: report.schemaVersion, ok: report.databaseOK)
        )
    }

    /// `GET /v1/capabilities`.
    func getCapabilities(_ input: Operations.GetCapabilities.Input) async throws -> Operations.GetCapabilities.Output {
        let report = runtime.capabilities
        let kinds = report.socketKinds.map { kind in
            Components.Schemas.SocketKind(
                family: kind.family, _type: kind.type, _protocol: kind.protocol, supported: kind.supported,
                errno: kind.errno, message: kind.message)
        }
        return .ok(.init(body: .json(.init(
            rawSockets: .init(netlinkWrites: report.raw.netlinkWrites, packetSockets: report.raw.packetSockets, protocols: report.raw.protocols,
                              allowSpoofing: report.raw.allowSpoofing, sendRate: report.raw.sendRate),
            netnsAllowed: report.netnsAllowed,
            history: historySettings(),
            targetPolicy: .init(allow: report.targetRules.allow, deny: report.targetRules.deny,
                                defaultDeny: report.targetRules.defaultDeny),
            unixSocketsDirectory: report.unixSocketsDirectory,
            socketKinds: kinds,
            privileges: .init(
                uid: report.uid, capNetRaw: report.privileges.netRaw, capNetAdmin: report.privileges.netAdmin,
                effectiveCapabilities: String(report.privileges.effective, radix: 16)),
            limits: .init(
                maxPortsPerProbe: report.probeLimits.maxPortsPerProbe,
                maxConcurrentProbes: report.probeLimits.maxConcurrentProbes,
                maxProbeConcurrency: report.probeLimits.maxConcurrency,
                probeDeadlineMs: Int(report.probeLimits.deadline.components.seconds * 1000),
                maxWaitMs: report.limits.maxWaitMs,
                maxSendBytes: report.limits.maxSendBytes, maxReceiveBytes: report.limits.maxReceiveBytes,
                maxOpenSockets: report.limits.maxOpenSockets, maxRequestBodyBytes: report.limits.maxRequestBodyBytes,
                maxConnections: report.limits.maxConnections, httpThreads: report.limits.httpThreads),
            versions: .init(sockpit: report.version, libmicrohttpd: report.httpLibraryVersion, sqlite: report.sqliteVersion)
        ))))
    }

    /// `GET /v1/netns`: the allowed namespaces that exist now, by name, a page at a time.
    func listNetworkNamespaces(_ input: Operations.ListNetworkNamespaces.Input) async throws -> Operations.ListNetworkNamespaces.Output {
        let limit = try Paging.limit(input.query.limit)
        let after = input.query.cursor
        if let after, after.unicodeScalars.count > 255 {
            throw APIProblem.validation("cursor is longer than 255 characters: pass a next_cursor as it was given", field: "cursor")
        }
        let rest = runtime.sockets.policy.namespaces.list().filter { after == nil || $0.name > after! }
        let page = rest.prefix(limit)
        return .ok(.init(body: .json(.init(
            items: page.map { .init(name: $0.name, inode: $0.inode.map { Int64(bitPattern: $0) }) },
            nextCursor: rest.count > limit ? page.last?.name : nil))))
    }

    /// Retention and event-stream settings, as `GET /v1/capabilities` shows them.
    private func historySettings() -> Components.Schemas.HistorySettings {
        let retention = runtime.retention.settings
        let streams = runtime.streamSettings
        func seconds(_ duration: Duration) -> Int { Int(duration.components.seconds) }
        func ms(_ duration: Duration) -> Int { Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000) }
        return .init(
            retentionDays: retention.maxAge.map { seconds($0) / 86_400 }, retentionMaxEvents: retention.maxEvents,
            retentionIntervalS: seconds(retention.interval), streamHeartbeatS: seconds(streams.heartbeatInterval),
            streamBufferEvents: streams.bufferLimit, streamMaxSubscribers: streams.maxSubscribers,
            streamMaxDurationMs: streams.maxDuration.map(ms))
    }
}

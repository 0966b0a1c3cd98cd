/// What a machine shows of itself while it runs and when it stops, and the console
/// checks a CI boot test needs. All of it is off by default, and then the run loop takes
/// the same path it would without any of it (see `Machine.runLoop`).
public struct Instrumentation: Sendable {
    /// Time 0 of trace lines and of the boot timeline: the process start, as the
    /// command line reads `MonotonicClock` first thing.
    public var origin: UInt64
    /// What `--trace` shows.
    public var trace: TraceCategories
    /// Where trace lines go; required when `trace` is not empty.
    public var traceWriter: TraceWriter?
    /// Whether to collect `MachineStatistics` (`--stats`, `--stats-json`).
    public var collectsStatistics: Bool
    /// A string whose first appearance on the console is a timeline milestone.
    public var readyMarker: String?
    /// A string whose appearance on the console stops the machine
    /// (`StopReason.expectedOutput`).
    public var expectedOutput: String?
    /// Seconds after which a machine still running is stopped (`StopReason.timedOut`).
    public var timeout: Double?
    /// Called when the guest writes Firecracker's boot timer (`BootTimer`), which the
    /// machine then has at `Layout.bootTimer`: the wall time since `origin` and the CPU
    /// time the process has used, in nanoseconds. Nil: no boot timer.
    public var bootTimer: (@Sendable (_ wall: UInt64, _ cpu: UInt64) -> Void)?

    /// Instrumentation with the given parts; by default, none.
    public init(
        origin: UInt64 = MonotonicClock.now(), trace: TraceCategories = [], traceWriter: TraceWriter? = nil,
        collectsStatistics: Bool = false, readyMarker: String? = nil, expectedOutput: String? = nil,
        timeout: Double? = nil, bootTimer: (@Sendable (_ wall: UInt64, _ cpu: UInt64) -> Void)? = nil
    ) {
        self.origin = origin
        self.trace = trace
        self.traceWriter = traceWriter
        self.collectsStatistics = collectsStatistics
        self.readyMarker = readyMarker
        self.expectedOutput = expectedOutput
        self.timeout = timeout
        self.bootTimer = bootTimer
    }

    /// The tracer, if tracing is on.
    var tracer: Tracer? {
        guard !trace.isEmpty, let traceWriter else { return nil }
        return Tracer(categories: trace, origin: origin, writer: traceWriter)
    }

    /// Whether the console output must be watched.
    var watchesConsole: Bool {
        collectsStatistics || readyMarker != nil || expectedOutput != nil || timeout != nil
    }
}

import KVM

extension ExitHandler {
    /// The name of the device an I/O or MMIO exit reaches, or nil (no device answers
    /// there, or the exit is not an access). For traces and statistics.
    func deviceName(for exit: VCPUExit) -> String? {
        switch exit {
        case .portIO(let io): return portBus.deviceName(at: UInt64(io.port))
        case .mmio(let access): return mmioBus.deviceName(at: access.address)
        default: return nil
        }
    }
}

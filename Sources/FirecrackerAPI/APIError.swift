/// A request the API refuses, with the status and the `fault_message` Firecracker's
/// API server would give (400 for anything wrong with the request or the state).
public struct APIError: Error, Equatable, CustomStringConvertible {
    public let status: Int
    public let message: String

    public init(_ message: String, status: Int = 400) {
        self.status = status
        self.message = message
    }

    public var description: String { message }

    /// A body that is not the JSON the resource takes (Firecracker's `SerdeJson` error).
    static func body(_ detail: String) -> APIError {
        APIError("An error occurred when deserializing the json body of a request: \(detail).")
    }

    /// What SwiftVMM does not do, said as such.
    static func unsupported(_ what: String) -> APIError {
        APIError("SwiftVMM does not support \(what).")
    }

    /// A pre-boot resource sent after InstanceStart (Firecracker's message).
    static let afterStart = APIError("The requested operation is not supported after starting the microVM.")
    /// A post-boot operation sent before InstanceStart (Firecracker's message).
    static let beforeStart = APIError("The requested operation is not supported before starting the microVM.")
}

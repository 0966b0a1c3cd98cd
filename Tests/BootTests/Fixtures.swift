import CUAPI
import Foundation
@testable import Boot

/// The project's own kernel images (guest-images/testguest, rebuilt by its build.sh),
/// and ways to break them: each broken image differs from a real one in one field.
enum Fixtures {
    static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    /// The test guest behind a bzImage setup header (boot protocol 2.15).
    static let bzImage = load("guest-images/testguest/testguest.img")
    /// The same guest as an ELF executable, like a vmlinux.
    static let elf = load("guest-images/testguest/testguest.elf")

    static func load(_ relativePath: String) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: root + "/" + relativePath) else {
            fatalError("fixture \(relativePath) is missing; run guest-images/testguest/build.sh")
        }
        return [UInt8](data)
    }

    /// `image` with the little-endian integer `value` stored at `offset`.
    static func patch<T: FixedWidthInteger & BitwiseCopyable>(_ image: [UInt8], _ value: T, at offset: Int) -> [UInt8] {
        var fields = ByteFields(image)
        fields.write(value, at: offset)
        return fields.bytes
    }

    // MARK: ELF offsets, from the kernel's own structs (linux/elf.h)

    static func ehdr<T>(_ path: KeyPath<CUAPI.Elf64_Ehdr, T>) -> Int {
        MemoryLayout<CUAPI.Elf64_Ehdr>.offset(of: path)!
    }

    /// The offset of field `path` of program header `index` in `image`.
    static func phdr<T>(_ image: [UInt8], _ index: Int, _ path: KeyPath<CUAPI.Elf64_Phdr, T>) -> Int {
        let fields = ByteFields(image)
        let table = Int(fields.read(UInt64.self, at: ehdr(\.e_phoff))!)
        let size = Int(fields.read(UInt16.self, at: ehdr(\.e_phentsize))!)
        return table + index * size + MemoryLayout<CUAPI.Elf64_Phdr>.offset(of: path)!
    }

    static func read<T: FixedWidthInteger>(_ type: T.Type, _ image: [UInt8], at offset: Int) -> T {
        ByteFields(image).read(type, at: offset)!
    }
}

extension BootPlan {
    /// The bytes planned for `what` ("zero page", "command line", ...).
    func bytes(of what: String) -> [UInt8]? {
        writes.first { $0.what == what }.map { Array($0.bytes) }
    }

    /// The zero page as fields.
    var zeroPage: ByteFields { ByteFields(bytes(of: "zero page")!) }
}

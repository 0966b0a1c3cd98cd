import CDemoGuest

/// The demo guest built into the executable: the project's test guest
/// (guest-images/testguest), so that `swiftvmm run` with no kernel boots something.
/// Its ELF image is assembled into the executable as it is (the CDemoGuest target's
/// copy, written by guest-images/testguest/build.sh): nothing is decoded to boot it.
public enum DemoGuest {
    /// The guest's ELF image. The one pointer of this layer: the executable's read-only
    /// copy of the file, read once into an array.
    public static var image: [UInt8] {
        Array(UnsafeRawBufferPointer(start: cdemoguest_image(), count: Int(cdemoguest_image_size())))
    }
}

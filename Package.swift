// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "lockstep",
    products: [
        .executable(name: "lockstep", targets: ["lockstep"]),
        .executable(name: "lockstep-agent", targets: ["lockstep-agent"]),
        .executable(name: "lockstep-stress", targets: ["lockstep-stress"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C: the syscalls Swift cannot call directly, constants glibc does not export,
        // and the wire format shared with the agent.
        // libseccomp: the simulated kernel bugs of `selfcheck` (static in the agent).
        .target(name: "CLockstepShim", linkerSettings: [.linkedLibrary("seccomp")]),
        // The scenario process: a tiny C program that executes ops on request and
        // allocates nothing, so its address space holds only what the scenario maps.
        // Linked static and without the Swift runtime (-nostartfiles keeps SwiftPM's
        // Swift entry stub out): 10 mappings, 1 MB, and it runs in a VM's initramfs.
        .executableTarget(name: "lockstep-agent", dependencies: ["CLockstepShim"],
                          linkerSettings: [.linkedLibrary("cap"), .unsafeFlags(["-nostartfiles", "-static-executable"])]),
        // `fuzz --stress`: processes and threads racing mlock/munlock/munmap/faults/fork,
        // held quiescent for the page checks. Static like the agent.
        .executableTarget(name: "lockstep-stress",
                          linkerSettings: [.unsafeFlags(["-nostartfiles", "-static-executable"])]),
        // The reference model: pure Swift, imports nothing but the standard library.
        .target(name: "MlockModel"),
        // Typed kernel access: syscalls that throw Errno, and the agent driver.
        .target(name: "KernelInterface", dependencies: ["CLockstepShim"]),
        // Readers of what the kernel reports, and settle().
        .target(name: "KernelObserver", dependencies: ["KernelInterface", "CLockstepShim"]),
        // Scenarios, the catalog and the lockstep runner.
        .target(name: "Scenarios", dependencies: ["MlockModel", "KernelInterface", "KernelObserver"]),
        .executableTarget(name: "lockstep", dependencies: [
            "Scenarios", "KernelObserver", "KernelInterface", "MlockModel",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "MlockModelTests", dependencies: ["MlockModel"]),
        .testTarget(name: "ObserverTests", dependencies: ["KernelObserver", "KernelInterface"]),
        .testTarget(name: "LiveKernelTests", dependencies: ["Scenarios", "KernelObserver", "KernelInterface", "lockstep-agent"]),
        .testTarget(name: "ReportTests", dependencies: ["Scenarios"]),
    ]
)

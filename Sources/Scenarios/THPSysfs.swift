import KernelInterface
import MlockModel

/// The kernel's THP settings (/sys/kernel/mm/transparent_hugepage), read by the live
/// layer and handed to the model as input; written only through the SettingsJournal.
public enum THPSysfs {
    public static let base = "/sys/kernel/mm/transparent_hugepage"

    /// Whether the kernel has THP (CONFIG_TRANSPARENT_HUGEPAGE).
    public static var available: Bool { (try? readWholeFile(base + "/enabled")) != nil }

    /// hugepages-<size>kB directories with an anonymous `enabled` file, by folio order.
    public static func anonSizeFiles() -> [Int: String] {
        var out: [Int: String] = [:]
        for kb in [8, 16, 32, 64, 128, 256, 512, 1024, 2048] {
            let file = "hugepages-\(kb)kB/enabled"
            guard (try? readWholeFile(base + "/" + file)) != nil else { continue }
            var order = 0
            while (4 << order) < kb { order += 1 }
            out[order] = file
        }
        return out
    }

    /// The settings in force now.
    public static func read() -> THPSettings {
        guard let top = (try? SettingsJournal.currentValue(base + "/enabled")).flatMap(THPMode.init(rawValue:)) else {
            return .disabled
        }
        var orders: [Int: THPMode] = [:]
        for (order, file) in anonSizeFiles() {
            if let v = (try? SettingsJournal.currentValue(base + "/" + file)).flatMap(THPMode.init(rawValue:)) {
                orders[order] = v
            }
        }
        // Kernels before mTHP (6.8) have no hugepages-* files: the PMD size follows `enabled`.
        if orders.isEmpty { orders[pmdOrder] = .inherit }
        let zero = (try? SettingsJournal.currentValue(base + "/use_zero_page")) != "0"
        // shmem_enabled (absent without CONFIG_TRANSPARENT_HUGEPAGE shmem support: never);
        // hugepages-2048kB/shmem_enabled from 6.11 (before: the top level decides).
        let shmem = (try? SettingsJournal.currentValue(base + "/shmem_enabled")).flatMap(ShmemHuge.init(rawValue:)) ?? .never
        let shmemPMD = (try? SettingsJournal.currentValue(base + "/" + shmemPMDFile)).flatMap(ShmemHuge.init(rawValue:)) ?? .inherit
        return THPSettings(enabled: top, anonOrders: orders, useZeroPage: zero, shmemEnabled: shmem, shmemPMD: shmemPMD)
    }

    static let shmemPMDFile = "hugepages-2048kB/shmem_enabled"

    /// Every shmem_enabled file (top level and each size), relative to `base`: what
    /// LOCKSTEP_THP=never turns off too.
    public static func shmemFiles() -> [String] {
        ["shmem_enabled"] + [8, 16, 32, 64, 128, 256, 512, 1024, 2048].map { "hugepages-\($0)kB/shmem_enabled" }
            .filter { (try? readWholeFile(base + "/" + $0)) != nil }
    }

    /// Every `enabled` file (top level and each size), relative to `base`.
    public static func enabledFiles() -> [String] {
        ["enabled"] + anonSizeFiles().sorted { $0.key < $1.key }.map(\.value)
    }
}

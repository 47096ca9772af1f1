// The benchmark contract (device_apps/contract): Documents/spec.json in, Documents/result.json out.
// Mirrors flint_bench/bench/worker.py: load, one step, warm-up, `repeats` timed passes over the
// batches, per-step wall times, the same summary statistics.
import CryptoKit
import Foundation
import UIKit

typealias JSON = [String: Any]  // heterogeneous literals need this annotation in Swift

func orNull(_ value: Any?) -> Any { value ?? NSNull() }

struct Spec: Decodable {
  struct Model: Decodable { let name, format, artifact, sha256, method: String }
  struct Input: Decodable { let name, dtype: String; let shape: [Int]; let low, high: Double? }
  struct Data: Decodable { let features: Int; let inputs: [Input] }
  let schema_version, run_id: String
  let model: Model
  let data: Data
  let examples, batch_size, epochs, warmup_steps, repeats, seed: Int
  let learning_rate: Double
}

/// SplitMix64: a seeded generator, so a spec's seed gives the same batches on every phone.
struct SeededGenerator: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

enum Benchmark {
  static var documents: URL { FileManager.default.urls(for: .documentDirectory, in: .userDomainMask)[0] }

  /// What UIKit knows about the phone, read on the main thread before training starts.
  struct Snapshot {
    let device: JSON
    let conditions: JSON
  }

  @MainActor static func snapshot() -> Snapshot {
    let device = UIDevice.current
    device.isBatteryMonitoringEnabled = true
    let battery: Double? = device.batteryLevel >= 0 ? Double(device.batteryLevel * 100) : nil
    let thermal = ["nominal", "fair", "serious", "critical"][ProcessInfo.processInfo.thermalState.rawValue]
    var sys = utsname()
    uname(&sys)
    let machine = withUnsafeBytes(of: &sys.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    let info: JSON = ["id": device.identifierForVendor?.uuidString ?? machine, "farm": "ios-app", "manufacturer": "Apple",
                      "model": machine, "soc": NSNull(), "os": device.systemName, "os_version": device.systemVersion, "abi": "arm64",
                      "cores": ProcessInfo.processInfo.activeProcessorCount,
                      "memory_mb": Double(ProcessInfo.processInfo.physicalMemory) / 1_048_576, "emulator": isSimulator]
    let conditions: JSON = ["battery_percent": orNull(battery), "charging": device.batteryState == .charging || device.batteryState == .full,
                            "thermal_state": thermal, "cooldown_seconds": NSNull()]
    return Snapshot(device: info, conditions: conditions)
  }

  static var specURL: URL { documents.appendingPathComponent("spec.json") }

  /// The spec's run id and model, read leniently (a spec that does not decode may still name them).
  static func peekSpec() -> [String: Any] {
    guard let data = try? Foundation.Data(contentsOf: specURL),
          let doc = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
    return doc
  }

  /// What identifies one benchmark: the run and the model (one run benchmarks its models one by one).
  static func specKey() -> String? {
    let doc = peekSpec()
    guard let runId = doc["run_id"] as? String else { return nil }
    return "\(runId)/\((doc["model"] as? [String: Any])?["sha256"] as? String ?? "")"
  }

  /// The run id of this launch: the spec's, else the launch argument `-flintRunId <id>` the host may pass.
  static func runId(_ spec: Spec?) -> String {
    spec?.run_id ?? (peekSpec()["run_id"] as? String) ?? UserDefaults.standard.string(forKey: "flintRunId") ?? "unknown"
  }

  /// A failed record (every section the schema requires) written like a result; returns the JSON text.
  static func failure(_ phone: Snapshot, kind: String, message: String) -> String {
    var record = blankRecord(spec: nil, phone: phone, started: now())
    record["error"] = ["kind": kind, "message": message]
    return write(record)
  }

  /// Runs the spec in Documents and writes Documents/result.json (atomically); returns the JSON text.
  static func run(_ phone: Snapshot) -> String {
    let started = now()
    var record: JSON = [:]
    do {
      let specData = try Foundation.Data(contentsOf: specURL)
      let spec = try JSONDecoder().decode(Spec.self, from: specData)
      record = blankRecord(spec: spec, phone: phone, started: started)
      try train(spec: spec, into: &record)
      record["status"] = "ok"
    } catch {
      if record.isEmpty { record = blankRecord(spec: nil, phone: phone, started: started) }
      record["status"] = "failed"
      record["error"] = ["kind": "runtime", "message": error.localizedDescription]
    }
    record["timestamps"] = ["started": started, "finished": now()]
    return write(record)
  }

  static func write(_ record: JSON) -> String {
    let json = (try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])) ?? Foundation.Data("{}".utf8)
    try? json.write(to: documents.appendingPathComponent("result.json"), options: .atomic)
    return String(decoding: json, as: UTF8.self)
  }

  /// Seconds of a monotonic clock (ContinuousClock keeps counting while the phone sleeps; never jumps back).
  static let clock = ContinuousClock()
  static func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = clock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
  }

  static func train(spec: Spec, into record: inout JSON) throws {
    let program = documents.appendingPathComponent(spec.model.artifact)
    let bytes = try Foundation.Data(contentsOf: program)
    let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    guard digest == spec.model.sha256 else {
      throw NSError(domain: "flint", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(spec.model.artifact): sha256 does not match the spec"])
    }
    // the app reads no .npz: it synthesizes batches from data.inputs (shape, dtype, range), as the contract allows
    var rng = SeededGenerator(state: UInt64(bitPattern: Int64(spec.seed)))
    let steps = max((spec.examples - spec.batch_size) / spec.batch_size + 1, 1)
    let batches = (0..<steps).map { _ in spec.data.inputs.map { makeTensor($0, &rng) } }

    let baseline = footprintMB()
    let t0 = clock.now
    let trainer = try FLTTrainer(programPath: program.path, method: spec.model.method, learningRate: spec.learning_rate)
    var loss: Float = 0
    try trainer.step(withInputs: batches[0], loss: &loss)
    let firstLoss = loss
    let loadSeconds = seconds(since: t0)
    for i in 0..<spec.warmup_steps { try trainer.step(withInputs: batches[i % batches.count], loss: &loss) }

    var stepSeconds: [[Double]] = [], stepExamples: [[Int]] = []
    var peak = footprintMB()
    for _ in 0..<spec.repeats {
      var times: [Double] = [], sizes: [Int] = []
      for _ in 0..<spec.epochs {
        for batch in batches {
          let t = clock.now
          try trainer.step(withInputs: batch, loss: &loss)
          times.append(seconds(since: t))
          sizes.append(spec.batch_size)
        }
      }
      peak = max(peak, footprintMB())
      stepSeconds.append(times)
      stepExamples.append(sizes)
    }
    let perExample = zip(stepSeconds.joined(), stepExamples.joined()).map { $0 / Double($1) }
    let per5000 = zip(stepSeconds, stepExamples).map { $0.reduce(0, +) / Double($1.reduce(0, +)) * 5000 }
    let s5000 = summarize(per5000)
    let seconds5000: JSON = ["mean": s5000["mean"]!, "std": s5000["std"]!, "values": per5000]
    let timing: JSON = ["step_seconds": stepSeconds, "step_examples": stepExamples, "per_example_seconds": summarize(perExample),
                        "seconds_per_5000": seconds5000, "load_seconds": loadSeconds]
    record["timing"] = timing
    record["loss"] = ["first": Double(firstLoss), "last": Double(loss)]
    let memory: JSON = ["peak_mb": peak, "baseline_mb": baseline, "peak_delta_mb": max(0, peak - baseline),
                        "method": "phys_footprint (task_vm_info) after each repeat"]
    record["memory"] = memory
  }

  static func makeTensor(_ input: Spec.Input, _ rng: inout SeededGenerator) -> FLTTensor {
    let count = input.shape.reduce(1, *)
    let low = input.low ?? 0, high = input.high ?? 1
    var data = Foundation.Data()
    if input.dtype == "int64" {
      let values = (0..<count).map { _ in Int64.random(in: Int64(low)...Int64(high), using: &rng) }
      values.withUnsafeBufferPointer { data.append($0) }
    } else {
      let values = (0..<count).map { _ in Float(low == high ? low : Double.random(in: low..<high, using: &rng)) }
      values.withUnsafeBufferPointer { data.append($0) }
    }
    return FLTTensor(data: data, shape: input.shape.map { NSNumber(value: $0) }, isInt64: input.dtype == "int64")
  }

  /// The same statistics as flint_bench.stats.summarize (sample std, linear percentiles, 10% trimmed mean).
  static func summarize(_ x: [Double]) -> JSON {
    let n = x.count
    guard n > 0 else { return ["n": 0, "mean": NSNull(), "std": NSNull(), "min": NSNull(), "max": NSNull(), "p50": NSNull(),
                               "p90": NSNull(), "p99": NSNull(), "trimmed_mean": NSNull(), "cv": NSNull()] }
    let s = x.sorted(), mean = x.reduce(0, +) / Double(n)
    let std = n > 1 ? (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)).squareRoot() : 0
    func pct(_ p: Double) -> Double {
      let r = p / 100 * Double(n - 1), lo = Int(r.rounded(.down)), hi = min(lo + 1, n - 1)
      return s[lo] + (s[hi] - s[lo]) * (r - Double(lo))
    }
    let cut = Int((Double(n) * 0.1).rounded(.down))
    let kept = n - 2 * cut > 0 ? Array(s[cut..<(n - cut)]) : s
    return ["n": n, "mean": mean, "std": std, "min": s[0], "max": s[n - 1], "p50": pct(50), "p90": pct(90), "p99": pct(99),
            "trimmed_mean": kept.reduce(0, +) / Double(kept.count), "cv": orNull(mean != 0 ? std / mean : nil)]
  }

  static func footprintMB() -> Double {
    var info = task_vm_info_data_t()
    var count = mach_msg_type_number_t(MemoryLayout<task_vm_info_data_t>.size / MemoryLayout<natural_t>.size)
    let kr = withUnsafeMutablePointer(to: &info) {
      $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) { task_info(mach_task_self_, task_flavor_t(TASK_VM_INFO), $0, &count) }
    }
    return kr == KERN_SUCCESS ? Double(info.phys_footprint) / 1_048_576 : 0
  }

  static func now() -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: Date())
  }

  static func blankRecord(spec: Spec?, phone: Snapshot, started: String) -> JSON {
    let null = NSNull()
    let model: JSON = ["name": spec?.model.name ?? "unknown", "format": spec?.model.format ?? "executorch-training",
                       "artifact_sha256": orNull(spec?.model.sha256), "trainable_params": null, "total_params": null,
                       "storage_bytes": null, "update_bytes": null, "task": null]
    let runtime: JSON = ["name": "executorch", "version": executorchVersion, "threads": null]
    let benchmark: JSON = ["examples": spec?.examples ?? 0, "batch_size": spec?.batch_size ?? 0, "epochs": spec?.epochs ?? 0,
                           "warmup_steps": spec?.warmup_steps ?? 0, "repeats": spec?.repeats ?? 0, "seed": spec?.seed ?? 0]
    let timing: JSON = ["step_seconds": [[Double]](), "step_examples": [[Int]](), "per_example_seconds": null,
                        "seconds_per_5000": null, "load_seconds": null]
    let cpu: JSON = ["mean_percent": null, "max_percent": null, "samples": 0, "method": "none"]
    let memory: JSON = ["peak_mb": null, "baseline_mb": null, "peak_delta_mb": null, "method": "none"]
    let host: JSON = ["commit": null, "flint_bench_version": "ios-app"]
    return [
      "schema_version": "1", "run_id": runId(spec), "status": "failed", "error": null,
      "model": model, "device": phone.device, "runtime": runtime, "conditions": phone.conditions, "benchmark": benchmark,
      "timing": timing, "loss": null, "cpu": cpu, "memory": memory,
      "network": ["download_bytes": null, "upload_bytes": null, "total_bytes": null],
      "timestamps": ["started": started, "finished": started], "host": host,
    ]
  }

  static let executorchVersion = Bundle.main.object(forInfoDictionaryKey: "FLTExecuTorchVersion") as? String ?? "unknown"

  static var isSimulator: Bool {
    #if targetEnvironment(simulator)
      return true
    #else
      return false
    #endif
  }
}

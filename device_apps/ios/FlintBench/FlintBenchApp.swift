// Launch (cold or re-activation) runs the benchmark on Documents/spec.json and shows the result JSON in
// a text view with accessibility identifier `flint_result`, which the Appium farm can read.
import SwiftUI

@main
struct FlintBenchApp: App {
  var body: some Scene {
    WindowGroup { ContentView() }
  }
}

/// One benchmark at a time: the spec being trained, and the last one finished (a cold launch may see
/// both `.task` and an `.active` phase change for the same spec; the second is not a new benchmark).
@MainActor final class Runner {
  static let shared = Runner()
  enum Decision { case start, duplicate, busy(running: String) }
  private var running: String?
  private var finished: String?

  func decide(_ key: String) -> Decision {
    if let running { return running == key ? .duplicate : .busy(running: running) }
    if finished == key { return .duplicate }
    running = key
    return .start
  }

  func done(_ key: String) {
    running = nil
    finished = key
  }
}

struct ContentView: View {
  @State private var result: String?
  @Environment(\.scenePhase) private var phase

  var body: some View {
    ScrollView {
      if let result {
        Text(result)
          .font(.system(.footnote, design: .monospaced))
          .textSelection(.enabled)
          .accessibilityIdentifier("flint_result")
      } else {
        ProgressView("Training…")
      }
    }
    .padding()
    // a cold launch: runs when the view first appears, whether or not scenePhase ever changes
    .task { start() }
    // a re-activation of the running app (Appium's activateApp after pushing a new spec)
    .onChange(of: phase) { _, newPhase in
      if newPhase == .active { start() }
    }
  }

  private func start() {
    let phone = Benchmark.snapshot()
    guard let key = Benchmark.specKey() else {
      result = Benchmark.failure(phone, kind: "runtime", message: "Documents/spec.json not found or without a run_id")
      return
    }
    switch Runner.shared.decide(key) {
    case .duplicate:
      return
    case .busy(let running):
      // this spec's own failure record; the running benchmark's result replaces it when it ends, and the
      // host reads only the record of its own run and model
      result = Benchmark.failure(phone, kind: "launch",
                                 message: "the benchmark app is busy with \(running): one benchmark at a time on a device")
    case .start:
      result = nil
      // train off the main thread so the UI (and Appium's element queries) stay responsive
      DispatchQueue.global(qos: .userInitiated).async {
        let json = Benchmark.run(phone)
        DispatchQueue.main.async {
          MainActor.assumeIsolated {
            Runner.shared.done(key)
            result = json
          }
        }
      }
    }
  }
}

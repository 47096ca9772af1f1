// Launch (or re-activate) runs the benchmark on Documents/spec.json and shows the result JSON in a
// text view with accessibility identifier `flint_result`, which the Appium farm can read.
import SwiftUI

@main
struct FlintBenchApp: App {
  var body: some Scene {
    WindowGroup { ContentView() }
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
    .onChange(of: phase) { _, newPhase in
      if newPhase == .active { start() }
    }
  }

  private func start() {
    guard FileManager.default.fileExists(atPath: Benchmark.documents.appendingPathComponent("spec.json").path) else {
      result = "{\"status\": \"failed\", \"error\": {\"kind\": \"no-spec\", \"message\": \"Documents/spec.json not found\"}}"
      return
    }
    result = nil
    let phone = Benchmark.snapshot()
    // train off the main thread so the UI (and Appium's element queries) stay responsive
    DispatchQueue.global(qos: .userInitiated).async {
      let json = Benchmark.run(phone)
      DispatchQueue.main.async { result = json }
    }
  }
}

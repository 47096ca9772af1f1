package org.flint.bench

import android.app.Activity
import android.app.ActivityManager
import android.content.Context
import android.content.Intent
import android.os.BatteryManager
import android.os.Build
import android.os.Bundle
import android.os.PowerManager
import android.util.Log
import android.widget.ScrollView
import android.widget.TextView
import java.io.File
import java.time.Instant
import org.json.JSONObject

/**
 * Launched by the host: `am start -n org.flint.bench/.BenchmarkActivity --es spec <spec.json> --es result <result.json>
 * --es run_id <id> [--ef sustained_minutes <N>]`. Defaults: spec.json and result.json in the app's external files
 * folder, which adb can write. Trains on a background thread, writes the result atomically (tmp + rename: the host
 * polls for it), logs `FLINT_RESULT <summary json>` and shows the full JSON in a view with content description
 * `flint_result`. One benchmark at a time: a launch while one runs is refused with a failure record.
 */
class BenchmarkActivity : Activity() {
    private lateinit var view: TextView

    /** The benchmark this process is running (the device-side lock). */
    private data class Run(val runId: String, val resultPath: String)

    companion object {
        private val LOCK = Any()
        private var active: Run? = null
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        view = TextView(this).apply { contentDescription = "flint_result"; text = "running…"; setTextIsSelectable(true) }
        setContentView(ScrollView(this).apply { addView(view) })
        handle(intent)
    }

    // launchMode singleTop: a second `am start` while the activity is on top arrives here
    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
        handle(intent)
    }

    private fun handle(intent: Intent) {
        val folder = getExternalFilesDir(null) ?: filesDir
        val spec = File(intent.getStringExtra("spec") ?: File(folder, "spec.json").path)
        val result = File(intent.getStringExtra("result") ?: File(folder, "result.json").path)
        // the host passes the run id too, so even an unreadable spec is answered under the right run
        val runId = intent.getStringExtra("run_id") ?: Records.peekRunId(runCatching { spec.readText() }.getOrNull()) ?: "unknown"
        val sustainedMinutes = intent.getFloatExtra("sustained_minutes", 0f).toDouble()
        val mine = Run(runId, result.absolutePath)
        val other = synchronized(LOCK) { active.also { if (it == null) active = mine } }
        if (other != null) {
            refuse(other, mine, result)
            return
        }
        Thread({
            try {
                benchmark(spec, result, runId, sustainedMinutes)
            } finally {
                synchronized(LOCK) { active = null }
            }
        }, "flint-bench").start()
    }

    /** A second benchmark while one runs: a failure record for it, never a second training beside the first. */
    private fun refuse(other: Run, mine: Run, result: File) {
        if (other == mine) return // the same launch delivered twice (e.g. the activity was recreated)
        val record = Records.fail(
            Records.blank(this, mine.runId, guard { deviceInfo() }, null, Instant.now().toString()),
            "launch",
            "the benchmark app is busy with run ${other.runId}: one benchmark at a time on a device; retry when it has finished",
        )
        // the running benchmark owns its result file: a refusal aimed at the same file is only logged
        if (mine.resultPath != other.resultPath) write(record, result) else log(record, result)
    }

    private fun benchmark(spec: File, result: File, runId: String, sustainedMinutes: Double) {
        val blank = Records.blank(this, runId, guard { deviceInfo() }, guard { conditions() }, Instant.now().toString())
        val record = try {
            Bench(spec, blank, sustainedMinutes) { thermalStatus() }.run()
        } catch (e: Throwable) { // an unreadable spec: still a valid record under the run id, so the host need not wait
            Records.fail(blank, "runtime", "unreadable spec ${spec.path}: ${e.javaClass.simpleName}: ${e.message}")
        }
        write(record, result)
    }

    private fun write(record: JSONObject, result: File) {
        val text = record.toString(1)
        val tmp = File(result.parentFile, ".${result.name}.tmp")
        tmp.writeText(text)
        tmp.renameTo(result)
        log(record, result)
        runOnUiThread { view.text = text }
    }

    // one logcat line (logcat truncates ~4 kB): the summary; the file holds the whole record
    private fun log(record: JSONObject, result: File) {
        val timing = record.optJSONObject("timing")
        val summary = JSONObject().put("run_id", record.opt("run_id")).put("status", record.opt("status")).put("error", record.opt("error"))
            .put("seconds_per_5000", timing?.optJSONObject("seconds_per_5000")?.opt("mean")).put("result", result.path)
        Log.i("flint", "FLINT_RESULT $summary")
    }

    private fun <T> guard(read: () -> T): T? = try { read() } catch (e: Exception) { Log.w("flint", "device info: $e"); null }

    private fun deviceInfo(): JSONObject {
        val memory = ActivityManager.MemoryInfo().also { (getSystemService(Context.ACTIVITY_SERVICE) as ActivityManager).getMemoryInfo(it) }
        val soc = if (Build.VERSION.SDK_INT >= 31) Build.SOC_MODEL else Build.HARDWARE
        val emulator = Build.HARDWARE in setOf("ranchu", "goldfish") || Build.FINGERPRINT.startsWith("generic")
        return JSONObject().put("id", Build.DEVICE).put("farm", "android-app")
            .put("manufacturer", Build.MANUFACTURER).put("model", Build.MODEL).put("soc", soc).put("os", "Android")
            .put("os_version", Build.VERSION.RELEASE).put("abi", Build.SUPPORTED_ABIS.firstOrNull() ?: JSONObject.NULL)
            .put("cores", Runtime.getRuntime().availableProcessors()).put("memory_mb", memory.totalMem / 1048576.0).put("emulator", emulator)
    }

    private fun thermalStatus(): Int? =
        if (Build.VERSION.SDK_INT >= 29) (getSystemService(Context.POWER_SERVICE) as PowerManager).currentThermalStatus else null

    private fun conditions(): JSONObject {
        val battery = getSystemService(Context.BATTERY_SERVICE) as BatteryManager
        val thermal = thermalStatus()?.toString()
        return JSONObject().put("battery_percent", battery.getIntProperty(BatteryManager.BATTERY_PROPERTY_CAPACITY))
            .put("charging", battery.isCharging).put("thermal_state", thermal ?: JSONObject.NULL).put("cooldown_seconds", JSONObject.NULL)
    }
}

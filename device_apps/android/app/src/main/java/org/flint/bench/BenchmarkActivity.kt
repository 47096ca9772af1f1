package org.flint.bench

import android.app.Activity
import android.app.ActivityManager
import android.content.Context
import android.os.BatteryManager
import android.os.Build
import android.os.Bundle
import android.os.PowerManager
import android.util.Log
import android.widget.ScrollView
import android.widget.TextView
import java.io.File
import org.json.JSONObject

/**
 * Launched by the host: `am start -n org.flint.bench/.BenchmarkActivity --es spec <spec.json> --es result <result.json>`.
 * Defaults: spec.json and result.json in the app's external files folder, which adb can write.
 * Trains on a background thread, writes the result atomically (tmp + rename: the host polls for it),
 * logs `FLINT_RESULT <summary json>` and shows the full JSON in a view with content description `flint_result`.
 */
class BenchmarkActivity : Activity() {
    private lateinit var view: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        view = TextView(this).apply { contentDescription = "flint_result"; text = "running…"; setTextIsSelectable(true) }
        setContentView(ScrollView(this).apply { addView(view) })
        val folder = getExternalFilesDir(null) ?: filesDir
        val spec = File(intent.getStringExtra("spec") ?: File(folder, "spec.json").path)
        val result = File(intent.getStringExtra("result") ?: File(folder, "result.json").path)
        Thread({ benchmark(spec, result) }, "flint-bench").start()
    }

    private fun benchmark(spec: File, result: File) {
        val record = try {
            Bench(spec, deviceInfo(), conditions()).run()
        } catch (e: Throwable) { // an unreadable spec: still answer, so the host does not wait for the timeout
            JSONObject().put("status", "failed").put("error", JSONObject().put("kind", "spec").put("message", "${spec.path}: ${e.message}"))
        }
        val text = record.toString(1)
        val tmp = File(result.parentFile, ".${result.name}.tmp")
        tmp.writeText(text)
        tmp.renameTo(result)
        // one logcat line (logcat truncates ~4 kB): the summary; the file holds the whole record
        val timing = record.optJSONObject("timing")
        val summary = JSONObject().put("run_id", record.opt("run_id")).put("status", record.opt("status")).put("error", record.opt("error"))
            .put("seconds_per_5000", timing?.opt("seconds_per_5000")?.let { (it as? JSONObject)?.opt("mean") }).put("result", result.path)
        Log.i("flint", "FLINT_RESULT $summary")
        runOnUiThread { view.text = text }
    }

    private fun deviceInfo(): JSONObject {
        val memory = ActivityManager.MemoryInfo().also { (getSystemService(Context.ACTIVITY_SERVICE) as ActivityManager).getMemoryInfo(it) }
        val soc = if (Build.VERSION.SDK_INT >= 31) Build.SOC_MODEL else Build.HARDWARE
        val emulator = Build.HARDWARE in setOf("ranchu", "goldfish") || Build.FINGERPRINT.startsWith("generic")
        return JSONObject().put("id", Build.SERIAL.takeUnless { it == Build.UNKNOWN } ?: Build.DEVICE).put("farm", "android-app")
            .put("manufacturer", Build.MANUFACTURER).put("model", Build.MODEL).put("soc", soc).put("os", "Android")
            .put("os_version", Build.VERSION.RELEASE).put("abi", Build.SUPPORTED_ABIS.firstOrNull())
            .put("cores", Runtime.getRuntime().availableProcessors()).put("memory_mb", memory.totalMem / 1048576.0).put("emulator", emulator)
    }

    private fun conditions(): JSONObject {
        val battery = getSystemService(Context.BATTERY_SERVICE) as BatteryManager
        val thermal = if (Build.VERSION.SDK_INT >= 29) (getSystemService(Context.POWER_SERVICE) as PowerManager).currentThermalStatus.toString() else null
        return JSONObject().put("battery_percent", battery.getIntProperty(BatteryManager.BATTERY_PROPERTY_CAPACITY))
            .put("charging", battery.isCharging).put("thermal_state", thermal ?: JSONObject.NULL).put("cooldown_seconds", JSONObject.NULL)
    }
}

package org.flint.bench

import android.content.Context
import java.time.Instant
import org.json.JSONObject

/**
 * Every record the app writes, a result or a failure, starts from `assets/record_template.json`: a
 * blank record holding every section `result.schema.json` requires. The host's tests validate that
 * same file filled the way [blank] and [fail] fill it (tests/farms/adb/test_android_record.py), so an
 * error record is as valid as a result and the host keeps the app's message.
 */
object Records {
    const val TEMPLATE = "record_template.json"

    /** The blank record of run [runId]: the template with what the app knows before reading the spec. */
    fun blank(context: Context, runId: String, device: JSONObject?, conditions: JSONObject?, started: String): JSONObject {
        val record = JSONObject(context.assets.open(TEMPLATE).bufferedReader().use { it.readText() })
        record.put("run_id", runId)
        device?.let { copyInto(record.getJSONObject("device"), it) }
        conditions?.let { copyInto(record.getJSONObject("conditions"), it) }
        record.getJSONObject("runtime").put("version", BuildConfig.EXECUTORCH_VERSION)
        record.getJSONObject("host").put("flint_bench_version", "android-app-${BuildConfig.VERSION_NAME}")
        record.getJSONObject("timestamps").put("started", started).put("finished", started)
        return record
    }

    /** Marks [record] failed with the error kind and the app's own message; the host keeps both. */
    fun fail(record: JSONObject, kind: String, message: String): JSONObject {
        record.put("status", "failed").put("error", JSONObject().put("kind", kind).put("message", message))
        record.getJSONObject("timestamps").put("finished", Instant.now().toString())
        return record
    }

    /** The spec's run id read leniently (a spec that fails to parse as a whole may still name it), else null. */
    fun peekRunId(specText: String?): String? =
        specText?.let { Regex("\"run_id\"\\s*:\\s*\"([^\"\\\\]{1,200})\"").find(it)?.groupValues?.get(1) }

    private fun copyInto(into: JSONObject, from: JSONObject) {
        for (key in from.keys()) into.put(key, from.get(key))
    }
}

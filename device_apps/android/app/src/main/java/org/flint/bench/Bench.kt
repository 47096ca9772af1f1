package org.flint.bench

import android.os.Debug
import android.os.SystemClock
import java.io.File
import java.security.MessageDigest
import java.time.Instant
import java.util.Random
import kotlin.math.floor
import kotlin.math.sqrt
import org.json.JSONArray
import org.json.JSONObject
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Tensor
import org.pytorch.executorch.training.SGD
import org.pytorch.executorch.training.TrainingModule

/**
 * The benchmark of the contract (device_apps/contract): read the spec, train the ExecuTorch training
 * program with its SGD for `examples` examples `repeats` times after `warmup_steps`, time every step,
 * and fill [record] (the blank record of [Records.blank]) into a result record (result.schema.json).
 * Mirrors flint_bench/bench/worker.py. With [sustainedMinutes] > 0 it then trains on for that long and
 * reports throughput per minute (the `sustained` section), with the thermal status [thermal] reads.
 * Every duration comes from SystemClock.elapsedRealtimeNanos: monotonic, and counting deep sleep.
 */
class Bench(
    private val specFile: File,
    private val record: JSONObject,
    private val sustainedMinutes: Double = 0.0,
    private val thermal: () -> Int? = { null },
) {
    private val spec = JSONObject(specFile.readText())

    fun run(): JSONObject {
        try {
            fill()
            train()
            record.put("status", "ok")
            record.getJSONObject("timestamps").put("finished", Instant.now().toString())
        } catch (e: CorruptModel) { // the reference worker's kind for the same failure
            Records.fail(record, "corrupt-model", e.message ?: "the model file does not match the spec")
        } catch (e: Throwable) { // every failure becomes a record, never a crash
            Records.fail(record, "runtime", "${e.javaClass.simpleName}: ${e.message}\n${e.stackTrace.take(3).joinToString("\n")}")
        }
        return record
    }

    private fun resolve(path: String): File = File(path).let { if (it.isAbsolute) it else File(specFile.parentFile, path) }

    private fun train() {
        val model = spec.getJSONObject("model")
        val artifact = resolve(model.getString("artifact"))
        val sha = MessageDigest.getInstance("SHA-256").digest(artifact.readBytes()).joinToString("") { "%02x".format(it) }
        if (sha != model.getString("sha256")) throw CorruptModel("$artifact: sha256 does not match the spec; the model file is corrupt or was replaced")
        val method = model.getString("method")
        val batches = batches()
        val lr = spec.getDouble("learning_rate")

        val memory = PssSampler().apply { start() }
        val baselineMb = Debug.getPss() / 1024.0
        val cpu0 = cpuTicks()
        val wall0 = now()

        val t0 = now()
        val module = TrainingModule.load(artifact.absolutePath)
        val firstLoss = loss(module.executeForwardBackward(method, *batches[0]))
        val sgd = SGD.create(module.namedParameters(method), lr)
        record.getJSONObject("timing").put("load_seconds", (now() - t0) / 1e9)
        sgd.step(module.namedGradients(method))
        for (i in 0 until spec.getInt("warmup_steps")) {
            module.executeForwardBackward(method, *batches[i % batches.size])
            sgd.step(module.namedGradients(method))
        }

        val stepSeconds = JSONArray()
        val stepExamples = JSONArray()
        val perExample = ArrayList<Double>()
        val per5000 = ArrayList<Double>()
        var lastLoss = firstLoss
        val batchSize = spec.getInt("batch_size")
        repeat(spec.getInt("repeats")) {
            val times = JSONArray()
            val sizes = JSONArray()
            var total = 0.0
            var examples = 0
            repeat(spec.getInt("epochs")) {
                for (batch in batches) {
                    val t = now()
                    val out = module.executeForwardBackward(method, *batch)
                    sgd.step(module.namedGradients(method))
                    val seconds = (now() - t) / 1e9
                    lastLoss = loss(out)
                    times.put(seconds); sizes.put(batchSize)
                    total += seconds; examples += batchSize
                    perExample.add(seconds / batchSize)
                }
            }
            stepSeconds.put(times); stepExamples.put(sizes)
            per5000.add(total / examples * 5000)
        }
        val wallSeconds = (now() - wall0) / 1e9
        val cpuSeconds = (cpuTicks() - cpu0) / 100.0 // USER_HZ
        if (sustainedMinutes > 0) sustained { batch -> lastLoss = loss(module.executeForwardBackward(method, *batch)); sgd.step(module.namedGradients(method)) }
        memory.stopSampling()

        val mean = per5000.average()
        val std = if (per5000.size > 1) sqrt(per5000.sumOf { (it - mean) * (it - mean) } / (per5000.size - 1)) else 0.0
        record.getJSONObject("timing").put("step_seconds", stepSeconds).put("step_examples", stepExamples)
            .put("per_example_seconds", summarize(perExample))
            .put("seconds_per_5000", JSONObject().put("mean", mean).put("std", std).put("values", JSONArray(per5000)))
        record.put("loss", JSONObject().put("first", firstLoss).put("last", lastLoss))
        record.put("cpu", JSONObject().put("mean_percent", 100 * cpuSeconds / wallSeconds).put("max_percent", JSONObject.NULL)
            .put("samples", 2).put("method", "/proc/self/stat utime+stime delta over load + training; 100 = one core"))
        val peak = memory.peakMb
        record.put("memory", JSONObject().put("peak_mb", peak).put("baseline_mb", baselineMb).put("peak_delta_mb", maxOf(0.0, peak - baselineMb))
            .put("method", "pss: Debug.getPss() every 100 ms in the app during training"))
    }

    /** Whole batches of `batch_size` (ExecuTorch programs have static shapes), at least one. */
    private fun batches(): List<Array<EValue>> {
        val data = spec.getJSONObject("data")
        val inputs = data.getJSONArray("inputs")
        val n = spec.getInt("examples")
        val b = spec.getInt("batch_size")
        val names = (0 until inputs.length()).map { inputs.getJSONObject(it).getString("name") }
        val arrays = if (data.isNull("file")) null else Npz.read(resolve(data.getString("file")), names)
        val random = Random(spec.getLong("seed"))
        return (0 until maxOf(n - b + 1, 1) step b).map { start ->
            Array(inputs.length()) { k ->
                val item = inputs.getJSONObject(k)
                val shape = item.getJSONArray("shape").let { s -> LongArray(s.length()) { s.getLong(it) } }
                val count = shape.fold(1L) { x, y -> x * y }.toInt()
                val array = arrays?.get(names[k])
                val isLong = item.getString("dtype") == "int64"
                val tensor = if (array != null) {
                    require(array.rows >= start + b) { "${names[k]} has ${array.rows} examples, the spec needs ${start + b}" }
                    val from = start * array.rowSize
                    if (isLong) Tensor.fromBlob(array.longs!!.copyOfRange(from, from + count), shape)
                    else Tensor.fromBlob(array.floats!!.copyOfRange(from, from + count), shape)
                } else { // no data file: synthesize in [low, high] as the contract allows
                    val low = item.optDouble("low", 0.0)
                    val high = item.optDouble("high", 1.0)
                    if (isLong) Tensor.fromBlob(LongArray(count) { (low + random.nextInt((high - low).toInt() + 1)).toLong() }, shape)
                    else Tensor.fromBlob(FloatArray(count) { (low + random.nextDouble() * (high - low)).toFloat() }, shape)
                }
                EValue.from(tensor)
            }
        }
    }

    private fun loss(out: Array<EValue>): Double = out[0].toTensor().dataAsFloatArray[0].toDouble()

    private fun cpuTicks(): Long = File("/proc/self/stat").readText().substringAfterLast(')').trim().split(" ").let { it[11].toLong() + it[12].toLong() }

    /** What the spec says of the model and the benchmark, into the blank record. */
    private fun fill() {
        val model = spec.getJSONObject("model")
        val bench = record.getJSONObject("benchmark")
        for (k in listOf("examples", "batch_size", "epochs", "warmup_steps", "repeats", "seed")) bench.put(k, spec.getLong(k))
        bench.put("learning_rate", spec.getDouble("learning_rate"))
        record.put("run_id", spec.getString("run_id"))
        record.getJSONObject("model").put("name", model.getString("name")).put("format", model.getString("format"))
            .put("artifact_sha256", model.getString("sha256")).put("storage_bytes", resolve(model.getString("artifact")).length())
    }

    /**
     * Train on over whole batches for [sustainedMinutes] and report throughput per window (a tenth of
     * the run, at most a minute, as flint_bench/bench/worker.py): examples per second and the thermal
     * status at the window's end. A first/last window ratio above 1 means it slowed down (heat).
     */
    private fun sustained(step: (Array<EValue>) -> Unit) {
        val batches = batches()
        val batchSize = spec.getInt("batch_size")
        val totalNs = (sustainedMinutes * 60e9).toLong()
        val windowNs = minOf(60_000_000_000L, totalNs / 10)
        val start = now()
        val windows = JSONArray()
        val rates = ArrayList<Double>()
        var i = 0
        while (now() - start < totalNs) {
            val windowStart = now()
            var examples = 0
            while (now() - windowStart < windowNs && now() - start < totalNs) {
                step(batches[i++ % batches.size])
                examples += batchSize
            }
            val rate = examples / ((now() - windowStart) / 1e9)
            rates.add(rate)
            windows.put(JSONObject().put("t_s", (windowStart - start) / 1e9).put("examples_per_s", rate).put("thermal_status", thermal() ?: JSONObject.NULL))
        }
        val statuses = (0 until windows.length()).mapNotNull { windows.getJSONObject(it).opt("thermal_status") as? Int }
        record.put("sustained", JSONObject().put("minutes", sustainedMinutes).put("windows", windows)
            .put("first_last_ratio", if (rates.isNotEmpty() && rates.last() > 0) rates.first() / rates.last() else JSONObject.NULL)
            .put("thermal_max", statuses.maxOrNull() ?: JSONObject.NULL)
            .put("method", "the app: examples per second per window of continuous training; PowerManager.currentThermalStatus at each window's end"))
    }

    private fun now(): Long = SystemClock.elapsedRealtimeNanos()

    companion object {
        /** Same definitions as flint_bench/stats.py: sample std, linear-interpolated percentiles, 10% trimmed mean. */
        fun summarize(values: List<Double>): JSONObject {
            val s = values.sorted()
            val n = s.size
            if (n == 0) return JSONObject().put("n", 0).put("mean", JSONObject.NULL).put("std", JSONObject.NULL).put("p50", JSONObject.NULL)
                .put("p90", JSONObject.NULL).put("p99", JSONObject.NULL).put("trimmed_mean", JSONObject.NULL).put("cv", JSONObject.NULL)
            val mean = s.average()
            val std = if (n > 1) sqrt(s.sumOf { (it - mean) * (it - mean) } / (n - 1)) else 0.0
            fun pct(q: Double): Double {
                val pos = (n - 1) * q
                val lo = floor(pos).toInt()
                val hi = minOf(lo + 1, n - 1)
                return s[lo] + (s[hi] - s[lo]) * (pos - lo)
            }
            val cut = floor(n * 0.1).toInt()
            val kept = if (n - 2 * cut > 0) s.subList(cut, n - cut) else s
            return JSONObject().put("n", n).put("mean", mean).put("std", std).put("min", s.first()).put("max", s.last())
                .put("p50", pct(0.5)).put("p90", pct(0.9)).put("p99", pct(0.99)).put("trimmed_mean", kept.average())
                .put("cv", if (mean > 0) std / mean else JSONObject.NULL)
        }
    }
}

class CorruptModel(message: String) : Exception(message)

/** Peak PSS of this process, sampled every 100 ms on a background thread. */
class PssSampler : Thread("flint-pss") {
    @Volatile var peakMb = 0.0
    @Volatile private var running = true
    override fun run() {
        while (running) {
            peakMb = maxOf(peakMb, Debug.getPss() / 1024.0)
            Thread.sleep(100)
        }
    }
    fun stopSampling() { running = false; join() }
}

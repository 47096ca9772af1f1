package org.flint.bench

import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.zip.ZipFile

/** One array of a .npz file: little-endian float32 or int64, C order. */
class NpyArray(val shape: LongArray, val floats: FloatArray?, val longs: LongArray?) {
    val rows: Int get() = shape[0].toInt()
    val rowSize: Int get() = shape.drop(1).fold(1L) { a, b -> a * b }.toInt()
}

/** Reads the arrays of a .npz (numpy.savez: a zip of .npy files). Only what the contract uses: <f4 and <i8. */
object Npz {
    fun read(file: File, names: List<String>): Map<String, NpyArray> = ZipFile(file).use { zip ->
        names.associateWith { name ->
            val entry = zip.getEntry("$name.npy") ?: error("${file.name} has no array $name")
            parse(zip.getInputStream(entry).use { it.readBytes() }, name)
        }
    }

    fun parse(bytes: ByteArray, name: String): NpyArray {
        require(bytes.size > 10 && bytes[0] == 0x93.toByte() && String(bytes, 1, 5, Charsets.US_ASCII) == "NUMPY") { "$name is not a .npy array" }
        val major = bytes[6].toInt()
        val buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        val (headerLen, start) = if (major == 1) buf.getShort(8).toInt() and 0xFFFF to 10 else buf.getInt(8) to 12
        val header = String(bytes, start, headerLen, Charsets.ISO_8859_1)
        val descr = Regex("'descr':\\s*'([^']+)'").find(header)?.groupValues?.get(1) ?: error("$name: no descr in header")
        require(!header.contains("'fortran_order': True")) { "$name: Fortran-ordered arrays are not supported" }
        val shape = Regex("'shape':\\s*\\(([^)]*)\\)").find(header)!!.groupValues[1]
            .split(",").map { it.trim() }.filter { it.isNotEmpty() }.map { it.toLong() }.toLongArray()
        val count = shape.fold(1L) { a, b -> a * b }.toInt()
        val data = ByteBuffer.wrap(bytes, start + headerLen, bytes.size - start - headerLen).order(ByteOrder.LITTLE_ENDIAN)
        return when (descr) {
            "<f4" -> NpyArray(shape, FloatArray(count).also { data.asFloatBuffer().get(it) }, null)
            "<i8" -> NpyArray(shape, null, LongArray(count).also { data.asLongBuffer().get(it) })
            else -> error("$name: dtype $descr is not supported (float32 or int64)")
        }
    }
}

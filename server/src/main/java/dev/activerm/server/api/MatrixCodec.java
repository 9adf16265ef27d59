package dev.activerm.server.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.activerm.proto.v1.Matrix;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/** Matrix messages <-> float arrays: little-endian float32, row-major, length checked. */
public final class MatrixCodec {
  private MatrixCodec() {}

  /** Decodes a matrix; field names the message field for error messages (e.g. "embeddings"). */
  public static float[] decode(Matrix m, String field) {
    FloatBuffer floats = view(m, field);
    float[] out = new float[floats.remaining()];
    floats.get(out);
    return out;
  }

  /**
   * The matrix's values as a read-only little-endian view of the message's bytes, checked as
   * {@link #decode} does: no copy, for a caller that only reads them once (AddResponses writes
   * them to the pool file; an 8 MiB float[] per chunk was one more copy and a humongous
   * allocation for the collector).
   */
  public static FloatBuffer view(Matrix m, String field) {
    return bytes(m, field).asFloatBuffer();
  }

  /** The same as {@link #view} as little-endian bytes (4 per value), read-only, no copy. */
  public static ByteBuffer bytes(Matrix m, String field) {
    if (m.getRows() < 0 || m.getCols() < 0) {
      throw ActiveRmException.invalid(
          field + " has shape " + m.getRows() + " x " + m.getCols() + "; rows and cols must be >= 0",
          new FieldViolation(field + ".rows", "negative shape"));
    }
    long expected = (long) m.getRows() * m.getCols() * Float.BYTES;
    if (m.getData().size() != expected) {
      throw ActiveRmException.invalid(
          field + ".data holds " + m.getData().size() + " bytes but a " + m.getRows() + " x " + m.getCols()
              + " float32 matrix needs " + expected + " (rows * cols * 4, little-endian, row-major)",
          new FieldViolation(field + ".data", "length " + m.getData().size() + " != " + expected));
    }
    return m.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  public static Matrix encode(float[] values, int rows, int cols) {
    ByteBuffer buffer = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    buffer.asFloatBuffer().put(values);
    ByteString data = UnsafeByteOperations.unsafeWrap(buffer.array());
    return Matrix.newBuilder().setRows(rows).setCols(cols).setData(data).build();
  }
}

package dev.activerm.server.core.project;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;

/**
 * The range an embedding value may take on the way in (AddResponses, Score's sent
 * embeddings): finite and |x| <= {@link #MAX_ABS}. LLM embeddings are O(1..100); the bound
 * leaves four orders of magnitude above that, and keeps every quantity the server derives
 * (squared feature differences summed over a pool, in double) far from overflow and from
 * rounding that swamps the prior. Rows stored before the bound existed still load; what they
 * cannot compute is reported as FAILED_PRECONDITION where it is computed.
 */
public final class EmbeddingValues {
  public static final double MAX_ABS = 1e6;
  private static final String MAX_ABS_TEXT = "1e6";

  /**
   * The bits of |MAX_ABS| as a float (1e6 is exact in float32). Among the bit patterns of
   * |v| (sign cleared), the accepted ones are exactly those <= this: positive floats order
   * like their bits, and every infinity and NaN lies above the largest finite float.
   */
  static final int MAX_ABS_BITS = Float.floatToRawIntBits((float) MAX_ABS);

  /** Two float lanes of a long without their sign bits. */
  private static final long MAGNITUDES = 0x7fffffff_7fffffffL;
  /** Added to each lane's magnitude a (< 2^31): the lane's bit 31 is then set iff a > MAX_ABS_BITS; no lane carries into the next. */
  private static final long OVER = (0x7fffffffL - MAX_ABS_BITS) * 0x1_00000001L;
  private static final long LANE_TOPS = 0x80000000_80000000L;

  private EmbeddingValues() {}

  /**
   * Whether {@link #problem} accepts every float32 in bytes (position to limit, little-endian,
   * a multiple of 4 bytes; the buffer's position is left alone), checked on the raw bits two
   * floats at a time instead of decoding each value. A caller that gets false runs problem()
   * per value to say which ones and why.
   */
  public static boolean allAccepted(ByteBuffer bytes) {
    if (bytes.remaining() % Float.BYTES != 0) {
      throw new IllegalArgumentException(bytes.remaining() + " bytes is not a whole number of float32 values");
    }
    ByteBuffer b = bytes.slice().order(ByteOrder.LITTLE_ENDIAN);
    LongBuffer pairs = b.asLongBuffer();
    int n = pairs.remaining();
    long over = 0;
    for (int i = 0; i < n; i++) {
      over |= ((pairs.get(i) & MAGNITUDES) + OVER) & LANE_TOPS;
    }
    if (b.remaining() % Long.BYTES != 0) {
      over |= (b.getInt(b.remaining() - Float.BYTES) & 0x7fffffff) > MAX_ABS_BITS ? 1 : 0;
    }
    return over == 0;
  }

  /** null when v is accepted, else what is wrong with it (for a field violation). */
  public static String problem(float v) {
    if (!Float.isFinite(v)) {
      return "is " + v + "; embeddings must be finite";
    }
    if (Math.abs(v) > MAX_ABS) {
      return "is " + v + "; embedding values must lie within [-" + MAX_ABS_TEXT + ", " + MAX_ABS_TEXT
          + "] (LLM embeddings are O(1..100)): rescale the embeddings";
    }
    return null;
  }
}

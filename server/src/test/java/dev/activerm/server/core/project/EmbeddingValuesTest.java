package dev.activerm.server.core.project;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The bulk range check on raw little-endian bits against the per-value check it replaces on
 * the upload path ({@link EmbeddingValues#problem}, the reference): they must agree on every
 * value, wherever it sits in the buffer.
 */
class EmbeddingValuesTest {
  private static boolean reference(float[] values) {
    for (float v : values) {
      if (EmbeddingValues.problem(v) != null) {
        return false;
      }
    }
    return true;
  }

  private static ByteBuffer littleEndian(float[] values, int offsetBytes) {
    ByteBuffer b = ByteBuffer.allocate(offsetBytes + values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.position(offsetBytes);
    for (float v : values) {
      b.putFloat(v);
    }
    b.position(offsetBytes);
    return b;
  }

  /** Values on and around every edge of the accepted range, and every kind of float. */
  static List<Float> edges() {
    float max = (float) EmbeddingValues.MAX_ABS;
    List<Float> out = new ArrayList<>(List.of(0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL,
        Math.nextDown(Float.MIN_NORMAL), -Math.nextDown(Float.MIN_NORMAL), 1f, -1f, 1e-30f, 123.5f, max, -max,
        Math.nextUp(max), -Math.nextUp(max), Math.nextDown(max), -Math.nextDown(max), 1e6f + 64, 2e6f, -2e6f,
        Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
        Float.intBitsToFloat(0x7fc00001), Float.intBitsToFloat(0xffc00000), Float.intBitsToFloat(0x7f800001),
        Float.intBitsToFloat(0xff800001), Float.intBitsToFloat(0x7fffffff), Float.intBitsToFloat(0xffffffff)));
    return out;
  }

  @Test
  void theBoundIsExactlyMaxAbsAsAFloat() {
    assertThat((double) (float) EmbeddingValues.MAX_ABS).isEqualTo(EmbeddingValues.MAX_ABS);
    assertThat(Float.intBitsToFloat(EmbeddingValues.MAX_ABS_BITS)).isEqualTo(1e6f);
  }

  @Test
  void everyEdgeValueAgreesWithTheReferenceAtEveryPositionAndAlignment() {
    for (float v : edges()) {
      for (int length = 1; length <= 7; length++) {
        for (int at = 0; at < length; at++) {
          float[] values = new float[length];
          java.util.Arrays.fill(values, 0.5f);
          values[at] = v;
          for (int offset = 0; offset < 8; offset += 4) {
            assertThat(EmbeddingValues.allAccepted(littleEndian(values, offset)))
                .as("%s (bits %08x) at %d of %d, byte offset %d", v, Float.floatToRawIntBits(v), at, length, offset)
                .isEqualTo(reference(values));
          }
        }
      }
    }
  }

  @Test
  void randomBitPatternsAgreeWithTheReferenceOneByOne() {
    SplittableRandom random = new SplittableRandom(13);
    for (int i = 0; i < 2_000_000; i++) {
      // Uniform bits (mostly |x| > 1e6 or NaN), and values near the accepted range's edge.
      int bits = i % 2 == 0 ? random.nextInt() : EmbeddingValues.MAX_ABS_BITS + random.nextInt(-1000, 1000)
          | (random.nextBoolean() ? 0x80000000 : 0);
      float v = Float.intBitsToFloat(bits);
      assertThat(EmbeddingValues.allAccepted(littleEndian(new float[] {v}, 0)))
          .as("bits %08x", bits).isEqualTo(EmbeddingValues.problem(v) == null);
      assertThat(EmbeddingValues.allAccepted(littleEndian(new float[] {0.25f, v}, 0)))
          .as("bits %08x in the high lane", bits).isEqualTo(EmbeddingValues.problem(v) == null);
      assertThat(EmbeddingValues.allAccepted(littleEndian(new float[] {v, 0.25f}, 0)))
          .as("bits %08x in the low lane", bits).isEqualTo(EmbeddingValues.problem(v) == null);
    }
  }

  @Test
  void largeBuffersOfAcceptedValuesPassAndOneBadValueAnywhereFails() {
    SplittableRandom random = new SplittableRandom(7);
    float[] values = new float[4099];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) ((random.nextDouble() * 2 - 1) * EmbeddingValues.MAX_ABS);
    }
    values[17] = (float) EmbeddingValues.MAX_ABS;
    values[18] = -0f;
    values[19] = Float.MIN_VALUE;
    assertThat(reference(values)).isTrue();
    assertThat(EmbeddingValues.allAccepted(littleEndian(values, 0))).isTrue();
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Math.nextUp(1e6f), -2e6f}) {
      for (int at : new int[] {0, 1, 2048, 4097, 4098}) {
        float[] copy = values.clone();
        copy[at] = bad;
        assertThat(EmbeddingValues.allAccepted(littleEndian(copy, 4))).as("%s at %d", bad, at).isFalse();
      }
    }
  }

  @Test
  void theBuffersPositionAndOrderAreLeftAloneAndOnlyPositionToLimitCounts() {
    ByteBuffer b = littleEndian(new float[] {Float.NaN, 1f, 2f, Float.NaN}, 0);
    b.position(4).limit(12);
    ByteBuffer big = b.duplicate().order(ByteOrder.BIG_ENDIAN); // the order of the caller's buffer is ignored
    big.position(4).limit(12);
    assertThat(EmbeddingValues.allAccepted(b)).isTrue();
    assertThat(EmbeddingValues.allAccepted(big)).isTrue();
    assertThat(b.position()).isEqualTo(4);
    assertThat(b.order()).isEqualTo(ByteOrder.LITTLE_ENDIAN);
    assertThat(EmbeddingValues.allAccepted(ByteBuffer.allocate(0))).isTrue();
    assertThatThrownBy(() -> EmbeddingValues.allAccepted(ByteBuffer.allocate(6)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}

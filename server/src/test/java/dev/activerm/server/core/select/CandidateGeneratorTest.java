package dev.activerm.server.core.select;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Candidate sampling: uniform (chi-square at fixed seeds), exclusions honoured, memory O(cap). */
class CandidateGeneratorTest {

  /** Chi-square statistic of counts against a uniform expectation. */
  private static double chiSquare(long[] counts) {
    double total = 0;
    for (long c : counts) {
      total += c;
    }
    double e = total / counts.length;
    double s = 0;
    for (long c : counts) {
      s += (c - e) * (c - e) / e;
    }
    return s;
  }

  @Test
  void crossPromptSamplerIsUniform() {
    int rows = 20; // 190 pairs; cap 40 < 190 / 2 forces the rejection sampler
    long[] counts = new long[rows * rows];
    for (int draw = 0; draw < 3000; draw++) {
      PairList p = CandidateGenerator.crossPrompt(rows, 40, k -> false, 0, 1000 + draw, Cancellation.NEVER);
      assertThat(p.size()).isEqualTo(40);
      for (int i = 0; i < p.size(); i++) {
        counts[p.a()[i] * rows + p.b()[i]]++;
      }
    }
    long[] upper = new long[190];
    int n = 0;
    for (int a = 0; a < rows; a++) {
      for (int b = a + 1; b < rows; b++) {
        upper[n++] = counts[a * rows + b];
      }
      for (int b = 0; b <= a; b++) {
        assertThat(counts[a * rows + b]).isZero();
      }
    }
    // df = 189: the 0.999 quantile is about 259.
    assertThat(chiSquare(upper)).isLessThan(259);
  }

  @Test
  void withinPromptSamplerIsUniformOverUnequalPrompts() {
    int[] sizes = {2, 3, 5, 8, 13, 1, 9};
    int rows = 0;
    for (int s : sizes) {
      rows += s;
    }
    int[] prompt = new int[rows];
    int r = 0;
    for (int p = 0; p < sizes.length; p++) {
      for (int i = 0; i < sizes[p]; i++) {
        prompt[r++] = p;
      }
    }
    // Interleave rows so groups are not contiguous.
    int[] shuffled = new int[rows];
    for (int i = 0; i < rows; i++) {
      shuffled[i] = prompt[(i * 7) % rows];
    }
    long total = 0;
    for (int s : sizes) {
      total += (long) s * (s - 1) / 2;
    }
    long[] counts = new long[rows * rows];
    for (int draw = 0; draw < 3000; draw++) {
      PairList p = CandidateGenerator.withinPrompt(rows, shuffled, sizes.length, 30, k -> false, 0, 7 + draw,
          Cancellation.NEVER);
      assertThat(p.size()).isEqualTo(30);
      for (int i = 0; i < p.size(); i++) {
        assertThat(shuffled[p.a()[i]]).isEqualTo(shuffled[p.b()[i]]);
        counts[p.a()[i] * rows + p.b()[i]]++;
      }
    }
    long[] eligible = new long[(int) total];
    int n = 0;
    for (int a = 0; a < rows; a++) {
      for (int b = a + 1; b < rows; b++) {
        if (shuffled[a] == shuffled[b]) {
          eligible[n++] = counts[a * rows + b];
        }
      }
    }
    assertThat(n).isEqualTo((int) total);
    // df = 184 - 1 = 183: the 0.999 quantile is about 252.
    assertThat(chiSquare(eligible)).isLessThan(252);
  }

  @Test
  void exclusionsAreHonouredWhenEnumeratingAndSampling() {
    Set<Long> excluded = new HashSet<>();
    for (int i = 0; i < 30; i++) {
      excluded.add(PairKeys.key(i, i + 1));
    }
    PairList all = CandidateGenerator.crossPrompt(31, 1000, excluded::contains, excluded.size(), 0, Cancellation.NEVER);
    assertThat(all.size()).isEqualTo(31 * 30 / 2 - 30);
    PairList some = CandidateGenerator.crossPrompt(31, 100, excluded::contains, excluded.size(), 0, Cancellation.NEVER);
    assertThat(some.size()).isEqualTo(100);
    for (PairList p : new PairList[] {all, some}) {
      Set<Long> seen = new HashSet<>();
      for (int i = 0; i < p.size(); i++) {
        long k = PairKeys.key(p.a()[i], p.b()[i]);
        assertThat(excluded).doesNotContain(k);
        assertThat(seen.add(k)).isTrue();
      }
    }
  }

  @Test
  void crossPromptMemoryDoesNotGrowWithRSquared() {
    com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long before = mx.getCurrentThreadAllocatedBytes();
    // 5e11 pairs exist; enumerating them would need terabytes.
    PairList p = CandidateGenerator.crossPrompt(1_000_000, 20_000, k -> false, 0, 3, Cancellation.NEVER);
    long allocated = mx.getCurrentThreadAllocatedBytes() - before;
    assertThat(p.size()).isEqualTo(20_000);
    assertThat(allocated).as("bytes allocated for 20 000 sampled pairs").isLessThan(4L << 20);
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < p.size(); i++) {
      assertThat(p.a()[i]).isLessThan(p.b()[i]);
      assertThat(seen.add(PairKeys.key(p.a()[i], p.b()[i]))).isTrue();
    }
  }

  @Test
  void longHashSetAddsAndRemoves() {
    LongHashSet s = new LongHashSet(4);
    java.util.Random r = new java.util.Random(1);
    Set<Long> ref = new HashSet<>();
    for (int i = 0; i < 20_000; i++) {
      long k = r.nextInt(5000);
      if (r.nextBoolean()) {
        assertThat(s.add(k)).isEqualTo(ref.add(k));
      } else {
        assertThat(s.remove(k)).isEqualTo(ref.remove(k));
      }
    }
    assertThat(s.size()).isEqualTo(ref.size());
    for (long k = 0; k < 5000; k++) {
      assertThat(s.contains(k)).isEqualTo(ref.contains(k));
    }
  }
}

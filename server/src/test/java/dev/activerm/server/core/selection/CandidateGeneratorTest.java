package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.CancelledException;
import dev.activerm.server.core.pairs.LongHashSet;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.core.pairs.PairList;
import java.lang.management.ManagementFactory;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import static org.assertj.core.api.Assertions.assertThat;

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
      PairList p = CandidateGenerator.crossPrompt(rows, 40, k -> false, 0, 1000 + draw, CancelledException.NEVER);
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
          CancelledException.NEVER);
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

  /** "a,b a,b ..." of a pair list, to pin seeded sequences. */
  private static String dump(PairList p) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < p.size(); i++) {
      sb.append(sb.length() == 0 ? "" : " ").append(p.a()[i]).append(',').append(p.b()[i]);
    }
    return sb.toString();
  }

  @Test
  void unrestrictedSequencesAreUnchangedForASeed() {
    // Pinned from the generator before prompt restrictions existed (same seeds, same calls).
    assertThat(dump(CandidateGenerator.crossPrompt(1000, 8, k -> false, 0, 42, CancelledException.NEVER)))
        .isEqualTo("31,556 172,481 71,781 519,856 328,706 151,945 846,971 128,553");
    assertThat(dump(CandidateGenerator.crossPrompt(10, 5, k -> false, 0, 42, CancelledException.NEVER)))
        .isEqualTo("1,6 1,2 6,9 6,8 1,5");
    int[] prompt = new int[60];
    for (int r = 0; r < 60; r++) {
      prompt[r] = r % 7;
    }
    assertThat(dump(CandidateGenerator.withinPrompt(60, prompt, 7, 6, k -> false, 0, 42, CancelledException.NEVER)))
        .isEqualTo("1,50 8,22 21,28 15,43 14,35 16,23");
    PairList w = CandidateGenerator.withinPrompt(60, prompt, 7, 150, k -> false, 0, 42, CancelledException.NEVER);
    assertThat(w.size()).isEqualTo(150);
    assertThat(java.util.Arrays.hashCode(w.a())).isEqualTo(1230353178);
    assertThat(java.util.Arrays.hashCode(w.b())).isEqualTo(1874155475);

    // Allowing every row is the unrestricted generator, draw for draw.
    int[] all = new int[1000];
    for (int r = 0; r < all.length; r++) {
      all[r] = r;
    }
    for (long cap : new long[] {8, 400_000}) {
      assertThat(dump(CandidateGenerator.crossPrompt(all, cap, k -> false, 0, 42, CancelledException.NEVER)))
          .isEqualTo(dump(CandidateGenerator.crossPrompt(1000, cap, k -> false, 0, 42, CancelledException.NEVER)));
    }
  }

  @Test
  void restrictedCrossPromptSamplerIsUniformOverTheAllowedRows() {
    // 20 allowed rows scattered among 60: 190 allowed pairs; cap 40 < 190 / 2 forces rejection.
    int pool = 60;
    int[] allowed = new int[20];
    boolean[] isAllowed = new boolean[pool];
    for (int i = 0; i < allowed.length; i++) {
      allowed[i] = 3 * i + i % 2; // 0, 4, 6, 10, ... 58: ascending, uneven gaps
      isAllowed[allowed[i]] = true;
    }
    long[] counts = new long[pool * pool];
    for (int draw = 0; draw < 3000; draw++) {
      PairList p = CandidateGenerator.crossPrompt(allowed, 40, k -> false, 0, 1000 + draw, CancelledException.NEVER);
      assertThat(p.size()).isEqualTo(40);
      for (int i = 0; i < p.size(); i++) {
        assertThat(isAllowed[p.a()[i]] && isAllowed[p.b()[i]]).as("pair %d,%d", p.a()[i], p.b()[i]).isTrue();
        assertThat(p.a()[i]).isLessThan(p.b()[i]);
        counts[p.a()[i] * pool + p.b()[i]]++;
      }
    }
    long[] eligible = new long[190];
    int n = 0;
    for (int i = 0; i < allowed.length; i++) {
      for (int j = i + 1; j < allowed.length; j++) {
        eligible[n++] = counts[allowed[i] * pool + allowed[j]];
      }
    }
    // Every draw lands on an allowed pair (checked above), so these 190 cells hold all 120 000.
    assertThat(java.util.Arrays.stream(eligible).sum()).isEqualTo(3000L * 40);
    // df = 189: the 0.999 quantile is about 259.
    assertThat(chiSquare(eligible)).isLessThan(259);
  }

  @Test
  void restrictedCrossPromptEnumeratesOnlyAllowedPairsMinusExclusions() {
    int[] allowed = {2, 5, 6, 11, 30};
    Set<Long> excluded = Set.of(PairKeys.key(5, 6), PairKeys.key(2, 30), PairKeys.key(0, 1));
    PairList p = CandidateGenerator.crossPrompt(allowed, 1000, excluded::contains, excluded.size(), 0,
        CancelledException.NEVER);
    Set<Long> got = new HashSet<>();
    for (int i = 0; i < p.size(); i++) {
      got.add(PairKeys.key(p.a()[i], p.b()[i]));
    }
    Set<Long> want = new HashSet<>();
    for (int i = 0; i < allowed.length; i++) {
      for (int j = i + 1; j < allowed.length; j++) {
        want.add(PairKeys.key(allowed[i], allowed[j]));
      }
    }
    want.removeAll(excluded);
    assertThat(p.size()).isEqualTo(10 - 2);
    assertThat(got).isEqualTo(want);
    assertThat(CandidateGenerator.crossPrompt(new int[] {4}, 10, k -> false, 0, 0, CancelledException.NEVER).size())
        .isZero();
  }

  @Test
  void withinPromptSkipsRowsOfPromptsNotAskedFor() {
    int rows = 50;
    int[] prompt = new int[rows];
    for (int r = 0; r < rows; r++) {
      prompt[r] = r % 5 == 1 || r % 5 == 3 ? r % 5 : -1; // only prompts 1 and 3: 10 rows each, 90 pairs
    }
    for (long cap : new long[] {1000, 20}) { // enumerated, then sampled
      PairList p = CandidateGenerator.withinPrompt(rows, prompt, 5, cap, k -> false, 0, 9, CancelledException.NEVER);
      assertThat(p.size()).isEqualTo((int) Math.min(90, cap));
      for (int i = 0; i < p.size(); i++) {
        assertThat(prompt[p.a()[i]]).isIn(1, 3).isEqualTo(prompt[p.b()[i]]);
      }
    }
  }

  @Test
  void exclusionsAreHonouredWhenEnumeratingAndSampling() {
    Set<Long> excluded = new HashSet<>();
    for (int i = 0; i < 30; i++) {
      excluded.add(PairKeys.key(i, i + 1));
    }
    PairList all = CandidateGenerator.crossPrompt(31, 1000, excluded::contains, excluded.size(), 0, CancelledException.NEVER);
    assertThat(all.size()).isEqualTo(31 * 30 / 2 - 30);
    PairList some = CandidateGenerator.crossPrompt(31, 100, excluded::contains, excluded.size(), 0, CancelledException.NEVER);
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
    PairList p = CandidateGenerator.crossPrompt(1_000_000, 20_000, k -> false, 0, 3, CancelledException.NEVER);
    long allocated = mx.getCurrentThreadAllocatedBytes() - before;
    assertThat(p.size()).isEqualTo(20_000);
    assertThat(allocated).as("bytes allocated for 20 000 sampled pairs").isLessThan(4L << 20);
    Set<Long> seen = new HashSet<>();
    for (int i = 0; i < p.size(); i++) {
      assertThat(p.a()[i]).isLessThan(p.b()[i]);
      assertThat(seen.add(PairKeys.key(p.a()[i], p.b()[i]))).isTrue();
    }

    // Restricted to half the rows (1.25e11 allowed pairs): still O(cap).
    int[] odd = new int[500_000];
    for (int i = 0; i < odd.length; i++) {
      odd[i] = 2 * i + 1;
    }
    before = mx.getCurrentThreadAllocatedBytes();
    PairList q = CandidateGenerator.crossPrompt(odd, 20_000, k -> false, 0, 3, CancelledException.NEVER);
    allocated = mx.getCurrentThreadAllocatedBytes() - before;
    assertThat(q.size()).isEqualTo(20_000);
    assertThat(allocated).as("bytes allocated for 20 000 sampled restricted pairs").isLessThan(4L << 20);
    for (int i = 0; i < q.size(); i++) {
      assertThat(q.a()[i] % 2).isEqualTo(1);
      assertThat(q.b()[i] % 2).isEqualTo(1);
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

package dev.activerm.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.FitOptions;
import dev.activerm.client.SelectOptions;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Scores;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.Strategy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar with a heap far below its pool files: pools are served from a memory
 * mapping, so a server started with -Xmx192m on 524 MB of pool restarts and answers Score and
 * SelectBatch (a server that copied pools into the heap ran out of memory loading them).
 */
@Timeout(600)
class PoolLargerThanHeapIT {
  static final int DIM = 1024;
  static final int ROWS = 128_000; // 524 MB of float32
  static final int CALL_ROWS = 16_000;
  static final String SMALL_HEAP = "-Xmx192m";

  @TempDir Path dataDir;

  static List<String> ids(int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> "r" + i).toList();
  }

  static List<String> prompts(int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> "q" + (i / 16)).toList();
  }

  @Test
  void aServerWhoseHeapIsFarBelowItsPoolRestartsAndServesScoreAndSelectBatch() throws Exception {
    long poolBytes = (long) ROWS * DIM * Float.BYTES;
    List<String> scored = List.of("r0", "r12345", "r64000", "r" + (ROWS - 1));
    List<Pair> pairs = List.of(new Pair("r1", "r99999"), new Pair("r127998", "r5"));
    Scores before;
    // First run with room in the heap (any build can write the pool), through the client.
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.createProject("big", DIM, Head.LINEAR, 1.0);
      SplittableRandom random = new SplittableRandom(7);
      for (int from = 0; from < ROWS; from += CALL_ROWS) {
        int to = Math.min(ROWS, from + CALL_ROWS);
        float[] part = new float[(to - from) * DIM];
        for (int i = 0; i < part.length; i++) {
          part[i] = (float) (random.nextDouble() * 2 - 1);
        }
        client.addResponses("big", ids(from, to), prompts(from, to), part, DIM);
      }
      Random pick = new Random(3);
      List<ComparisonInput> labels = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        labels.add(ComparisonInput.of("r" + pick.nextInt(ROWS), "r" + pick.nextInt(ROWS),
            pick.nextBoolean() ? Outcome.A : Outcome.B));
      }
      client.addComparisons("big", labels);
      client.fit("big", FitOptions.defaults());
      before = client.score("big", 0, scored, pairs);
      server.terminate(java.time.Duration.ofSeconds(60));
    }
    long onDisk;
    try (var files = Files.list(dataDir.resolve("pools"))) {
      onDisk = files.filter(f -> f.toString().endsWith(".f32")).mapToLong(f -> f.toFile().length()).sum();
    }
    assertThat(onDisk).isEqualTo(poolBytes).isGreaterThan(2L * (192 << 20));

    try (ServerProcess server = ServerProcess.start(ServerProcess.Launch.defaults().withJvmFlags(SMALL_HEAP), dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.getProject("big").numResponses()).isEqualTo(ROWS);
      Scores after = client.score("big", 0, scored, pairs);
      assertThat(after.rewards()).containsExactly(before.rewards());
      assertThat(after.pairScores()).isEqualTo(before.pairScores());
      // MAX_ENTROPY: the h x h strategies' own working memory at h = 1 024 (about 195 MiB over
      // 2 000 candidates, refused up front by SelectionMemory) does not fit a 192 MiB heap,
      // whatever the pool; this test is about the pool not having to.
      SelectOptions select = new SelectOptions(8, Strategy.MAX_ENTROPY, SelectOptions.CandidateSource.CROSS_PROMPT,
          List.of(), List.of(), 2_000, 11, false, false, 0);
      Selection s = client.selectBatch("big", select);
      assertThat(s.pairs()).hasSize(8);
      assertThat(s.numCandidates()).isEqualTo(2_000);
      assertThat(server.isAlive()).isTrue();
      assertThat(server.log()).noneMatch(l -> l.contains("OutOfMemoryError"));
    }
  }
}

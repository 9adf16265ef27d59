package dev.activerm.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.SelectOptions;
import dev.activerm.client.Types.Comparison;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.PairState;
import dev.activerm.client.Types.Responses;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.Strategy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The packaged jar as a real process: kill -9 and restart lose nothing acknowledged, keep nothing partial. */
@Timeout(300)
class KillAndRestartIT {
  static final int DIM = 32;

  @TempDir Path dataDir;

  static float[][] rows(int n, long seed) {
    Random r = new Random(seed);
    float[][] out = new float[n][DIM];
    for (float[] row : out) {
      for (int j = 0; j < DIM; j++) {
        row[j] = (float) r.nextGaussian();
      }
    }
    return out;
  }

  static List<String> ids(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> prefix + "-" + i).toList();
  }

  @Test
  void everythingAcknowledgedIsBackAfterKill9() throws Exception {
    float[][] first = rows(3000, 1);
    float[][] second = rows(500, 2);
    List<ComparisonInput> comparisons = List.of(
        ComparisonInput.of("a-0", "b-1", Outcome.A),
        new ComparisonInput("a-2", "a-3", Outcome.TIE, "ann", 0.5),
        ComparisonInput.of("b-4", "a-5", Outcome.B));
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.builder().target(server.target()).chunkBytes(64 << 10).build()) {
      client.createProject("p", DIM, Head.LINEAR, 1.0);
      client.createProject("mlp", 4, Head.MLP, List.of(8, 8), 2.0);
      client.addResponses("p", ids("a", first.length), ids("prompt", first.length), first);
      client.addResponses("p", ids("b", second.length), ids("q", second.length), second);
      client.addComparisons("p", comparisons);
      server.kill9();
    }

    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.listProjects()).extracting(p -> p.projectId()).containsExactly("mlp", "p");
      assertThat(client.getProject("mlp").hiddenSizes()).containsExactly(8, 8);
      assertThat(client.getProject("p").numResponses()).isEqualTo(3500);
      Responses back = client.getResponses("p", List.of("a-0", "a-2999", "b-0", "b-499"), true);
      assertThat(back.embeddings()[0]).containsExactly(first[0]);
      assertThat(back.embeddings()[1]).containsExactly(first[2999]);
      assertThat(back.embeddings()[2]).containsExactly(second[0]);
      assertThat(back.embeddings()[3]).containsExactly(second[499]);
      assertThat(back.promptIds()).containsExactly("prompt-0", "prompt-2999", "q-0", "q-499");
      List<Comparison> stored = client.listComparisons("p");
      assertThat(stored).extracting(Comparison::aId).containsExactly("a-0", "a-2", "b-4");
      assertThat(stored).extracting(Comparison::weight).containsExactly(1.0, 0.5, 1.0);
    }
  }

  /** The labeling lifecycle's writes (ids, deletes, retirements, released pairs) survive kill -9. */
  @Test
  void lifecycleStateIsBackAfterKill9() throws Exception {
    String released;
    Set<String> pendingBefore = new HashSet<>();
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.builder().target(server.target()).build()) {
      client.createProject("p", DIM, Head.LINEAR, 1.0);
      client.addResponses("p", ids("r", 8), ids("q", 8), rows(8, 3));
      client.addComparisons("p", List.of(
          ComparisonInput.of("r-0", "r-1", Outcome.A).withId("keep"),
          new ComparisonInput("r-2", "r-3", Outcome.B, "bad", 0).withId("drop-1"),
          new ComparisonInput("r-4", "r-5", Outcome.B, "bad", 0)));
      assertThat(client.deleteAnnotatorComparisons("p", "bad").numDeleted()).isEqualTo(2);
      client.retireResponses("p", List.of("r-7"));
      Selection sel = client.selectBatch("p", SelectOptions.of(4, Strategy.RANDOM).withSeed(1));
      released = sel.pairs().get(0).aId() + "|" + sel.pairs().get(0).bId();
      client.releasePairs("p", sel.selectionId(), List.of(new Pair(sel.pairs().get(0).aId(), sel.pairs().get(0).bId())));
      sel.pairs().subList(1, 4).forEach(p -> pendingBefore.add(p.aId() + "|" + p.bId()));
      server.kill9();
    }

    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.listComparisons("p")).extracting(Comparison::id).containsExactly("keep");
      // Replaying the deleted label does not bring it back; the kept one is unchanged.
      var replay = client.addComparisons("p", List.of(
          new ComparisonInput("r-2", "r-3", Outcome.B, "bad", 0).withId("drop-1"),
          ComparisonInput.of("r-0", "r-1", Outcome.A).withId("keep")));
      assertThat(List.of(replay.numAdded(), replay.numDeletedBefore(), replay.numUnchanged())).containsExactly(0L, 1L, 1L);
      assertThat(client.getProject("p").numPendingPairs()).isEqualTo(3);
      Selection back = client.listSelections("p").get(0);
      assertThat(List.of(back.numPending(), back.numReleased())).containsExactly(3L, 1L);
      Selection full = client.getSelection("p", back.selectionId());
      assertThat(full.pairs().get(0).state()).isEqualTo(PairState.RELEASED);
      assertThat(released).isEqualTo(full.pairs().get(0).aId() + "|" + full.pairs().get(0).bId());
      // r-7 stays retired: 7 live responses, 21 pairs, minus 3 pending and the 1 labeled.
      Selection next = client.selectBatch("p", SelectOptions.of(1, Strategy.RANDOM));
      assertThat(next.numCandidates()).isEqualTo(21 - 3 - 1);
      assertThat(pendingBefore).hasSize(3);
    }
  }

  /**
   * Uploads calls back to back and kills the server at an arbitrary moment: after restart
   * every acknowledged call is there, and the one in flight is there wholly or not at all.
   */
  @Test
  void kill9DuringIngestionKeepsExactlyWholeCalls() throws Exception {
    int rowsPerCall = 2000;
    List<Integer> acknowledged = new ArrayList<>();
    AtomicReference<Integer> inFlight = new AtomicReference<>();
    try (ServerProcess server = ServerProcess.start(dataDir)) {
      Thread uploader = new Thread(() -> {
        try (ActiveRmClient client = ActiveRmClient.builder().target(server.target()).chunkBytes(32 << 10).build()) {
          client.createProject("p", DIM, Head.LINEAR, 1.0);
          for (int call = 0; call < 1000; call++) {
            inFlight.set(call);
            client.addResponses("p", ids("c" + call, rowsPerCall), ids("q", rowsPerCall), rows(rowsPerCall, call));
            synchronized (acknowledged) {
              acknowledged.add(call);
            }
          }
        } catch (RuntimeException expected) {
          // The server died under the upload.
        }
      });
      uploader.start();
      while (true) {
        synchronized (acknowledged) {
          if (acknowledged.size() >= 3) {
            break;
          }
        }
        Thread.sleep(5);
      }
      Thread.sleep(new Random().nextInt(50));
      server.kill9();
      uploader.join(60_000);
    }

    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      Responses all = client.listResponses("p");
      Set<String> stored = new HashSet<>(all.ids());
      List<Integer> acked;
      synchronized (acknowledged) {
        acked = List.copyOf(acknowledged);
      }
      for (int call : acked) {
        assertThat(stored).contains("c" + call + "-0", "c" + call + "-" + (rowsPerCall - 1));
      }
      int pending = inFlight.get();
      long pendingRows = all.ids().stream().filter(id -> id.startsWith("c" + pending + "-")).count();
      assertThat(pendingRows).as("rows of the call in flight at the kill").isIn(0L, (long) rowsPerCall);
      long expected = (long) acked.size() * rowsPerCall + (acked.contains(pending) ? 0 : pendingRows);
      assertThat((long) all.ids().size()).isEqualTo(expected);
      // The embeddings behind the last acknowledged call are intact, not just the ids.
      int last = acked.get(acked.size() - 1);
      float[][] want = rows(rowsPerCall, last);
      float[][] got = client.getResponses("p", List.of("c" + last + "-" + (rowsPerCall - 1)), true).embeddings();
      assertThat(got[0]).containsExactly(want[rowsPerCall - 1]);
      // And the project takes new rows after the cut-off tail.
      client.addResponses("p", List.of("after"), List.of("q"), rows(1, 99));
      assertThat(client.getProject("p").numResponses()).isEqualTo(expected + 1);
    }
  }

  @Test
  void sigtermStopsGracefully() throws Exception {
    ServerProcess server = ServerProcess.start(dataDir);
    try (ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.createProject("p", DIM, Head.LINEAR, 1.0);
    }
    assertThat(server.terminate(Duration.ofSeconds(30))).isIn(0, 143);
    try (ServerProcess again = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(again.target())) {
      assertThat(client.getProject("p").embeddingDim()).isEqualTo(DIM);
    }
  }
}

package dev.activerm.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.Types.Comparison;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Responses;
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

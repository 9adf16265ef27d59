package dev.activerm.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.ActiveRmException;
import dev.activerm.client.FitOptions;
import dev.activerm.client.SelectOptions;
import dev.activerm.client.Types.Comparison;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Registration;
import dev.activerm.client.Types.ResponseRows;
import dev.activerm.client.Types.Strategy;
import io.grpc.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged server on a full disk (an 8 MiB tmpfs filled to the last byte): every write
 * is refused whole with RESOURCE_EXHAUSTED, nothing refused is stored, reads keep working,
 * the server takes writes again by itself once space returns, and it starts on a full disk.
 */
@Timeout(300)
class DiskFullIT {
  static final int DIM = 64;
  static final String FULL = "the disk holding --data-dir is full";

  @TempDir Path scratch;
  SmallFileSystem fs;
  Path dataDir;

  @BeforeEach
  void mountSmallDisk() throws Exception {
    fs = SmallFileSystem.mount(scratch.resolve("disk"), 8);
    dataDir = fs.dir().resolve("data");
  }

  @AfterEach
  void unmount() throws Exception {
    if (fs != null) {
      fs.close();
    }
  }

  static List<String> ids(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> prefix + "-" + i).toList();
  }

  static float[][] rows(int n, float base) {
    float[][] out = new float[n][DIM];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < DIM; j++) {
        out[i][j] = base + i + j / 100f;
      }
    }
    return out;
  }

  static List<ComparisonInput> comparisons(int n, String annotator) {
    List<ComparisonInput> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new ComparisonInput("r-" + (i % 50), "r-" + (50 + i % 50), Outcome.A, annotator, 1.0));
    }
    return out;
  }

  /** Runs a write on the full disk: it either succeeds or is refused as disk-full, never anything else. */
  static boolean refusedAsFull(Runnable write) {
    ActiveRmException e = catchThrowableOfType(ActiveRmException.class, write::run);
    if (e == null) {
      return false;
    }
    assertThat(e.code()).as(e.getMessage()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(e.description()).contains(FULL).contains("nothing was stored");
    return true;
  }

  @Test
  void writesOnAFullDiskAreRefusedWholeAndTheServerRecoversWhenSpaceReturns() throws Exception {
    long comparisonsAcked = 0;
    int selectionsAcked = 0;
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.builder().target(server.target()).chunkBytes(64 << 10).build()) {
      client.createProject("p", DIM, Head.LINEAR, 1.0);
      client.addResponses("p", ids("r", 200), ids("q", 200), rows(200, 0));
      comparisonsAcked += client.addComparisons("p", comparisons(10, "before")).numAdded();

      fs.fill();

      // An upload larger than anything left: refused whole.
      assertThat(refusedAsFull(() -> client.addResponses("p", ids("big", 4000), ids("q", 4000), rows(4000, 1))))
          .as("a 1 MiB upload on a full disk").isTrue();
      // Labels: the database may still have room in pages it already owns; keep writing
      // until it has none. Every call is stored whole or refused whole.
      boolean refused = false;
      for (int call = 0; call < 400 && !refused; call++) {
        String annotator = "annotator-with-a-long-name-" + call;
        long[] added = new long[1];
        refused = refusedAsFull(() -> added[0] = client.addComparisons("p", comparisons(200, annotator)).numAdded());
        comparisonsAcked += added[0];
      }
      assertThat(refused).as("AddComparisons refused once the database had no room").isTrue();
      // A second refusal right away: the first one left no transaction behind.
      assertThat(refusedAsFull(() -> client.addComparisons("p", comparisons(200, "again")))).isTrue();
      if (!refusedAsFull(() -> client.selectBatch("p", SelectOptions.of(5, Strategy.RANDOM)))) {
        selectionsAcked++;
      }
      // Reads answer from memory, and memory holds exactly what was acknowledged.
      assertThat(client.getProject("p").numResponses()).isEqualTo(200);
      assertThat(client.getProject("p").numComparisons()).isEqualTo(comparisonsAcked);

      fs.free();

      // No restart: the same server takes every kind of write again.
      comparisonsAcked += client.addComparisons("p", comparisons(3, "after")).numAdded();
      client.addResponses("p", ids("late", 100), ids("q", 100), rows(100, 7));
      client.selectBatch("p", SelectOptions.of(5, Strategy.RANDOM));
      selectionsAcked++;
      client.createProject("p2", DIM, Head.LINEAR, 1.0);
      assertThat(client.getProject("p").numResponses()).isEqualTo(300);
      assertThat(client.getProject("p").numComparisons()).isEqualTo(comparisonsAcked);
      assertThat(server.terminate(Duration.ofSeconds(60))).isIn(0, 143);
    }

    // What is on disk is exactly what was acknowledged.
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.getProject("p").numResponses()).isEqualTo(300);
      assertThat(client.getProject("p").numComparisons()).isEqualTo(comparisonsAcked);
      assertThat(client.getProject("p").numPendingPairs()).isEqualTo(5L * selectionsAcked);
      List<Comparison> stored = client.listComparisons("p");
      assertThat(stored).hasSize((int) comparisonsAcked);
      assertThat(stored.get(stored.size() - 1).annotatorId()).isEqualTo("after");
      assertThat(client.listResponses("p").ids()).containsExactlyElementsOf(
          java.util.stream.Stream.concat(ids("r", 200).stream(), ids("late", 100).stream()).toList());
      float[][] last = client.getResponses("p", List.of("late-99"), true).embeddings();
      assertThat(last[0]).containsExactly(rows(100, 7)[99]);
      assertThat(client.listProjects()).extracting(p -> p.projectId()).containsExactly("p", "p2");
    }
  }

  /** A RegisterSelection carrying 400 new rows (100 KiB) as pairs (n-0, n-1), (n-2, n-3), ... for model 1. */
  static Registration registrationWithRows() {
    List<String> ids = ids("n", 400);
    List<Pair> pairs = new ArrayList<>();
    for (int i = 0; i < 400; i += 2) {
      pairs.add(new Pair(ids.get(i), ids.get(i + 1)));
    }
    float[][] x = rows(400, 3);
    float[] flat = new float[400 * DIM];
    for (int i = 0; i < 400; i++) {
      System.arraycopy(x[i], 0, flat, i * DIM, DIM);
    }
    return new Registration(Strategy.DOPT, 1, pairs, new double[pairs.size()], 0, pairs.size(),
        SelectOptions.CandidateSource.CROSS_PROMPT, 0, 0, "spark")
        .withNewResponses(new ResponseRows(ids, ids("q", 400), flat, DIM));
  }

  @Test
  void aRegistrationWithNewRowsOnAFullDiskStoresNeitherRowsNorSelection() throws Exception {
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.createProject("p", DIM, Head.LINEAR, 1.0);
      client.addResponses("p", ids("r", 100), ids("q", 100), rows(100, 0));
      client.addComparisons("p", comparisons(10, "before"));
      client.fit("p", FitOptions.defaults());

      fs.fill();
      assertThat(refusedAsFull(() -> client.registerSelection("p", registrationWithRows())))
          .as("100 KiB of new rows on a full disk").isTrue();
      assertThat(client.getProject("p").numResponses()).isEqualTo(100);
      assertThat(client.getProject("p").numPendingPairs()).isZero();
      assertThat(client.listSelections("p")).isEmpty();

      fs.free();
      client.registerSelection("p", registrationWithRows());
      assertThat(client.getProject("p").numResponses()).isEqualTo(500);
      assertThat(server.terminate(Duration.ofSeconds(60))).isIn(0, 143);
    }
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.getProject("p").numResponses()).isEqualTo(500);
      assertThat(client.getProject("p").numPendingPairs()).isEqualTo(200);
      assertThat(client.listSelections("p")).hasSize(1);
      assertThat(client.getResponses("p", List.of("n-399"), true).embeddings()[0]).containsExactly(rows(400, 3)[399]);
      assertThat(server.terminate(Duration.ofSeconds(60))).isIn(0, 143);
    }
  }

  @Test
  void serverStartsOnAFullDiskServesReadsAndTakesWritesOnceSpaceReturns() throws Exception {
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      client.createProject("p", DIM, Head.LINEAR, 1.0);
      client.addResponses("p", ids("r", 100), ids("q", 100), rows(100, 0));
      client.addComparisons("p", comparisons(5, "before"));
      assertThat(server.terminate(Duration.ofSeconds(60))).isIn(0, 143);
    }

    fs.fill();
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient client = ActiveRmClient.connect(server.target())) {
      assertThat(client.getProject("p").numResponses()).isEqualTo(100);
      assertThat(client.getProject("p").numComparisons()).isEqualTo(5);
      assertThat(client.getResponses("p", List.of("r-99"), true).embeddings()[0]).containsExactly(rows(100, 0)[99]);
      long added = 0;
      boolean refused = false;
      for (int call = 0; call < 400 && !refused; call++) {
        long[] n = new long[1];
        refused = refusedAsFull(() -> n[0] = client.addComparisons("p", comparisons(200, "full")).numAdded());
        added += n[0];
      }
      assertThat(refused).isTrue();

      fs.free();

      added += client.addComparisons("p", comparisons(1, "after")).numAdded();
      assertThat(client.getProject("p").numComparisons()).isEqualTo(5 + added);
      assertThat(server.terminate(Duration.ofSeconds(60))).isIn(0, 143);
    }
  }
}

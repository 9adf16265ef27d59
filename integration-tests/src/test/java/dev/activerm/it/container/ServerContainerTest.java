package dev.activerm.it.container;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectImageResponse;
import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.ActiveRmException;
import dev.activerm.client.FitOptions;
import dev.activerm.client.SelectOptions;
import dev.activerm.client.Types.Comparison;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Model;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.ProjectInfo;
import dev.activerm.client.Types.Responses;
import dev.activerm.client.Types.Scores;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.Strategy;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.testcontainers.containers.GenericContainer;

/**
 * The packaged server in its container image, driven through the Java and Python clients over the port
 * published on 127.0.0.1: the image's runtime contract, then durability of everything
 * acknowledged across a graceful stop and a SIGKILL, each time on a new container reusing
 * the same named volume.
 *
 * <p>One image build for the class; nine container starts in all, the last one serving the
 * Python client's pytest suite.
 */
@RequiresDocker
@Timeout(value = 10, unit = TimeUnit.MINUTES)
class ServerContainerTest {
  private static final Duration CALL_DEADLINE = Duration.ofSeconds(30);
  private static final int DIM = 16;

  private static ServerImage image;

  @BeforeAll
  static void buildImage() throws Exception {
    image = ServerImage.build();
  }

  @AfterAll
  static void removeImageAndVolumes() {
    if (image != null) {
      image.close();
    }
  }

  @Test
  void imageRunsUnprivilegedAsPid1AndServesHealthOnLoopback() throws Exception {
    InspectImageResponse inspected = image.docker().inspectImageCmd(image.imageName()).exec();
    assertThat(inspected.getConfig().getUser()).isEqualTo("activerm:activerm");
    assertThat(inspected.getConfig().getVolumes()).containsKey("/data");
    assertThat(inspected.getConfig().getExposedPorts())
        .extracting(Object::toString).contains(ServerImage.GRPC_PORT + "/tcp");
    assertThat(inspected.getConfig().getEnv())
        .contains("ACTIVERM_BIND=0.0.0.0", "ACTIVERM_DATA_DIR=/data", "ACTIVERM_PORT=50051");

    try (GenericContainer<?> server = image.container(null, "contract")) {
      server.start();
      // Published on the host's loopback only.
      assertThat(image.docker().inspectContainerCmd(server.getContainerId()).exec()
              .getNetworkSettings().getPorts().getBindings().values())
          .flatExtracting(bindings -> List.of(bindings))
          .extracting(b -> b.getHostIp())
          .containsOnly("127.0.0.1");
      assertThat(server.execInContainer("id", "-u").getStdout().trim()).isEqualTo("10001");
      // java is PID 1 (docker stop's SIGTERM reaches the server) with the image's JVM flags.
      String cmdline = server.execInContainer("cat", "/proc/1/cmdline").getStdout().replace('\0', ' ');
      assertThat(cmdline).startsWith("java ")
          .contains("-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "/opt/activerm/activerm-server.jar")
          .contains("-XX:SharedArchiveFile=/opt/activerm/activerm.jsa");
      // The class archive recorded at build time is mapped (an unusable one is skipped with only a warning).
      assertThat(server.execInContainer("grep", "-q", "/opt/activerm/activerm.jsa", "/proc/1/maps").getExitCode())
          .as("activerm.jsa mapped by the JVM").isZero();
      // The image's HEALTHCHECK command succeeds against the running server.
      assertThat(server.execInContainer("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${ACTIVERM_PORT}").getExitCode())
          .isZero();
      assertThat(server.execInContainer("ls", "/data").getStdout()).contains("activerm.db");

      ManagedChannel channel = channelTo(server);
      try {
        var health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        assertThat(health.check(HealthCheckRequest.getDefaultInstance()).getStatus())
            .isEqualTo(ServingStatus.SERVING);
        assertThat(health.check(HealthCheckRequest.newBuilder()
                .setService("activerm.v1.ActiveRewardModelingService").build()).getStatus())
            .isEqualTo(ServingStatus.SERVING);
        try (ActiveRmClient client = ActiveRmClient.builder().channel(channel).deadline(CALL_DEADLINE).build()) {
          // A domain error crosses the container boundary with its code and message.
          assertThatThrownBy(() -> client.getProject("no-such-project"))
              .isInstanceOfSatisfying(ActiveRmException.class,
                  e -> assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND));
        }
      } finally {
        shutdown(channel);
      }
    }
  }

  @Test
  void everythingAcknowledgedSurvivesGracefulStopAndSigkillOnTheSameVolume() throws Exception {
    String volume = image.newVolume("durability");
    Dataset linear = Dataset.generate("hh-helpful", 300, 30, DIM, 200, 1);
    Dataset mlpProject = Dataset.generate("team-b/mlp", 40, 8, DIM, 20, 2);
    Dataset later = linear.continuation(40, 60, 3);

    // 1. First container: create, ingest (several upload chunks), compare, delete one project.
    List<ProjectInfo> projectsBefore;
    List<Comparison> comparisonsBefore;
    try (GenericContainer<?> first = image.container(volume, "first")) {
      first.start();
      withClient(first, client -> {
        client.createProject(linear.projectId, DIM, Head.LINEAR, 2.5);
        client.createProject(mlpProject.projectId, DIM, Head.MLP, List.of(8, 4), 1.0);
        client.createProject("short-lived", DIM, Head.LINEAR, 1.0);
        assertThat(client.addResponses(linear.projectId, linear.ids, linear.promptIds, linear.embeddings).numAdded())
            .isEqualTo(linear.ids.size());
        client.addResponses(mlpProject.projectId, mlpProject.ids, mlpProject.promptIds, mlpProject.embeddings);
        assertThat(client.addComparisons(linear.projectId, linear.comparisons).numComparisons())
            .isEqualTo(linear.comparisons.size());
        client.addComparisons(mlpProject.projectId, mlpProject.comparisons);
        client.deleteProject("short-lived");
        linear.assertStored(client);
        mlpProject.assertStored(client);
      });
      try (ActiveRmClient client = clientFor(first)) {
        projectsBefore = client.listProjects();
        comparisonsBefore = client.listComparisons(linear.projectId);
      }
      stopGracefully(first);
    }

    // 2. A new container on the same volume finds everything back, exactly; it takes more
    //    data, and is SIGKILLed right after the server acknowledged it.
    try (GenericContainer<?> second = image.container(volume, "second")) {
      second.start();
      withClient(second, client -> {
        assertThat(client.listProjects()).isEqualTo(projectsBefore);
        assertThat(client.listProjects()).extracting(ProjectInfo::projectId)
            .containsExactly(linear.projectId, mlpProject.projectId).doesNotContain("short-lived");
        ProjectInfo mlp = client.getProject(mlpProject.projectId);
        assertThat(mlp.head()).isEqualTo(Head.MLP);
        assertThat(mlp.hiddenSizes()).containsExactly(8, 4);
        assertThat(client.getProject(linear.projectId).l2()).isEqualTo(2.5);
        // Same comparisons, including the server's create times.
        assertThat(client.listComparisons(linear.projectId)).isEqualTo(comparisonsBefore);
        linear.assertStored(client);
        mlpProject.assertStored(client);

        client.addResponses(linear.projectId, later.ids, later.promptIds, later.embeddings);
        client.addComparisons(linear.projectId, later.comparisons);
      });
      kill(second);
    }

    // 3. After the SIGKILL, a third container has every acknowledged write.
    try (GenericContainer<?> third = image.container(volume, "third")) {
      third.start();
      withClient(third, client -> {
        Dataset all = linear.plus(later);
        all.assertStored(client);
        mlpProject.assertStored(client);
        assertThat(client.listComparisons(all.projectId)).startsWith(comparisonsBefore.toArray(Comparison[]::new));
      });
      stopGracefully(third);
    }
  }

  /** Fit and Score through the container; after a restart the model and its rewards are back. */
  @Test
  void modelsSurviveRestart() throws Exception {
    String volume = image.newVolume("models");
    Dataset data = Dataset.generate("models", 120, 12, DIM, 150, 4);
    List<Pair> pairs = List.of(new Pair(data.ids.get(0), data.ids.get(1)), new Pair(data.ids.get(5), data.ids.get(50)));
    Model model;
    Scores before;

    try (GenericContainer<?> first = image.container(volume, "models-first")) {
      first.start();
      try (ActiveRmClient client = clientFor(first)) {
        data.create(client, Head.LINEAR);
        model = client.fit(data.projectId, FitOptions.defaults().withSeed(7));
        assertThat(model.version()).isEqualTo(1);
        assertThat(model.report().numComparisons()).isEqualTo(data.comparisons.size());
        before = client.score(data.projectId, model.version(), data.ids, pairs);
        assertThat(before.modelVersion()).isEqualTo(model.version());
        assertThat(before.rewards()).hasSize(data.ids.size());
        assertThat(before.pairScores()).hasSize(pairs.size());
      }
      stopGracefully(first);
    }

    try (GenericContainer<?> second = image.container(volume, "models-second")) {
      second.start();
      try (ActiveRmClient client = clientFor(second)) {
        assertThat(client.getProject(data.projectId).latestModelVersion()).isEqualTo(model.version());
        Scores after = client.score(data.projectId, 0, data.ids, pairs); // 0: the latest model
        assertThat(after.modelVersion()).isEqualTo(model.version());
        // The stored parameters are the fitted ones: the same rewards and probabilities.
        for (int i = 0; i < data.ids.size(); i++) {
          assertThat(after.rewards()[i]).as("reward of %s", data.ids.get(i))
              .isCloseTo(before.rewards()[i], within(1e-9));
        }
        for (int k = 0; k < pairs.size(); k++) {
          assertThat(after.pairScores().get(k).probability())
              .isCloseTo(before.pairScores().get(k).probability(), within(1e-9));
        }
      }
      stopGracefully(second);
    }
  }

  /** SelectBatch through the container; after a restart the selection and its pending pairs are back. */
  @Test
  void selectionsSurviveRestart() throws Exception {
    String volume = image.newVolume("selections");
    Dataset data = Dataset.generate("selections", 120, 12, DIM, 150, 5);
    Selection selection;

    try (GenericContainer<?> first = image.container(volume, "selections-first")) {
      first.start();
      try (ActiveRmClient client = clientFor(first)) {
        data.create(client, Head.LINEAR);
        client.fit(data.projectId, FitOptions.defaults().withSeed(7));
        selection = client.selectBatch(data.projectId, SelectOptions.of(8, Strategy.GREEDY_DOPT).withSeed(3));
        assertThat(selection.pairs()).hasSize(8);
        assertThat(client.getProject(data.projectId).numPendingPairs()).isEqualTo(8);
      }
      stopGracefully(first);
    }

    try (GenericContainer<?> second = image.container(volume, "selections-second")) {
      second.start();
      try (ActiveRmClient client = clientFor(second)) {
        assertThat(client.getProject(data.projectId).numPendingPairs()).isEqualTo(8);
        Selection stored = client.getSelection(data.projectId, selection.selectionId());
        assertThat(stored.pairs()).isEqualTo(selection.pairs());
        assertThat(stored.modelVersion()).isEqualTo(selection.modelVersion());
      }
      stopGracefully(second);
    }
  }

  /**
   * The Python client's own suite (projects, responses, comparisons, Fit/Score, SelectBatch,
   * the numpy congruence checks) pointed at the container's published port instead of a jar.
   * scripts/run-tests.sh makes the venv if it is missing.
   */
  @Test
  void pythonClientSuitePassesAgainstTheContainer() throws Exception {
    try (GenericContainer<?> server = image.container(null, "python")) {
      server.start();
      assertThat(InetAddress.getByName(server.getHost()).isLoopbackAddress()).isTrue();
      Path pythonRoot = Path.of("..", "client-python-stub").toAbsolutePath().normalize();
      Path log = Files.createTempFile("activerm-pytest-container-", ".log");
      Process pytest = new ProcessBuilder(
              "bash", "scripts/run-tests.sh", dev.activerm.it.ServerProcess.jar().toAbsolutePath().toString(),
              "--target", "127.0.0.1:" + server.getMappedPort(ServerImage.GRPC_PORT), "-q", "-p", "no:cacheprovider",
              "tests/test_projects.py", "tests/test_responses.py", "tests/test_comparisons.py",
              "tests/test_models.py", "tests/test_select.py", "tests/test_congruence.py")
          .directory(pythonRoot.toFile())
          .redirectErrorStream(true)
          .redirectOutput(log.toFile())
          .start();
      boolean done = pytest.waitFor(8, TimeUnit.MINUTES);
      if (!done) {
        pytest.destroyForcibly();
      }
      String output = Files.readString(log);
      Files.deleteIfExists(log);
      System.out.println(output.lines().reduce((a, b) -> b).orElse(""));
      assertThat(done).as("pytest finished in time:\n%s", output).isTrue();
      assertThat(pytest.exitValue()).as("pytest against the container:\n%s", output).isZero();
      assertThat(output).containsPattern("\\d+ passed").doesNotContain(" failed");
      stopGracefully(server);
    }
  }

  // ---- plumbing ----

  /** The container's published gRPC port, reached on loopback only. */
  private static ManagedChannel channelTo(GenericContainer<?> server) throws Exception {
    assertThat(InetAddress.getByName(server.getHost()).isLoopbackAddress())
        .as("Testcontainers host %s must be loopback", server.getHost()).isTrue();
    return NettyChannelBuilder.forAddress("127.0.0.1", server.getMappedPort(ServerImage.GRPC_PORT))
        .usePlaintext()
        .maxInboundMessageSize(64 << 20)
        .build();
  }

  private static ActiveRmClient clientFor(GenericContainer<?> server) throws Exception {
    assertThat(InetAddress.getByName(server.getHost()).isLoopbackAddress()).isTrue();
    return ActiveRmClient.builder()
        .target("127.0.0.1:" + server.getMappedPort(ServerImage.GRPC_PORT))
        .deadline(CALL_DEADLINE)
        .uploadDeadline(Duration.ofMinutes(2))
        .chunkBytes(4096) // Several chunks per upload, also through the container's network.
        .build();
  }

  private static void withClient(GenericContainer<?> server, Consumer<ActiveRmClient> body) throws Exception {
    try (ActiveRmClient client = clientFor(server)) {
      body.accept(client);
    }
  }

  private static void shutdown(ManagedChannel channel) throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
  }

  /** docker stop: SIGTERM, the server drains and closes the database; it must log that it stopped. */
  private static void stopGracefully(GenericContainer<?> server) {
    String id = server.getContainerId();
    image.docker().stopContainerCmd(id).withTimeout(60).exec();
    InspectContainerResponse state = image.docker().inspectContainerCmd(id).exec();
    assertThat(state.getState().getRunning()).isFalse();
    assertThat(server.getLogs()).contains("activerm stopped");
    // 143 = 128 + SIGTERM: the JVM ran its shutdown hooks and exited on the signal.
    assertThat(state.getState().getExitCodeLong()).isIn(0L, 143L);
  }

  /** docker kill: SIGKILL, no shutdown hook runs. */
  private static void kill(GenericContainer<?> server) {
    String id = server.getContainerId();
    image.docker().killContainerCmd(id).withSignal("KILL").exec();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (Boolean.TRUE.equals(image.docker().inspectContainerCmd(id).exec().getState().getRunning())) {
      assertThat(System.nanoTime()).as("container still running 30 s after SIGKILL").isLessThan(deadline);
      sleep(100);
    }
    assertThat(server.getLogs()).doesNotContain("activerm stopped");
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A project's responses and comparisons, generated from a seed, and checks that they are stored. */
  private static final class Dataset {
    final String projectId;
    final List<String> ids;
    final List<String> promptIds;
    final float[][] embeddings;
    final List<ComparisonInput> comparisons;

    private Dataset(String projectId, List<String> ids, List<String> promptIds, float[][] embeddings,
        List<ComparisonInput> comparisons) {
      this.projectId = projectId;
      this.ids = ids;
      this.promptIds = promptIds;
      this.embeddings = embeddings;
      this.comparisons = comparisons;
    }

    static Dataset generate(String projectId, int responses, int prompts, int dim, int numComparisons, long seed) {
      return generate(projectId, "r", 0, responses, prompts, dim, List.of(), numComparisons, seed);
    }

    /** More responses for the same project (new ids), and comparisons over old and new ones. */
    Dataset continuation(int responses, int numComparisons, long seed) {
      return generate(projectId, "late-r", 0, responses, 7, embeddings[0].length, ids, numComparisons, seed);
    }

    private static Dataset generate(String projectId, String prefix, int first, int responses, int prompts, int dim,
        List<String> existing, int numComparisons, long seed) {
      Random rnd = new Random(seed);
      List<String> ids = new ArrayList<>();
      List<String> promptIds = new ArrayList<>();
      float[][] x = new float[responses][dim];
      for (int i = 0; i < responses; i++) {
        ids.add(prefix + (first + i));
        promptIds.add("p" + rnd.nextInt(prompts));
        for (int j = 0; j < dim; j++) {
          x[i][j] = (float) rnd.nextGaussian();
        }
      }
      List<String> pool = new ArrayList<>(existing);
      pool.addAll(ids);
      Outcome[] outcomes = Outcome.values();
      double[] weights = {1.0, 0.5, 2.0};
      List<ComparisonInput> comparisons = new ArrayList<>();
      for (int k = 0; k < numComparisons; k++) {
        // Each comparison involves at least one of this batch's responses.
        String a = ids.get(rnd.nextInt(ids.size()));
        String b;
        do {
          b = pool.get(rnd.nextInt(pool.size()));
        } while (b.equals(a));
        comparisons.add(new ComparisonInput(a, b, outcomes[rnd.nextInt(outcomes.length)],
            k % 4 == 0 ? "" : "annotator-" + (k % 3), weights[k % weights.length]));
      }
      return new Dataset(projectId, ids, promptIds, x, comparisons);
    }

    Dataset plus(Dataset more) {
      List<String> allIds = new ArrayList<>(ids);
      allIds.addAll(more.ids);
      List<String> allPrompts = new ArrayList<>(promptIds);
      allPrompts.addAll(more.promptIds);
      float[][] all = new float[embeddings.length + more.embeddings.length][];
      System.arraycopy(embeddings, 0, all, 0, embeddings.length);
      System.arraycopy(more.embeddings, 0, all, embeddings.length, more.embeddings.length);
      List<ComparisonInput> allComparisons = new ArrayList<>(comparisons);
      allComparisons.addAll(more.comparisons);
      return new Dataset(projectId, allIds, allPrompts, all, allComparisons);
    }

    /** Creates the project and stores its responses and comparisons. */
    void create(ActiveRmClient client, Head head) {
      client.createProject(projectId, embeddings[0].length, head, 1.0);
      client.addResponses(projectId, ids, promptIds, embeddings);
      client.addComparisons(projectId, comparisons);
    }

    /** Counters, ids in insertion order, prompt ids, bit-exact embeddings and every comparison field. */
    void assertStored(ActiveRmClient client) {
      ProjectInfo info = client.getProject(projectId);
      assertThat(info.numResponses()).isEqualTo(ids.size());
      assertThat(info.numComparisons()).isEqualTo(comparisons.size());
      assertThat(info.numPrompts()).isEqualTo(promptIds.stream().distinct().count());

      Responses listed = client.listResponses(projectId);
      assertThat(listed.ids()).isEqualTo(ids);
      assertThat(listed.promptIds()).isEqualTo(promptIds);
      Responses withEmbeddings = client.getResponses(projectId, ids, true);
      assertThat(withEmbeddings.embeddings()).isDeepEqualTo(embeddings);

      List<Comparison> stored = client.listComparisons(projectId);
      assertThat(stored).hasSize(comparisons.size());
      for (int k = 0; k < comparisons.size(); k++) {
        ComparisonInput sent = comparisons.get(k);
        Comparison got = stored.get(k);
        assertThat(got.aId()).as("comparison %d a", k).isEqualTo(sent.aId());
        assertThat(got.bId()).as("comparison %d b", k).isEqualTo(sent.bId());
        assertThat(got.outcome()).as("comparison %d outcome", k).isEqualTo(sent.outcome());
        assertThat(got.annotatorId()).as("comparison %d annotator", k).isEqualTo(sent.annotatorId());
        assertThat(got.weight()).as("comparison %d weight", k).isEqualTo(sent.weight());
        assertThat(got.createTime()).as("comparison %d create time", k).isNotNull();
      }
    }
  }
}

package dev.activerm.server.api;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.server.ActiveRmServer;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The domain series on /metrics after a Fit, two Scores and two SelectBatches: fit and
 * selection timers per head type and strategy, cache hits, misses, entries and bytes.
 */
@Timeout(120)
class DomainMetricsTest {
  static final int DIM = 6;
  static final int ROWS = 40;
  static final long CACHE_BYTES = 32L << 20;

  @TempDir Path dir;

  @Test
  void fitSelectionAndCacheSeriesAppearWithSaneValues() throws Exception {
    ServerConfig d = ServerConfig.defaults(dir);
    ServerConfig config = new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(), CACHE_BYTES,
        d.grpcThreads(), d.computeThreads(), d.shutdownGrace(), d.security(), d.limits(), 0);
    String name = InProcessServerBuilder.generateName();
    try (ActiveRmServer server = new ActiveRmServer(InProcessServerBuilder.forName(name), config).start()) {
      String before = scrape(server);
      assertThat(value(before, "activerm_fit_duration_seconds_count", "head=\"LINEAR\"")).isEqualTo(0.0);
      assertThat(value(before, "cache_gets_total", "cache=\"derived_state\"", "result=\"miss\"")).isEqualTo(0.0);
      assertThat(value(before, "activerm_cache_bytes", "cache=\"posteriors\"")).isEqualTo(0.0);

      ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
      try {
        var stub = ActiveRewardModelingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        var async = ActiveRewardModelingServiceGrpc.newStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        stub.createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).setL2(1.0).build());
        upload(async);
        AddComparisonsRequest.Builder labels = AddComparisonsRequest.newBuilder().setProjectId("p");
        for (int k = 0; k < 30; k++) {
          labels.addComparisons(Comparison.newBuilder().setAId("r" + k).setBId("r" + (k + 7) % ROWS)
              .setOutcome(k % 3 == 0 ? Outcome.OUTCOME_B : Outcome.OUTCOME_A));
        }
        stub.addComparisons(labels.build());
        stub.fit(FitRequest.newBuilder().setProjectId("p").build());
        ScoreRequest score = ScoreRequest.newBuilder().setProjectId("p")
            .addPairs(ResponsePair.newBuilder().setAId("r1").setBId("r2")).build();
        stub.score(score); // builds the posterior: a miss
        stub.score(score); // the same version: a hit
        for (int seed = 0; seed < 2; seed++) {
          stub.selectBatch(SelectBatchRequest.newBuilder().setProjectId("p").setBatchSize(3)
              .setStrategy(Strategy.STRATEGY_GREEDY_DOPT).setSeed(seed)
              .setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.getDefaultInstance())).build());
        }
      } finally {
        channel.shutdownNow();
      }

      String body = scrape(server);
      assertThat(value(body, "activerm_fit_duration_seconds_count", "head=\"LINEAR\"")).isEqualTo(1.0);
      assertThat(value(body, "activerm_fit_duration_seconds_sum", "head=\"LINEAR\"")).isPositive().isLessThan(120.0);
      assertThat(value(body, "activerm_fit_duration_seconds_count", "head=\"MLP\"")).isEqualTo(0.0);
      assertThat(body).containsPattern("activerm_fit_duration_seconds_bucket\\{[^}]*head=\"LINEAR\"");
      assertThat(value(body, "activerm_select_duration_seconds_count", "strategy=\"GREEDY_DOPT\"")).isEqualTo(2.0);
      assertThat(value(body, "activerm_select_duration_seconds_sum", "strategy=\"GREEDY_DOPT\""))
          .isPositive().isLessThan(120.0);
      assertThat(value(body, "activerm_select_duration_seconds_count", "strategy=\"RANDOM\"")).isEqualTo(0.0);

      // Score: the Laplace posterior of version 1 is built once, then found.
      assertThat(value(body, "cache_gets_total", "cache=\"posteriors\"", "result=\"miss\"")).isEqualTo(1.0);
      assertThat(value(body, "cache_gets_total", "cache=\"posteriors\"", "result=\"hit\"")).isEqualTo(1.0);
      assertThat(value(body, "cache_size", "cache=\"posteriors\"")).isEqualTo(1.0);
      // A 6 x 6 double factor at least, and far below the bound.
      assertThat(value(body, "activerm_cache_bytes", "cache=\"posteriors\"")).isGreaterThanOrEqualTo(8.0 * DIM * DIM)
          .isLessThan(1 << 20);
      // Score's posteriors live in the one derived-state cache, so --cache-mib is their bound too.
      assertThat(value(body, "activerm_cache_max_bytes", "cache=\"posteriors\"")).isEqualTo((double) CACHE_BYTES);
      // SelectBatch: the labeled-pair set is reused by the second call (same comparisons); the
      // labeled information misses both times (the first selection's pairs are pending).
      assertThat(value(body, "cache_gets_total", "cache=\"derived_state\"", "result=\"hit\"")).isGreaterThanOrEqualTo(1.0);
      assertThat(value(body, "cache_gets_total", "cache=\"derived_state\"", "result=\"miss\"")).isGreaterThanOrEqualTo(2.0);
      assertThat(value(body, "cache_size", "cache=\"derived_state\"")).isGreaterThanOrEqualTo(2.0);
      assertThat(value(body, "activerm_cache_bytes", "cache=\"derived_state\"")).isPositive().isLessThan(CACHE_BYTES);
      assertThat(value(body, "activerm_cache_max_bytes", "cache=\"derived_state\"")).isEqualTo((double) CACHE_BYTES);
      assertThat(value(body, "cache_evictions_total", "cache=\"derived_state\"")).isEqualTo(0.0);
      // No non-latest version was read.
      assertThat(value(body, "cache_gets_total", "cache=\"model_versions\"", "result=\"miss\"")).isEqualTo(0.0);
      // Pool sizes.
      assertThat(value(body, "activerm_responses", new String[0])).isEqualTo(ROWS);
      assertThat(value(body, "activerm_comparisons", new String[0])).isEqualTo(30.0);
    }
  }

  static void upload(dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceStub async)
      throws Exception {
    Random random = new Random(1);
    float[][] x = new float[ROWS][DIM];
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      for (int j = 0; j < DIM; j++) {
        x[i][j] = (float) random.nextGaussian();
      }
      ids.add("r" + i);
      prompts.add("q" + i % 4);
    }
    TestServer.upload(async, AddResponsesRequest.newBuilder().setProjectId("p")
        .addAllResponseIds(ids).addAllPromptIds(prompts).setEmbeddings(TestServer.matrix(x)).build());
  }

  static String scrape(ActiveRmServer server) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.metricsPort() + "/metrics"))
            .timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  /** The value of the one sample of name whose labels contain every given label="value". */
  static double value(String body, String name, String... labels) {
    Pattern line = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})? (\\S+)$", Pattern.MULTILINE);
    Matcher m = line.matcher(body);
    List<Double> found = new ArrayList<>();
    while (m.find()) {
      String tags = m.group(1) == null ? "" : m.group(1);
      boolean all = true;
      for (String l : labels) {
        all &= tags.contains(l);
      }
      if (all) {
        found.add(Double.parseDouble(m.group(2)));
      }
    }
    assertThat(found).as("samples of %s with %s in\n%s", name, List.of(labels), body).hasSize(1);
    return found.get(0);
  }
}

package dev.activerm.server.api;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.DeleteProjectRequest;
import dev.activerm.proto.v1.FitRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.server.ActiveRmServer;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class MetricsEndpointTest {
  @TempDir Path dir;

  @Test
  void prometheusEndpointHasRpcHistogramsStatusCountsAndPoolGauges() throws Exception {
    ServerConfig d = ServerConfig.defaults(dir);
    ServerConfig config = new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(), d.cacheBytes(),
        d.grpcThreads(), d.computeThreads(), d.shutdownGrace(), d.security(), d.limits(), 0);
    String name = InProcessServerBuilder.generateName();
    try (ActiveRmServer server = new ActiveRmServer(InProcessServerBuilder.forName(name), config).start()) {
      ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
      try {
        var stub = ActiveRewardModelingServiceGrpc.newBlockingStub(channel);
        stub.createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(2).build());
        catchThrowableOfType(StatusRuntimeException.class,
            () -> stub.getProject(GetProjectRequest.newBuilder().setProjectId("ghost").build()));
      } finally {
        channel.shutdownNow();
      }
      assertThat(server.metricsPort()).isPositive();
      HttpResponse<String> r = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.metricsPort() + "/metrics"))
              .timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      String body = r.body();
      assertThat(body).containsPattern(
          "grpc_server_processing_duration_seconds_bucket\\{[^}]*method=\"CreateProject\"[^}]*statusCode=\"OK\"");
      assertThat(body).containsPattern(
          "grpc_server_processing_duration_seconds_count\\{[^}]*method=\"GetProject\"[^}]*statusCode=\"NOT_FOUND\"[^}]*} 1");
      assertThat(body).contains("activerm_projects 1.0");
      assertThat(body).contains("jvm_memory_used_bytes");
    }
  }

  @Test
  void deletingAProjectReleasesItsModelAndCachedState() throws Exception {
    ServerConfig d = ServerConfig.defaults(dir);
    ServerConfig config = new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(), d.cacheBytes(),
        d.grpcThreads(), d.computeThreads(), d.shutdownGrace(), d.security(), d.limits(), 0);
    try (TestServer server = new TestServer(config)) {
      for (String id : List.of("gone", "kept")) {
        fittedAndSelected(server, id);
      }
      String before = scrape(server.metricsPort());
      assertThat(gauge(before, "activerm_models_in_memory", "")).isEqualTo(2);
      double derivedBefore = gauge(before, "cache_size", "cache=\"derived_state\"");
      double posteriorsBefore = gauge(before, "cache_size", "cache=\"posteriors\"");
      assertThat(derivedBefore).isPositive();
      assertThat(posteriorsBefore).isEqualTo(2);

      server.blocking().deleteProject(DeleteProjectRequest.newBuilder().setProjectId("gone").build());

      String after = scrape(server.metricsPort());
      assertThat(gauge(after, "activerm_models_in_memory", "")).isEqualTo(1);
      // Exactly the deleted project's entries go: each project cached the same kinds.
      assertThat(gauge(after, "cache_size", "cache=\"derived_state\"")).isEqualTo(derivedBefore / 2);
      assertThat(gauge(after, "cache_size", "cache=\"posteriors\"")).isEqualTo(1);
      assertThat(server.blocking().score(pairScore("kept")).getPairScores(0).getRewardDiffStddev()).isPositive();
    }
  }

  /** A LINEAR project with 8 responses, 6 labels, one Fit, a Score with stddev and a DOPT selection. */
  private static void fittedAndSelected(TestServer server, String id) {
    var stub = server.blocking();
    stub.createProject(CreateProjectRequest.newBuilder().setProjectId(id).setEmbeddingDim(2).build());
    AddResponsesRequest.Builder up = AddResponsesRequest.newBuilder().setProjectId(id);
    float[][] x = new float[8][];
    for (int i = 0; i < 8; i++) {
      up.addResponseIds("r" + i).addPromptIds("q" + i / 2);
      x[i] = new float[] {i * 0.5f, (i % 3) - 1f};
    }
    TestServer.upload(server.async(), up.setEmbeddings(TestServer.matrix(x)).build());
    AddComparisonsRequest.Builder labels = AddComparisonsRequest.newBuilder().setProjectId(id);
    for (int k = 0; k < 6; k++) {
      labels.addComparisons(Comparison.newBuilder().setAId("r" + k).setBId("r" + (k + 2))
          .setOutcome(k % 2 == 0 ? Outcome.OUTCOME_A : Outcome.OUTCOME_B));
    }
    stub.addComparisons(labels.build());
    stub.fit(FitRequest.newBuilder().setProjectId(id).build());
    stub.score(pairScore(id));
    stub.selectBatch(SelectBatchRequest.newBuilder().setProjectId(id).setBatchSize(2).setStrategy(Strategy.STRATEGY_DOPT)
        .setCandidates(Candidates.newBuilder().setCrossPrompt(CrossPrompt.getDefaultInstance())).build());
  }

  private static ScoreRequest pairScore(String id) {
    return ScoreRequest.newBuilder().setProjectId(id)
        .addPairs(ResponsePair.newBuilder().setAId("r0").setBId("r7")).build();
  }

  private static String scrape(int port) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  /** The value of the series name{...tag...}; fails the test when it is missing. */
  private static double gauge(String body, String name, String tag) {
    Matcher m = Pattern.compile("(?m)^" + name + "(\\{[^}]*" + tag + "[^}]*\\})? (\\S+)$").matcher(body);
    assertThat(m.find()).as("series %s{%s} in:%n%s", name, tag, body).isTrue();
    return Double.parseDouble(m.group(2));
  }
}

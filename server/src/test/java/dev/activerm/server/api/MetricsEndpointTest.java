package dev.activerm.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.server.ActiveRmServer;
import dev.activerm.server.ServerConfig;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
}

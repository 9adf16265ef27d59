package dev.activerm.server.api;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.server.LogCapture;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import dev.activerm.server.api.auth.ApiKeys;
import dev.activerm.server.core.project.Limits;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Ids a caller sends come back (in messages, field violations and log lines) escaped and
 * bounded: a newline cannot forge a log line, and a huge id cannot turn an answer into
 * RESOURCE_EXHAUSTED "metadata size exceeds hard limit" or fill the log.
 */
@Timeout(120)
class EchoSafetyRpcTest {
  static final String TEAM_KEY = "team-a-key-0123456789abcdef";

  @TempDir Path dir;
  LogCapture logs;

  @BeforeEach
  void captureLogs() {
    logs = new LogCapture();
  }

  @AfterEach
  void releaseLogs() {
    logs.close();
  }

  List<ILoggingEvent> events() {
    return logs.events();
  }

  static void assertSafeLines(List<ILoggingEvent> events) {
    for (ILoggingEvent e : events) {
      assertThat(e.getFormattedMessage()).doesNotContain("\n", "\r").hasSizeLessThan(3000);
      for (String v : e.getMDCPropertyMap().values()) {
        assertThat(v).doesNotContain("\n", "\r").hasSizeLessThan(300);
      }
    }
  }

  @Test
  void aNewlineInAProjectIdCannotForgeALogLine() throws Exception {
    try (TestServer server = new TestServer(dir)) {
      String forged = "p\n2026-01-01T00:00:00.000Z INFO  [activerm-grpc-1] activerm.access - DeleteProject OK in 1 ms";
      StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
          () -> server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId(forged).build()));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      List<ILoggingEvent> access = events().stream().filter(x -> x.getLoggerName().equals("activerm.access")).toList();
      assertThat(access).hasSize(1);
      assertThat(access.get(0).getMDCPropertyMap().get("project")).isEqualTo(
          "p\\n2026-01-01T00:00:00.000Z INFO  [activerm-grpc-1] activerm.access - DeleteProject OK in 1 ms");
      assertSafeLines(events());
    }
  }

  @Test
  void aHugeIdOutsideAKeysScopeIsStillPermissionDenied() throws Exception {
    Path keys = dir.resolve("keys.txt");
    Files.write(keys, List.of("sha256:" + ApiKeys.hash(TEAM_KEY) + " team-a team-a/*"));
    ServerConfig d = ServerConfig.defaults(dir.resolve("data"));
    ServerConfig config = new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(), d.cacheBytes(),
        d.grpcThreads(), d.computeThreads(), d.shutdownGrace(), new ServerConfig.Security(null, null, keys),
        Limits.DEFAULT, -1);
    try (TestServer server = new TestServer(config)) {
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TEAM_KEY);
      ActiveRewardModelingServiceBlockingStub team =
          server.blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
      String huge = "team-b/" + "x".repeat(20_000);
      StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
          () -> team.getProject(GetProjectRequest.newBuilder().setProjectId(huge).build()));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(e.getStatus().getDescription()).contains("…(20007 chars)").hasSizeLessThan(1000);
      assertSafeLines(events());
    }
  }

  @Test
  void aMegabyteResponseIdIsEchoedCut() throws Exception {
    try (TestServer server = new TestServer(dir)) {
      server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(2).build());
      String huge = "r".repeat(1 << 20);
      StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
          () -> server.blocking().listResponses(ListResponsesRequest.newBuilder().setProjectId("p")
              .addResponseIds(huge).addResponseIds("a\nb").build()));
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(e.getStatus().getDescription()).contains("…(1048576 chars)").contains("'a\\nb'")
          .hasSizeLessThan(2000);
      assertThat(TestServer.violatedFields(e)).containsExactly("response_ids[0]", "response_ids[1]");
      assertSafeLines(events());
    }
  }
}

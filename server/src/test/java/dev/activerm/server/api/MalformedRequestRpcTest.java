package dev.activerm.server.api;

import ch.qos.logback.classic.spi.ILoggingEvent;
import dev.activerm.proto.v1.ListProjectsRequest;
import dev.activerm.server.LogCapture;
import dev.activerm.server.RawCalls;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import dev.activerm.server.api.auth.ApiKeys;
import dev.activerm.server.core.project.Limits;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bytes that are not a valid request message, on every method: INVALID_ARGUMENT naming the
 * message type, one short log line (no stack trace), and a bounded number of lines however
 * many such calls arrive, with or without an API key.
 */
@Timeout(120)
class MalformedRequestRpcTest {
  static final byte[] GARBAGE = {(byte) 0xff};

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

  @Test
  void everyMethodAnswersInvalidArgumentNamingTheMessage() throws Exception {
    try (TestServer server = new TestServer(dir)) {
      List<MethodDescriptor<byte[], byte[]>> methods = RawCalls.serviceMethods();
      assertThat(methods).hasSizeGreaterThanOrEqualTo(12);
      for (MethodDescriptor<byte[], byte[]> m : methods) {
        RawCalls.Result r = RawCalls.call(server.channel(), m, GARBAGE);
        assertThat(r.status().getCode()).as(m.getFullMethodName()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(r.status().getDescription()).as(m.getFullMethodName())
            .contains("is not a valid activerm.v1." + m.getBareMethodName() + "Request")
            .contains("generated activerm.v1 stubs");
      }
      assertThat(events()).noneMatch(e -> e.getThrowableProxy() != null);
    }
  }

  @Test
  void unaryMethodsTakeExactlyOneMessage() throws Exception {
    try (TestServer server = new TestServer(dir)) {
      MethodDescriptor<byte[], byte[]> list = RawCalls.method("ListProjects");
      byte[] ok = ListProjectsRequest.getDefaultInstance().toByteArray();
      RawCalls.Result none = RawCalls.call(server.channel(), list);
      assertThat(none.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(none.status().getDescription()).contains("exactly one request message");
      RawCalls.Result two = RawCalls.call(server.channel(), list, ok, ok);
      assertThat(two.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(two.status().getDescription()).contains("exactly one request message");
      assertThat(RawCalls.call(server.channel(), list, ok).status().getCode()).isEqualTo(Status.Code.OK);
    }
  }

  @Test
  void aFloodWithoutAKeyWritesABoundedLog() throws Exception {
    Path keys = dir.resolve("keys.txt");
    Files.write(keys, List.of("sha256:" + ApiKeys.hash("some-key-0123456789abcdef") + " ops admin"));
    ServerConfig d = ServerConfig.defaults(dir.resolve("data"));
    ServerConfig config = new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(), d.cacheBytes(),
        d.grpcThreads(), d.computeThreads(), d.shutdownGrace(), new ServerConfig.Security(null, null, keys),
        Limits.DEFAULT, -1);
    try (TestServer server = new TestServer(config)) {
      int before = events().size();
      MethodDescriptor<byte[], byte[]> health = RawCalls.raw(HealthGrpc.getCheckMethod());
      MethodDescriptor<byte[], byte[]> list = RawCalls.method("ListProjects");
      for (int i = 0; i < 300; i++) {
        RawCalls.Result h = RawCalls.call(server.channel(), health, GARBAGE);
        assertThat(h.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(h.status().getDescription()).contains("not a valid grpc.health.v1.HealthCheckRequest");
        // Without a key the activerm service answers UNAUTHENTICATED before reading the bytes.
        assertThat(RawCalls.call(server.channel(), list, GARBAGE).status().getCode())
            .isIn(Status.Code.UNAUTHENTICATED, Status.Code.INVALID_ARGUMENT);
      }
      List<ILoggingEvent> flood = events().subList(before, events().size());
      assertThat(flood).noneMatch(e -> e.getThrowableProxy() != null);
      // 600 calls: the rate-limited decode lines plus one access line per activerm call at most.
      assertThat(flood.stream().filter(e -> !e.getLoggerName().equals("activerm.access")).count())
          .isLessThanOrEqualTo(RequestDecoding.LOG_LINES_PER_MINUTE + 1);
    }
  }
}

package dev.activerm.server.api;

import dev.activerm.proto.v1.ActiveRewardModelingServiceGrpc.ActiveRewardModelingServiceBlockingStub;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.ListProjectsRequest;
import dev.activerm.proto.v1.Project;
import dev.activerm.server.ServerConfig;
import dev.activerm.server.TestServer;
import dev.activerm.server.api.auth.ApiKeys;
import dev.activerm.server.core.project.Limits;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class SecurityAndLimitsRpcTest {
  static final String ADMIN_KEY = "admin-key-0123456789abcdef";
  static final String TEAM_KEY = "team-a-key-0123456789abcdef";

  @TempDir Path dir;

  ServerConfig config(ServerConfig.Security security, Limits limits) {
    ServerConfig d = ServerConfig.defaults(dir.resolve("data"));
    return new ServerConfig(d.bindAddress(), d.port(), d.dataDir(), d.maxMessageBytes(), d.cacheBytes(),
        d.grpcThreads(), d.computeThreads(), d.shutdownGrace(), security, limits, -1);
  }

  TestServer withKeys() throws Exception {
    Path keys = dir.resolve("keys.txt");
    Files.write(keys, List.of(
        "# name scope",
        "sha256:" + ApiKeys.hash(ADMIN_KEY) + " ops admin",
        "sha256:" + ApiKeys.hash(TEAM_KEY) + " team-a team-a/*,shared"));
    return new TestServer(config(new ServerConfig.Security(null, null, keys), Limits.DEFAULT));
  }

  static ActiveRewardModelingServiceBlockingStub as(TestServer server, String key) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + key);
    return server.blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  static CreateProjectRequest project(String id) {
    return CreateProjectRequest.newBuilder().setProjectId(id).setEmbeddingDim(2).build();
  }

  @Test
  void missingOrUnknownKeysAreUnauthenticated() throws Exception {
    try (TestServer server = withKeys()) {
      StatusRuntimeException none = catchThrowableOfType(StatusRuntimeException.class,
          () -> server.blocking().listProjects(ListProjectsRequest.getDefaultInstance()));
      assertThat(none.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(none.getStatus().getDescription()).contains("authorization: Bearer <key>");

      StatusRuntimeException wrong = catchThrowableOfType(StatusRuntimeException.class,
          () -> as(server, "not-a-key-at-all-xxxx").listProjects(ListProjectsRequest.getDefaultInstance()));
      assertThat(wrong.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
      assertThat(wrong.getStatus().getDescription()).contains("not recognised");

      // Health stays open for load balancers and container checks.
      assertThat(HealthGrpc.newBlockingStub(server.channel()).check(HealthCheckRequest.getDefaultInstance()).getStatus())
          .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
    }
  }

  @Test
  void scopedKeysReachOnlyTheirProjects() throws Exception {
    try (TestServer server = withKeys()) {
      as(server, ADMIN_KEY).createProject(project("team-b/x"));
      as(server, TEAM_KEY).createProject(project("team-a/x"));
      as(server, TEAM_KEY).createProject(project("shared"));

      StatusRuntimeException denied = catchThrowableOfType(StatusRuntimeException.class,
          () -> as(server, TEAM_KEY).getProject(GetProjectRequest.newBuilder().setProjectId("team-b/x").build()));
      assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(denied.getStatus().getDescription())
          .contains("API key 'team-a' may use projects [team-a/*,shared], not 'team-b/x'");

      StatusRuntimeException createElsewhere = catchThrowableOfType(StatusRuntimeException.class,
          () -> as(server, TEAM_KEY).createProject(project("team-b/y")));
      assertThat(createElsewhere.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);

      assertThat(as(server, TEAM_KEY).listProjects(ListProjectsRequest.getDefaultInstance()).getProjectsList())
          .extracting(Project::getProjectId).containsExactly("shared", "team-a/x");
      assertThat(as(server, ADMIN_KEY).listProjects(ListProjectsRequest.getDefaultInstance()).getProjectsList())
          .extracting(Project::getProjectId).containsExactly("shared", "team-a/x", "team-b/x");
    }
  }

  @Test
  void keysFileIsValidatedAtStart() throws Exception {
    Path keys = dir.resolve("bad-keys.txt");
    Files.write(keys, List.of("plaintext-key admin"));
    Exception e = catchThrowableOfType(IllegalArgumentException.class,
        () -> new TestServer(config(new ServerConfig.Security(null, null, keys), Limits.DEFAULT)));
    assertThat(e).hasMessageContaining("line 1").hasMessageContaining("sha256:<64 hex digits>");
  }

  @Test
  void limitsAreResourceExhaustedWithTheLimitNamed() throws Exception {
    Limits limits = new Limits(2, 3 * 2 * 4, 100 * 4);
    try (TestServer server = new TestServer(config(ServerConfig.Security.OFF, limits))) {
      server.blocking().createProject(project("a"));
      server.blocking().createProject(project("b"));
      StatusRuntimeException tooMany = catchThrowableOfType(StatusRuntimeException.class,
          () -> server.blocking().createProject(project("c")));
      assertThat(tooMany.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(tooMany.getStatus().getDescription()).contains("--max-projects) is 2");

      upload(server, 2); // 2 rows x 2 dims x 4 bytes = 16 of 24 allowed
      StatusRuntimeException poolFull = catchThrowableOfType(StatusRuntimeException.class, () -> upload(server, 2));
      assertThat(poolFull.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(poolFull.getStatus().getDescription()).contains("--max-pool-mib-per-project").contains("Nothing was stored");
      assertThat(server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("a").build())
          .getProject().getNumResponses()).isEqualTo(2);
    }
  }

  @Test
  void oneCallCannotBufferMoreThanItsLimit() throws Exception {
    Limits limits = new Limits(0, 0, 10 * 2 * 4);
    try (TestServer server = new TestServer(config(ServerConfig.Security.OFF, limits))) {
      server.blocking().createProject(project("a"));
      StatusRuntimeException big = catchThrowableOfType(StatusRuntimeException.class, () -> upload(server, 11));
      assertThat(big.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(big.getStatus().getDescription()).contains("split the upload into several calls");
    }
  }

  static void upload(TestServer server, int rows) {
    float[][] x = new float[rows][2];
    List<String> ids = new java.util.ArrayList<>();
    for (int i = 0; i < rows; i++) {
      ids.add("r" + System.nanoTime() + "-" + i);
    }
    TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId("a").addAllResponseIds(ids)
        .addAllPromptIds(ids).setEmbeddings(TestServer.matrix(x)).build());
  }
}

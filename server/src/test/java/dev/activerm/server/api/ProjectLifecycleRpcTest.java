package dev.activerm.server.api;

import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.DeleteProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.HeadType;
import dev.activerm.proto.v1.ListProjectsRequest;
import dev.activerm.proto.v1.ListProjectsResponse;
import dev.activerm.proto.v1.Project;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class ProjectLifecycleRpcTest {
  @TempDir Path dataDir;
  TestServer server;

  @BeforeEach
  void start() throws Exception {
    server = new TestServer(dataDir);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private Project create(String id, int dim) {
    return server.blocking().createProject(
        CreateProjectRequest.newBuilder().setProjectId(id).setEmbeddingDim(dim).build()).getProject();
  }

  private StatusRuntimeException createFails(CreateProjectRequest request) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> server.blocking().createProject(request));
  }

  @Test
  void createGetListDelete() {
    Project created = create("hh-helpful", 8);
    assertThat(created.getEmbeddingDim()).isEqualTo(8);
    assertThat(created.getHead().getType()).isEqualTo(HeadType.HEAD_TYPE_LINEAR);
    assertThat(created.getL2()).isEqualTo(1.0);
    assertThat(created.getCreateTime().getSeconds()).isPositive();

    Project got = server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("hh-helpful").build()).getProject();
    assertThat(got).isEqualTo(created);
    assertThat(server.blocking().listProjects(ListProjectsRequest.getDefaultInstance()).getProjectsList())
        .extracting(Project::getProjectId).containsExactly("hh-helpful");

    server.blocking().deleteProject(DeleteProjectRequest.newBuilder().setProjectId("hh-helpful").build());
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("hh-helpful").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).contains("'hh-helpful' does not exist").contains("CreateProject");
  }

  @Test
  void mlpHeadGetsDefaultWidthsAndCustomL2() {
    Project p = server.blocking().createProject(CreateProjectRequest.newBuilder()
        .setProjectId("mlp").setEmbeddingDim(4).setL2(0.25)
        .setHead(HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_MLP)).build()).getProject();
    assertThat(p.getHead().getHiddenSizesList()).containsExactly(512, 512, 512);
    assertThat(p.getL2()).isEqualTo(0.25);
  }

  @Test
  void duplicateIdIsAlreadyExists() {
    create("p", 4);
    StatusRuntimeException e = createFails(
        CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(4).build());
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(e.getStatus().getDescription()).contains("project 'p' already exists").contains("DeleteProject");
  }

  @Test
  void invalidCreateReportsEveryBadField() {
    StatusRuntimeException e = createFails(CreateProjectRequest.newBuilder()
        .setProjectId("has space").setEmbeddingDim(0).setL2(-1).build());
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(TestServer.violatedFields(e)).containsExactlyInAnyOrder("project_id", "embedding_dim", "l2");
    assertThat(e.getStatus().getDescription())
        .contains("' ' (space)").contains("embedding_dim").contains("finite and > 0");
  }

  @Test
  void rejectsNanL2EmptyIdAndBadHeads() {
    StatusRuntimeException nan = createFails(CreateProjectRequest.newBuilder()
        .setProjectId("x").setEmbeddingDim(4).setL2(Double.NaN).build());
    assertThat(nan.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(TestServer.violatedFields(nan)).containsExactly("l2");

    StatusRuntimeException empty = createFails(CreateProjectRequest.newBuilder().setEmbeddingDim(4).build());
    assertThat(empty.getStatus().getDescription()).contains("project_id: is empty");

    StatusRuntimeException linearWithLayers = createFails(CreateProjectRequest.newBuilder()
        .setProjectId("x").setEmbeddingDim(4)
        .setHead(HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_LINEAR).addHiddenSizes(8)).build());
    assertThat(linearWithLayers.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(linearWithLayers.getStatus().getDescription()).contains("must be empty for a LINEAR head");

    StatusRuntimeException zeroWidth = createFails(CreateProjectRequest.newBuilder()
        .setProjectId("x").setEmbeddingDim(4)
        .setHead(HeadConfig.newBuilder().setType(HeadType.HEAD_TYPE_MLP).addHiddenSizes(16).addHiddenSizes(0)).build());
    assertThat(TestServer.violatedFields(zeroWidth)).containsExactly("head.hidden_sizes[1]");

    StatusRuntimeException unknownHead = createFails(CreateProjectRequest.newBuilder()
        .setProjectId("x").setEmbeddingDim(4).setHead(HeadConfig.newBuilder().setTypeValue(42)).build());
    assertThat(unknownHead.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(unknownHead.getStatus().getDescription()).contains("HEAD_TYPE_LINEAR or HEAD_TYPE_MLP");
  }

  @Test
  void listPagesInIdOrderAndRejectsForeignTokens() {
    for (String id : List.of("e", "b", "d", "a", "c")) {
      create(id, 2);
    }
    List<String> seen = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      ListProjectsResponse page = server.blocking().listProjects(
          ListProjectsRequest.newBuilder().setPageSize(2).setPageToken(token).build());
      page.getProjectsList().forEach(p -> seen.add(p.getProjectId()));
      token = page.getNextPageToken();
      pages++;
    } while (!token.isEmpty());
    assertThat(seen).containsExactly("a", "b", "c", "d", "e");
    assertThat(pages).isEqualTo(3);

    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> server.blocking()
        .listProjects(ListProjectsRequest.newBuilder().setPageToken("garbage!").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).contains("page_token");
  }

  @Test
  void deleteUnknownIsNotFound() {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, () -> server.blocking()
        .deleteProject(DeleteProjectRequest.newBuilder().setProjectId("nope").build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void projectsSurviveRestartAndDeletedOnesStayDeleted() throws Exception {
    create("keep", 3);
    create("drop", 3);
    server.blocking().deleteProject(DeleteProjectRequest.newBuilder().setProjectId("drop").build());
    server.restart();
    assertThat(server.blocking().listProjects(ListProjectsRequest.getDefaultInstance()).getProjectsList())
        .extracting(Project::getProjectId).containsExactly("keep");
    // The id of a deleted project can be used again.
    assertThat(create("drop", 5).getEmbeddingDim()).isEqualTo(5);
  }

  @Test
  void healthServesAfterStart() {
    HealthCheckResponse r = HealthGrpc.newBlockingStub(server.channel()).check(HealthCheckRequest.getDefaultInstance());
    assertThat(r.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }
}

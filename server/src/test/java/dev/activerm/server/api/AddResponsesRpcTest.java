package dev.activerm.server.api;

import com.google.protobuf.ByteString;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.ListResponsesResponse;
import dev.activerm.proto.v1.Matrix;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;

class AddResponsesRpcTest {
  static final int DIM = 3;

  @TempDir Path dataDir;
  TestServer server;

  @BeforeEach
  void start() throws Exception {
    server = new TestServer(dataDir);
    server.blocking().createProject(
        CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  static AddResponsesRequest chunk(String project, List<String> ids, List<String> prompts, float[][] rows) {
    return AddResponsesRequest.newBuilder()
        .setProjectId(project).addAllResponseIds(ids).addAllPromptIds(prompts)
        .setEmbeddings(TestServer.matrix(rows)).build();
  }

  static float[][] rows(int n, float offset) {
    float[][] out = new float[n][DIM];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < DIM; j++) {
        out[i][j] = offset + i * 10 + j + 0.125f;
      }
    }
    return out;
  }

  /** Sends the chunks as one call and returns the answer, or throws the call's status. */
  AddResponsesResponse send(AddResponsesRequest... chunks) {
    return TestServer.upload(server.async(), chunks);
  }

  StatusRuntimeException sendFails(AddResponsesRequest... chunks) {
    try {
      send(chunks);
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("the call succeeded but should have failed");
  }

  long storedRows() {
    return server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("p").build())
        .getProject().getNumResponses();
  }

  ListResponsesResponse readAll() {
    return server.blocking().listResponses(
        ListResponsesRequest.newBuilder().setProjectId("p").setIncludeEmbeddings(true).build());
  }

  @Test
  void chunksAreStoredInOrderAndReadBackBitExact() throws Exception {
    float[][] first = rows(2, 0);
    float[][] second = rows(3, 100);
    second[1][2] = Float.MIN_VALUE; // a subnormal must survive the round trip
    AddResponsesResponse r = send(
        chunk("p", List.of("r0", "r1"), List.of("q0", "q0"), first),
        chunk("", List.of("r2", "r3", "r4"), List.of("q1", "q1", "q2"), second));
    assertThat(r.getNumAdded()).isEqualTo(5);
    assertThat(r.getNumResponses()).isEqualTo(5);

    ListResponsesResponse back = readAll();
    assertThat(back.getResponseIdsList()).containsExactly("r0", "r1", "r2", "r3", "r4");
    assertThat(back.getPromptIdsList()).containsExactly("q0", "q0", "q1", "q1", "q2");
    float[][] all = TestServer.rows(back.getEmbeddings());
    assertThat(all[0]).containsExactly(first[0]);
    assertThat(all[1]).containsExactly(first[1]);
    assertThat(all[3]).containsExactly(second[1]);
    assertThat(server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("p").build())
        .getProject().getNumPrompts()).isEqualTo(3);

    server.restart();
    ListResponsesResponse afterRestart = readAll();
    assertThat(afterRestart).isEqualTo(back);
  }

  @Test
  void pagesAndExplicitIds() {
    send(chunk("p", List.of("a", "b", "c"), List.of("q", "q", "q"), rows(3, 0)));
    ListResponsesResponse page1 = server.blocking().listResponses(
        ListResponsesRequest.newBuilder().setProjectId("p").setPageSize(2).build());
    assertThat(page1.getResponseIdsList()).containsExactly("a", "b");
    assertThat(page1.hasEmbeddings()).isFalse();
    ListResponsesResponse page2 = server.blocking().listResponses(ListResponsesRequest.newBuilder()
        .setProjectId("p").setPageSize(2).setPageToken(page1.getNextPageToken()).build());
    assertThat(page2.getResponseIdsList()).containsExactly("c");
    assertThat(page2.getNextPageToken()).isEmpty();

    ListResponsesResponse picked = server.blocking().listResponses(ListResponsesRequest.newBuilder()
        .setProjectId("p").addResponseIds("c").addResponseIds("a").setIncludeEmbeddings(true).build());
    assertThat(picked.getResponseIdsList()).containsExactly("c", "a");
    assertThat(TestServer.rows(picked.getEmbeddings())[0]).containsExactly(rows(3, 0)[2]);

    StatusRuntimeException unknown = org.assertj.core.api.Assertions.catchThrowableOfType(
        StatusRuntimeException.class,
        () -> server.blocking().listResponses(
            ListResponsesRequest.newBuilder().setProjectId("p").addResponseIds("zz").build()));
    assertThat(unknown.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(TestServer.violatedFields(unknown)).containsExactly("response_ids[0]");
  }

  @Test
  void wrongEmbeddingLengthIsInvalidAndStoresNothing() {
    float[][] wide = new float[1][DIM + 1];
    StatusRuntimeException e = sendFails(chunk("p", List.of("a"), List.of("q"), wide));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).contains("is 4 but project 'p' has embedding_dim 3");
    assertThat(TestServer.violatedFields(e)).containsExactly("embeddings.cols");
    assertThat(storedRows()).isZero();
  }

  @Test
  void dataLengthMustMatchShape() {
    Matrix bad = Matrix.newBuilder().setRows(1).setCols(DIM).setData(ByteString.copyFrom(new byte[7])).build();
    StatusRuntimeException e = sendFails(AddResponsesRequest.newBuilder()
        .setProjectId("p").addResponseIds("a").addPromptIds("q").setEmbeddings(bad).build());
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).contains("holds 7 bytes").contains("needs 12");
  }

  @Test
  void nanOrInfInALaterChunkRejectsTheWholeCall() {
    float[][] bad = rows(2, 0);
    bad[1][0] = Float.NaN;
    StatusRuntimeException e = sendFails(
        chunk("p", List.of("ok0", "ok1"), List.of("q", "q"), rows(2, 0)),
        chunk("", List.of("x0", "x1"), List.of("q", "q"), bad));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription())
        .contains("chunk 1").contains("row 1 (response 'x1'), column 0 is NaN").contains("finite");
    assertThat(storedRows()).isZero();

    float[][] inf = rows(1, 0);
    inf[0][2] = Float.NEGATIVE_INFINITY;
    StatusRuntimeException e2 = sendFails(chunk("p", List.of("y"), List.of("q"), inf));
    assertThat(e2.getStatus().getDescription()).contains("-Infinity");
  }

  @Test
  void badIdsAreInvalidWithTheRowNamed() {
    StatusRuntimeException empty = sendFails(chunk("p", List.of("a", ""), List.of("q", "q"), rows(2, 0)));
    assertThat(empty.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(TestServer.violatedFields(empty)).containsExactly("response_ids[1]");
    assertThat(empty.getStatus().getDescription()).contains("row 1 of the call: is empty");

    StatusRuntimeException dupInCall = sendFails(
        chunk("p", List.of("a", "b"), List.of("q", "q"), rows(2, 0)),
        chunk("", List.of("c", "a"), List.of("q", "q"), rows(2, 0)));
    assertThat(dupInCall.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(dupInCall.getStatus().getDescription()).contains("'a' appears twice in this call (row 3)");

    StatusRuntimeException badPrompt = sendFails(chunk("p", List.of("a"), List.of("tab\there"), rows(1, 0)));
    assertThat(TestServer.violatedFields(badPrompt)).containsExactly("prompt_ids[0]");
    assertThat(badPrompt.getStatus().getDescription()).contains("U+0009 (a control character)");

    StatusRuntimeException counts = sendFails(chunk("p", List.of("a", "b"), List.of("q"), rows(2, 0)));
    assertThat(counts.getStatus().getDescription()).contains("has 1 prompt_ids for 2 response_ids");
    assertThat(storedRows()).isZero();
  }

  @Test
  void idsAlreadyStoredAreAlreadyExistsAndNothingFromTheCallIsStored() {
    send(chunk("p", List.of("a", "b"), List.of("q", "q"), rows(2, 0)));
    StatusRuntimeException e = sendFails(chunk("p", List.of("c", "b"), List.of("q", "q"), rows(2, 0)));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(e.getStatus().getDescription()).contains("'b' is already in the project").contains("nothing from this call");
    assertThat(storedRows()).isEqualTo(2);
  }

  @Test
  void unknownProjectIsNotFoundAtTheFirstChunk() {
    StatusRuntimeException e = sendFails(chunk("ghost", List.of("a"), List.of("q"), rows(1, 0)));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(e.getStatus().getDescription()).contains("project 'ghost' does not exist");
  }

  @Test
  void projectIdRulesAcrossChunks() {
    StatusRuntimeException missing = sendFails(chunk("", List.of("a"), List.of("q"), rows(1, 0)));
    assertThat(missing.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(missing.getStatus().getDescription()).contains("first AddResponses chunk must name project_id");

    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("other").setEmbeddingDim(DIM).build());
    StatusRuntimeException mixed = sendFails(
        chunk("p", List.of("a"), List.of("q"), rows(1, 0)),
        chunk("other", List.of("b"), List.of("q"), rows(1, 0)));
    assertThat(mixed.getStatus().getDescription()).contains("one AddResponses call writes to one project");
    assertThat(storedRows()).isZero();
  }

  @Test
  void aCallWithNoChunksOrNoRowsIsInvalid() {
    StatusRuntimeException none = sendFails();
    assertThat(none.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(none.getStatus().getDescription()).contains("received no chunks");

    StatusRuntimeException empty = sendFails(AddResponsesRequest.newBuilder().setProjectId("p").build());
    assertThat(empty.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(empty.getStatus().getDescription()).contains("no rows");
  }

  @Test
  void aCancelledUploadStoresNothing() throws Exception {
    List<Throwable> errors = new ArrayList<>();
    io.grpc.stub.ClientCallStreamObserver<AddResponsesRequest> call =
        (io.grpc.stub.ClientCallStreamObserver<AddResponsesRequest>) server.async().addResponses(new StreamObserver<>() {
          @Override
          public void onNext(AddResponsesResponse value) {}

          @Override
          public void onError(Throwable t) {
            errors.add(t);
          }

          @Override
          public void onCompleted() {}
        });
    call.onNext(chunk("p", List.of("a"), List.of("q"), rows(1, 0)));
    call.cancel("the trainer crashed", null);
    assertThat(errors).hasSize(1);
    // A later call on the same project still works and sees no trace of the cancelled rows.
    send(chunk("p", List.of("a"), List.of("q"), rows(1, 0)));
    assertThat(storedRows()).isEqualTo(1);
  }

  /**
   * Each call used to allocate its own 8 MiB direct buffer, freed only when the collector ran:
   * 100 one-row uploads held 800 MiB of direct memory. The writers now share a bounded set.
   */
  @Test
  void manySmallUploadsDoNotAccumulateDirectMemory() {
    java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
        .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
        .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
    long before = direct.getMemoryUsed();
    int uploads = 100;
    for (int i = 0; i < uploads; i++) {
      send(chunk("p", List.of("r" + i), List.of("q"), rows(1, i)));
    }
    assertThat(storedRows()).isEqualTo(uploads);
    long grownMiB = (direct.getMemoryUsed() - before) >> 20;
    // Bound: the 4 shared 8 MiB write buffers, plus 16 MiB for anything else in this JVM.
    assertThat(grownMiB).as("direct memory grown by %d uploads, MiB", uploads).isLessThanOrEqualTo(4 * 8 + 16);
  }

  /**
   * Pool rows are read from a memory mapping and their checksum blocks are checked on first
   * read: a damaged block inside the pool (start-up checks only the tail) fails the read that
   * touches it with DATA_LOSS and the file, bytes and remedy, and never yields its rows.
   */
  @Test
  void aDamagedPoolBlockFoundOnFirstReadIsDataLossNamingTheBytes() throws Exception {
    int n = 100_000; // 1.2 MB of 12-byte rows: block 0 whole, block 1 partial
    float[][] all = rows(n, 0);
    List<String> ids = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ids.add("r" + i);
      prompts.add("q" + (i % 7));
    }
    send(chunk("p", ids, prompts, all));
    server.close();
    Path pool;
    try (var files = java.nio.file.Files.list(dataDir.resolve("pools"))) {
      pool = files.filter(f -> f.toString().endsWith(".f32")).findFirst().orElseThrow();
    }
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(pool,
        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
      ch.read(b, 12 * 5);
      b.put(0, (byte) (b.get(0) ^ 0x01)).rewind();
      ch.write(b, 12 * 5); // row 5
    }
    server.restart(); // starts: block 0 is checked when first read

    ListResponsesResponse tail = server.blocking().listResponses(ListResponsesRequest.newBuilder()
        .setProjectId("p").addResponseIds("r99999").setIncludeEmbeddings(true).build());
    assertThat(TestServer.rows(tail.getEmbeddings())[0]).containsExactly(all[n - 1]);
    for (int attempt = 0; attempt < 2; attempt++) {
      StatusRuntimeException e = org.assertj.core.api.Assertions.catchThrowableOfType(
          () -> server.blocking().listResponses(ListResponsesRequest.newBuilder()
              .setProjectId("p").addResponseIds("r0").setIncludeEmbeddings(true).build()),
          StatusRuntimeException.class);
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS);
      assertThat(e.getStatus().getDescription())
          .contains("pools/" + pool.getFileName() + " under --data-dir: bytes 0..1048575 (rows of block 0) do not match their CRC32C checksum")
          .contains("docs/operations.md")
          .doesNotContain(dataDir.toString());
    }
  }
}

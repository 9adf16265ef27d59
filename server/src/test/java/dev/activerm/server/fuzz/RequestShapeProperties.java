package dev.activerm.server.fuzz;

import com.google.protobuf.ByteString;
import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.HeadConfig;
import dev.activerm.proto.v1.ListProjectsRequest;
import dev.activerm.proto.v1.Matrix;
import dev.activerm.proto.v1.Project;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random request shapes (sizes, empty and odd ids, NaN/Inf, wrong lengths, unknown enum
 * values, duplicates): the answer is always a documented status, never INTERNAL or
 * UNKNOWN, and a rejected call never leaves a partial write behind.
 */
class RequestShapeProperties {
  static final int DIM = 3;
  static final Set<Status.Code> DOCUMENTED = EnumSet.of(
      Status.Code.OK, Status.Code.INVALID_ARGUMENT, Status.Code.NOT_FOUND, Status.Code.ALREADY_EXISTS,
      Status.Code.RESOURCE_EXHAUSTED, Status.Code.FAILED_PRECONDITION);

  static Path dir;
  static TestServer server;

  @BeforeContainer
  static void start() throws Exception {
    dir = Files.createTempDirectory("activerm-fuzz-");
    server = new TestServer(dir);
    server.blocking().createProject(CreateProjectRequest.newBuilder().setProjectId("p").setEmbeddingDim(DIM).build());
  }

  @AfterContainer
  static void stop() throws Exception {
    server.close();
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }

  @Provide
  Arbitrary<String> ids() {
    // Mostly valid (so calls also succeed and the all-or-nothing check bites), sometimes not.
    return Arbitraries.frequencyOf(
        Tuple.of(40, Arbitraries.strings().withChars("abcXYZ019._:/@+=-").ofMinLength(5).ofMaxLength(10)),
        Tuple.of(1, Arbitraries.strings().all().ofMaxLength(8)),
        Tuple.of(1, Arbitraries.just("")),
        Tuple.of(1, Arbitraries.strings().withChars("ab").ofLength(300)));
  }

  @Provide
  Arbitrary<Float> values() {
    return Arbitraries.frequencyOf(
        Tuple.of(200, Arbitraries.floats().between(-1e6f, 1e6f)),
        Tuple.of(1, Arbitraries.of(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -0f)));
  }

  static Status.Code codeOf(Runnable call) {
    try {
      call.run();
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  long numResponses() {
    return server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("p").build())
        .getProject().getNumResponses();
  }

  @Property(tries = 300)
  void createProjectAnswersADocumentedStatus(
      @ForAll("ids") String id,
      @ForAll("dims") int dim,
      @ForAll("l2s") double l2,
      @ForAll("headTypes") int headType,
      @ForAll("hiddenSizes") List<Integer> hidden) {
    int before = server.blocking().listProjects(ListProjectsRequest.newBuilder().setPageSize(1000).build())
        .getProjectsCount();
    CreateProjectRequest request = CreateProjectRequest.newBuilder()
        .setProjectId(id).setEmbeddingDim(dim).setL2(l2)
        .setHead(HeadConfig.newBuilder().setTypeValue(headType).addAllHiddenSizes(hidden.subList(0, Math.min(10, hidden.size()))))
        .build();
    Status.Code code = codeOf(() -> server.blocking().createProject(request));
    Statistics.collect(code);
    assertThat(code).isIn(DOCUMENTED);
    List<Project> after = server.blocking().listProjects(ListProjectsRequest.newBuilder().setPageSize(1000).build())
        .getProjectsList();
    assertThat(after).hasSize(code == Status.Code.OK ? before + 1 : before);
  }

  @Provide
  Arbitrary<Integer> headTypes() {
    return Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.integers().between(0, 1)), Tuple.of(1, Arbitraries.integers()));
  }

  @Provide
  Arbitrary<List<Integer>> hiddenSizes() {
    return Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.just(List.<Integer>of())),
        Tuple.of(1, Arbitraries.integers().between(-2, 9000).list().ofMaxSize(10)));
  }

  @Provide
  Arbitrary<Integer> dims() {
    return Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.integers().between(1, 64)), Tuple.of(1, Arbitraries.integers()));
  }

  @Provide
  Arbitrary<Double> l2s() {
    return Arbitraries.frequencyOf(
        Tuple.of(8, Arbitraries.doubles().between(0, 10)),
        Tuple.of(1, Arbitraries.of(Double.NaN, Double.NEGATIVE_INFINITY, -1.0, Double.MAX_VALUE)));
  }

  /** One chunk's worth of random shape. */
  record Chunk(List<String> ids, List<String> prompts, int rows, int cols, List<Float> values, int byteSkew, boolean namesProject) {}

  @Provide
  Arbitrary<Chunk> chunks() {
    Arbitrary<Integer> rowCounts =
        Arbitraries.frequencyOf(Tuple.of(12, Arbitraries.integers().between(1, 4)), Tuple.of(1, Arbitraries.just(0)));
    return rowCounts.flatMap(n -> Combinators.combine(
            Arbitraries.frequencyOf(Tuple.of(30, ids().list().ofSize(n)), Tuple.of(1, ids().list().ofMaxSize(4))),
            Arbitraries.frequencyOf(Tuple.of(30, ids().list().ofSize(n)), Tuple.of(1, ids().list().ofMaxSize(4))),
            Arbitraries.frequencyOf(Tuple.of(30, Arbitraries.just(n)), Tuple.of(1, Arbitraries.integers().between(-1, 5))),
            Arbitraries.frequencyOf(Tuple.of(30, Arbitraries.just(DIM)), Tuple.of(1, Arbitraries.of(0, DIM - 1, DIM + 1, -2))),
            values().list().ofMinSize(1).ofMaxSize(24),
            Arbitraries.frequencyOf(Tuple.of(30, Arbitraries.just(0)), Tuple.of(1, Arbitraries.of(-1, 4))),
            Arbitraries.of(true, true, false))
        .as(Chunk::new));
  }

  @Provide
  Arbitrary<List<Chunk>> chunkLists() {
    return Arbitraries.frequencyOf(
        Tuple.of(20, chunks().list().ofMinSize(1).ofMaxSize(3)), Tuple.of(1, Arbitraries.just(List.<Chunk>of())));
  }

  static AddResponsesRequest toRequest(Chunk c, int index) {
    int floats = Math.max(0, c.rows()) * Math.max(0, c.cols());
    ByteBuffer b = ByteBuffer.allocate(Math.max(0, floats * 4 + c.byteSkew())).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < floats && b.remaining() >= 4; i++) {
      b.putFloat(c.values().isEmpty() ? 0.5f : c.values().get(i % c.values().size()));
    }
    Matrix m = Matrix.newBuilder().setRows(c.rows()).setCols(c.cols()).setData(ByteString.copyFrom(b.array())).build();
    return AddResponsesRequest.newBuilder()
        .setProjectId(index == 0 || c.namesProject() ? "p" : "")
        .addAllResponseIds(c.ids()).addAllPromptIds(c.prompts()).setEmbeddings(m).build();
  }

  // No injected edge cases: their cross product alone would fill every try with malformed
  // chunks and leave the valid path (where partial writes could happen) untested. The
  // generators already weigh in empty, mismatched and non-finite shapes.
  @Property(tries = 400, edgeCases = EdgeCasesMode.NONE)
  void addResponsesIsAllOrNothing(@ForAll("chunkLists") List<Chunk> chunks) {
    long before = numResponses();
    AddResponsesRequest[] requests = new AddResponsesRequest[chunks.size()];
    for (int i = 0; i < chunks.size(); i++) {
      requests[i] = toRequest(chunks.get(i), i);
    }
    Status.Code code;
    long added = 0;
    try {
      added = TestServer.upload(server.async(), requests).getNumAdded();
      code = Status.Code.OK;
    } catch (StatusRuntimeException e) {
      code = e.getStatus().getCode();
    }
    Statistics.collect(code);
    assertThat(code).isIn(DOCUMENTED);
    long sent = chunks.stream().mapToLong(Chunk::rows).sum();
    assertThat(numResponses()).isEqualTo(code == Status.Code.OK ? before + sent : before);
    if (code == Status.Code.OK) {
      assertThat(added).isEqualTo(sent);
    }
  }

  @Provide
  Arbitrary<Comparison> comparisons() {
    Arbitrary<String> known = Arbitraries.of("s0", "s1", "s2");
    return Combinators.combine(
            Arbitraries.frequencyOf(Tuple.of(20, known), Tuple.of(1, ids())),
            Arbitraries.frequencyOf(Tuple.of(20, known), Tuple.of(1, ids())),
            Arbitraries.frequencyOf(Tuple.of(20, Arbitraries.integers().between(1, 3)), Tuple.of(1, Arbitraries.integers())),
            Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just("")), Tuple.of(1, ids())),
            Arbitraries.frequencyOf(
                Tuple.of(20, Arbitraries.of(0.0, 1.0, 2.5)),
                Tuple.of(1, Arbitraries.of(-1.0, Double.NaN, 1e300, Double.POSITIVE_INFINITY))))
        .as((a, b, outcome, annotator, weight) -> Comparison.newBuilder()
            .setAId(a).setBId(b).setOutcomeValue(outcome).setAnnotatorId(annotator).setWeight(weight).build());
  }

  @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
  void addComparisonsIsAllOrNothing(@ForAll("comparisonLists") List<Comparison> comparisons) {
    ensureSeedResponses();
    long before = server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("p").build())
        .getProject().getNumComparisons();
    Status.Code code = codeOf(() -> server.blocking().addComparisons(
        AddComparisonsRequest.newBuilder().setProjectId("p").addAllComparisons(comparisons).build()));
    Statistics.collect(code);
    assertThat(code).isIn(DOCUMENTED);
    long after = server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("p").build())
        .getProject().getNumComparisons();
    assertThat(after).isEqualTo(code == Status.Code.OK ? before + comparisons.size() : before);
  }

  @Provide
  Arbitrary<List<Comparison>> comparisonLists() {
    return comparisons().list().ofMaxSize(5);
  }

  private void ensureSeedResponses() {
    List<String> missing = new ArrayList<>();
    for (String id : List.of("s0", "s1", "s2")) {
      try {
        server.blocking().listResponses(dev.activerm.proto.v1.ListResponsesRequest.newBuilder()
            .setProjectId("p").addResponseIds(id).build());
      } catch (StatusRuntimeException e) {
        missing.add(id);
      }
    }
    if (missing.isEmpty()) {
      return;
    }
    TestServer.upload(server.async(), AddResponsesRequest.newBuilder().setProjectId("p").addAllResponseIds(missing)
        .addAllPromptIds(missing).setEmbeddings(TestServer.matrix(new float[missing.size()][DIM])).build());
  }
}

package dev.activerm.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.activerm.client.ActiveRmException.FieldViolation;
import dev.activerm.client.Types.AddResult;
import dev.activerm.client.Types.Comparison;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.ProjectInfo;
import dev.activerm.client.Types.Responses;
import dev.activerm.server.ActiveRmServer;
import dev.activerm.server.ServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The typed client against a real server on an in-process transport. */
class ActiveRmClientTest {
  @TempDir Path dataDir;
  ActiveRmServer server;
  ManagedChannel channel;
  ActiveRmClient client;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = new ActiveRmServer(InProcessServerBuilder.forName(name), ServerConfig.defaults(dataDir)).start();
    channel = InProcessChannelBuilder.forName(name).build();
    // Tiny chunks, so every upload below is a many-chunk stream.
    client = ActiveRmClient.builder().channel(channel).chunkBytes(1024).build();
  }

  @AfterEach
  void stop() {
    client.close();
    channel.shutdownNow();
    server.close();
  }

  static float[][] rows(int n, int dim) {
    float[][] out = new float[n][dim];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < dim; j++) {
        out[i][j] = i + j / 100f;
      }
    }
    return out;
  }

  static List<String> ids(String prefix, int n) {
    return IntStream.range(0, n).mapToObj(i -> prefix + i).toList();
  }

  @Test
  void projectLifecycleIsTyped() {
    ProjectInfo created = client.createProject("hh", 16, Head.MLP, List.of(32, 16), 0.5);
    assertThat(created.head()).isEqualTo(Head.MLP);
    assertThat(created.hiddenSizes()).containsExactly(32, 16);
    assertThat(created.l2()).isEqualTo(0.5);
    assertThat(client.getProject("hh")).isEqualTo(created);
    assertThat(client.listProjects()).containsExactly(created);
    client.deleteProject("hh");
    assertThat(client.listProjects()).isEmpty();
  }

  @Test
  void uploadsManyChunksAndReadsThemBack() {
    client.createProject("p", 10, Head.LINEAR, 1.0);
    float[][] x = rows(300, 10); // 40 bytes a row, 25 rows a chunk -> 12 chunks
    AddResult r = client.addResponses("p", ids("r", 300), ids("q", 300), x);
    assertThat(r.numAdded()).isEqualTo(300);
    float[] flat = new float[5 * 10];
    AddResult r2 = client.addResponses("p", ids("f", 5), ids("q", 5), flat, 10);
    assertThat(r2.total()).isEqualTo(305);

    Responses back = client.getResponses("p", List.of("r299", "r0", "f4"), true);
    assertThat(back.embeddings()[0]).containsExactly(x[299]);
    assertThat(back.embeddings()[1]).containsExactly(x[0]);
    assertThat(back.embeddings()[2]).containsOnly(0f);
    assertThat(client.listResponses("p").ids()).hasSize(305).startsWith("r0").endsWith("f4");
  }

  @Test
  void serverErrorsKeepCodeMessageAndFields() {
    client.createProject("p", 4, Head.LINEAR, 1.0);
    float[][] x = rows(40, 4);
    x[33][1] = Float.NaN;
    ActiveRmException nan = catchThrowableOfType(ActiveRmException.class,
        () -> client.addResponses("p", ids("r", 40), ids("q", 40), x));
    assertThat(nan.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(nan.description()).contains("(response 'r33'), column 1 is NaN");
    assertThat(nan.violations()).extracting(FieldViolation::field).containsExactly("embeddings.data");
    assertThat(client.getProject("p").numResponses()).isZero();

    client.addResponses("p", ids("r", 2), ids("q", 2), rows(2, 4));
    ActiveRmException dup = catchThrowableOfType(ActiveRmException.class,
        () -> client.addResponses("p", List.of("r1"), List.of("q"), rows(1, 4)));
    assertThat(dup.code()).isEqualTo(Status.Code.ALREADY_EXISTS);

    ActiveRmException missing = catchThrowableOfType(ActiveRmException.class, () -> client.getProject("ghost"));
    assertThat(missing.code()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(missing.getMessage()).startsWith("NOT_FOUND: project 'ghost' does not exist");
  }

  @Test
  void comparisonsRoundTrip() {
    client.createProject("p", 2, Head.LINEAR, 1.0);
    client.addResponses("p", List.of("a", "b"), List.of("q", "q"), rows(2, 2));
    var result = client.addComparisons("p", List.of(
        ComparisonInput.of("a", "b", Outcome.A), new ComparisonInput("b", "a", Outcome.TIE, "ann", 3.0)));
    assertThat(result.numComparisons()).isEqualTo(2);
    List<Comparison> back = client.listComparisons("p");
    assertThat(back).extracting(Comparison::outcome).containsExactly(Outcome.A, Outcome.TIE);
    assertThat(back.get(1).annotatorId()).isEqualTo("ann");
    assertThat(back.get(1).weight()).isEqualTo(3.0);

    ActiveRmException unknown = catchThrowableOfType(ActiveRmException.class,
        () -> client.addComparisons("p", List.of(ComparisonInput.of("a", "zz", Outcome.B))));
    assertThat(unknown.code()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(unknown.violations()).extracting(FieldViolation::field).containsExactly("comparisons[0].b_id");
  }

  @Test
  void shapeMistakesFailBeforeSending() {
    assertThatThrownBy(() -> client.addResponses("p", List.of("a", "b"), List.of("q"), rows(2, 3)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("got 2 ids, 1 prompt ids and 2 embedding rows");
    float[][] ragged = {new float[3], new float[2]};
    assertThatThrownBy(() -> client.addResponses("p", List.of("a", "b"), List.of("q", "q"), ragged))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("embeddings[1] has length 2 but row 0 has 3");
    assertThatThrownBy(() -> client.addResponses("p", List.of("a"), List.of("q"), new float[5], 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("flat holds 5 floats");
  }
}

package dev.activerm.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.ListResponsesResponse;
import dev.activerm.proto.v1.Project;
import dev.activerm.server.TestServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data dir written by schema 3 (one database row per response) migrates to schema 4 (one
 * BLOB of ids per upload batch) and keeps every response: its id, prompt id, embedding, row
 * and retired flag. The fixture was written through main's gRPC API at de6573e by
 * {@code src/test/resources/datadirs/schema3/Gen.java.txt} (run with that commit's server jar on
 * the class path): project "alpha" (dim 4) with rows 0-5 and 6-9 in two uploads, prompts
 * q0..q3, alpha-r2 and alpha-r7 retired, 3 comparisons; "empty" (dim 3) with none; "beta"
 * (dim 2) with 3 rows between alpha's uploads; then a clean shutdown.
 */
class ResponseBatchesMigrationTest {
  @TempDir Path dir;

  private void copyFixture() throws IOException {
    Files.createDirectories(dir.resolve("pools"));
    for (String f : List.of("activerm.db", "pools/1.f32", "pools/1.crc", "pools/3.f32", "pools/3.crc")) {
      try (InputStream in = getClass().getResourceAsStream("/datadirs/schema3/" + f)) {
        Files.copy(in, dir.resolve(f));
      }
    }
  }

  /** The embedding Gen.java.txt wrote for a row. */
  private static float value(int row, int col) {
    return (float) (Math.sin(row * 7.0 + col) * 0.5 + row * 0.01);
  }

  @Test
  void aSchema3DataDirMigratesAndServesEveryResponseAsStored() throws Exception {
    copyFixture();
    try (TestServer server = new TestServer(dir)) {
      Project alpha = project(server, "alpha");
      assertThat(alpha.getNumResponses()).isEqualTo(10);
      assertThat(alpha.getNumPrompts()).isEqualTo(4);
      assertThat(alpha.getNumRetiredResponses()).isEqualTo(2);
      assertThat(alpha.getNumComparisons()).isEqualTo(3);
      assertThat(project(server, "beta").getNumResponses()).isEqualTo(3);
      assertThat(project(server, "beta").getNumPrompts()).isEqualTo(2);
      assertThat(project(server, "empty").getNumResponses()).isZero();

      assertEveryRow(server, "alpha", 10, 4, 4, List.of(2, 7));
      assertEveryRow(server, "beta", 3, 2, 2, List.of());

      // Stored ids still count as taken, and a new upload lands after the migrated rows.
      assertThatThrownBy(() -> TestServer.upload(server.async(), chunk("alpha", "alpha-r3", 4)))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS));
      TestServer.upload(server.async(), chunk("alpha", "alpha-new", 4));
      server.restart();
      ListResponsesResponse page = server.blocking().listResponses(
          ListResponsesRequest.newBuilder().setProjectId("alpha").build());
      assertThat(page.getResponseIdsList()).hasSize(11).endsWith("alpha-new");
      assertThat(project(server, "alpha").getNumPrompts()).isEqualTo(5);
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("activerm.db"))) {
      try (ResultSet rs = c.createStatement().executeQuery("PRAGMA user_version")) {
        assertThat(rs.getInt(1)).isEqualTo(SqliteStore.SCHEMA_VERSION).isEqualTo(4);
      }
      try (ResultSet rs = c.createStatement().executeQuery(
          "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('responses', 'responses_by_id')")) {
        assertThat(rs.getInt(1)).as("the row-per-response table is gone").isZero();
      }
      try (ResultSet rs = c.createStatement().executeQuery(
          "SELECT project_key, first_row, row_count FROM response_batches ORDER BY project_key, first_row")) {
        List<String> batches = new ArrayList<>();
        while (rs.next()) {
          batches.add(rs.getLong(1) + ":" + rs.getInt(2) + "+" + rs.getInt(3));
        }
        assertThat(batches).containsExactly("1:0+10", "1:10+1", "3:0+3");
      }
    }
  }

  @Test
  void damagedStoredIdsAnswerDataLossOnTheFirstCallThatNeedsThemWhileGetProjectStillWorks() throws Exception {
    copyFixture();
    try (TestServer server = new TestServer(dir)) {
      assertThat(project(server, "alpha").getNumResponses()).isEqualTo(10); // migrated
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("activerm.db"))) {
      c.createStatement().executeUpdate("UPDATE response_batches SET prompt_ids = x'0a71' WHERE project_key = 1");
    }
    try (TestServer server = new TestServer(dir)) {
      assertThat(project(server, "alpha").getNumPrompts()).isEqualTo(4);
      for (int attempt = 0; attempt < 2; attempt++) {
        assertThatThrownBy(() -> server.blocking().listResponses(
                ListResponsesRequest.newBuilder().setProjectId("alpha").build()))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS))
            .hasMessageContaining("activerm.db under --data-dir: the response ids of project key 1 are damaged")
            .hasMessageContaining("the prompt ids of rows 0..9 are unreadable")
            .hasMessageContaining("restore the data dir from a backup");
      }
      // The other projects are untouched.
      assertEveryRow(server, "beta", 3, 2, 2, List.of());
    }
  }

  private static void assertEveryRow(TestServer server, String project, int rows, int dim, int prompts,
      List<Integer> retired) {
    ListResponsesResponse page = server.blocking().listResponses(ListResponsesRequest.newBuilder()
        .setProjectId(project).setIncludeEmbeddings(true).build());
    assertThat(page.getResponseIdsList()).hasSize(rows);
    float[][] embeddings = TestServer.rows(page.getEmbeddings());
    for (int r = 0; r < rows; r++) {
      assertThat(page.getResponseIds(r)).isEqualTo(project + "-r" + r);
      assertThat(page.getPromptIds(r)).isEqualTo("q" + (r % prompts));
      assertThat(page.getRetired(r)).as("row %d retired", r).isEqualTo(retired.contains(r));
      for (int c = 0; c < dim; c++) {
        assertThat(embeddings[r][c]).as("row %d col %d", r, c).isEqualTo(value(r, c));
      }
    }
  }

  private static Project project(TestServer server, String id) {
    return server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId(id).build()).getProject();
  }

  private static AddResponsesRequest chunk(String project, String id, int dim) {
    float[][] row = new float[1][dim];
    row[0][0] = 0.5f;
    return AddResponsesRequest.newBuilder().setProjectId(project).addResponseIds(id).addPromptIds("q-new")
        .setEmbeddings(TestServer.matrix(row)).build();
  }
}

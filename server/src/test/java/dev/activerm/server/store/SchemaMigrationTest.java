package dev.activerm.server.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.Candidates;
import dev.activerm.proto.v1.CrossPrompt;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.Strategy;
import dev.activerm.proto.v1.Comparison;
import dev.activerm.proto.v1.DeleteComparisonsRequest;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.ListComparisonsRequest;
import dev.activerm.proto.v1.Outcome;
import dev.activerm.proto.v1.PairState;
import dev.activerm.proto.v1.Project;
import dev.activerm.proto.v1.ReleasePairsRequest;
import dev.activerm.proto.v1.ResponseIds;
import dev.activerm.proto.v1.ScoreRequest;
import dev.activerm.proto.v1.ScoredPair;
import dev.activerm.proto.v1.Selection;
import dev.activerm.server.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data dir written by the server before the labeling lifecycle (schema 1; made by commit
 * 7b66746 through its gRPC API: project "old", 5 responses, comparisons by "ann" and nobody, a
 * Fit, a RANDOM selection sel-1 of 3 pairs with its first pair labeled afterwards) loads,
 * migrates to schema 2, 3 and 4 and keeps every row's meaning.
 */
class SchemaMigrationTest {
  @TempDir Path dir;

  private void copyFixture() throws IOException {
    Files.createDirectories(dir.resolve("pools"));
    for (String f : List.of("activerm.db", "pools/1.f32")) {
      try (InputStream in = SchemaMigrationTest.class.getResourceAsStream("/datadirs/schema1/" + f)) {
        Files.copy(in, dir.resolve(f));
      }
    }
  }

  @Test
  void aSchema1DataDirLoadsWithIdsAndPendingPairsAsBefore() throws Exception {
    copyFixture();
    try (TestServer server = new TestServer(dir)) {
      Project p = server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("old").build()).getProject();
      assertThat(p.getNumResponses()).isEqualTo(5);
      assertThat(p.getNumComparisons()).isEqualTo(3);
      assertThat(p.getNumPendingPairs()).isEqualTo(2);
      assertThat(p.getLatestModelVersion()).isEqualTo(1);
      assertThat(p.getPendingTtl().getSeconds()).isZero();
      assertThat(server.blocking().listComparisons(ListComparisonsRequest.newBuilder().setProjectId("old").build())
          .getComparisonsList()).extracting(Comparison::getComparisonId).containsExactly("c-0", "c-1", "c-2");
      Selection sel = server.blocking().getSelection(
          GetSelectionRequest.newBuilder().setProjectId("old").setSelectionId("sel-1").build()).getSelection();
      assertThat(sel.getPairsList()).extracting(ScoredPair::getState)
          .containsExactly(PairState.PAIR_STATE_LABELED, PairState.PAIR_STATE_PENDING, PairState.PAIR_STATE_PENDING);
      // Schema 3: a selection stored before the server measured information has none.
      assertThat(sel.hasInformation()).isFalse();
      assertThat(server.blocking().score(ScoreRequest.newBuilder().setProjectId("old")
          .setResponseIds(ResponseIds.newBuilder().addIds("r0")).build()).getRewardsCount()).isEqualTo(1);

      // The lifecycle works on migrated rows: a new id after the old ones, a delete, a release.
      assertThat(server.blocking().addComparisons(AddComparisonsRequest.newBuilder().setProjectId("old")
          .addComparisons(Comparison.newBuilder().setAId("r0").setBId("r4").setOutcome(Outcome.OUTCOME_A)).build())
          .getComparisonIdsList()).containsExactly("c-3");
      server.blocking().deleteComparisons(
          DeleteComparisonsRequest.newBuilder().setProjectId("old").addComparisonIds("c-0").build());
      server.blocking().releasePairs(
          ReleasePairsRequest.newBuilder().setProjectId("old").setSelectionId("sel-1").build());
      server.restart();
      p = server.blocking().getProject(GetProjectRequest.newBuilder().setProjectId("old").build()).getProject();
      assertThat(p.getNumComparisons()).isEqualTo(3);
      assertThat(p.getNumPendingPairs()).isZero();
      // A new selection on the migrated data dir is measured, and is its own reference.
      Selection fresh = server.blocking().selectBatch(SelectBatchRequest.newBuilder().setProjectId("old")
          .setStrategy(Strategy.STRATEGY_RANDOM).setBatchSize(2).setCandidates(Candidates.newBuilder()
              .setCrossPrompt(CrossPrompt.getDefaultInstance())).build()).getSelection();
      assertThat(fresh.getInformation().getReferenceSelectionId()).isEqualTo(fresh.getSelectionId());
      server.restart();
      assertThat(server.blocking().getSelection(GetSelectionRequest.newBuilder().setProjectId("old")
          .setSelectionId(fresh.getSelectionId()).build()).getSelection().getInformation())
          .isEqualTo(fresh.getInformation());
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("activerm.db"));
        ResultSet rs = c.createStatement().executeQuery("PRAGMA user_version")) {
      assertThat(rs.getInt(1)).isEqualTo(SqliteStore.SCHEMA_VERSION).isEqualTo(4);
    }
  }
}

package dev.activerm.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.activerm.client.Types.Head;
import dev.activerm.client.SelectOptions.CandidateSource;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.Strategy;
import dev.activerm.server.api.ActiveRmGrpcService;
import dev.activerm.server.api.observability.DomainMetrics;
import dev.activerm.server.core.ActiveRmCore;
import dev.activerm.server.core.project.Limits;
import dev.activerm.server.store.PoolFiles;
import dev.activerm.server.store.SqliteStore;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** selectBatch / getSelection through the Java client against an in-process server. */
class SelectionClientTest {
  @TempDir Path dir;

  @Test
  void modelFreeStrategiesAndErrorsThroughTheClient() throws Exception {
    SqliteStore store = SqliteStore.open(dir);
    ActiveRmCore core = ActiveRmCore.open(store, new PoolFiles(dir), Clock.systemUTC(), Limits.DEFAULT, 512L << 20);
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new ActiveRmGrpcService(core, DomainMetrics.detached())).build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try (ActiveRmClient client = ActiveRmClient.builder().channel(channel).build()) {
      client.createProject("p", 3, Head.LINEAR, 1.0);
      List<String> ids = new ArrayList<>();
      List<String> prompts = new ArrayList<>();
      float[][] x = new float[6][3];
      for (int i = 0; i < 6; i++) {
        ids.add("r" + i);
        prompts.add("q" + (i % 2));
        x[i] = new float[] {i, (i * 7) % 5, 1 - i};
      }
      client.addResponses("p", ids, prompts, x);
      for (Strategy s : List.of(Strategy.RANDOM, Strategy.OLS_DOPT, Strategy.CORESET)) {
        Selection sel = client.selectBatch("p", SelectOptions.of(2, s).withSeed(3));
        assertThat(sel.pairs()).hasSize(2);
        assertThat(sel.strategy()).isEqualTo(s);
        assertThat(client.getSelection("p", sel.selectionId()).pairs()).isEqualTo(sel.pairs());
      }
      Selection explicit = client.selectBatch("p",
          SelectOptions.of(1, Strategy.OLS_DOPT).withPairs(List.of(new Pair("r0", "r5"), new Pair("r1", "r2"))));
      assertThat(explicit.numCandidates()).isLessThanOrEqualTo(2);

      ActiveRmException noFit = catchThrowableOfType(ActiveRmException.class,
          () -> client.selectBatch("p", SelectOptions.of(1, Strategy.GREEDY_DOPT)));
      assertThat(noFit.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
      assertThat(noFit.getMessage()).contains("Fit");
      ActiveRmException tooBig = catchThrowableOfType(ActiveRmException.class,
          () -> client.selectBatch("p", SelectOptions.of(100, Strategy.RANDOM)));
      assertThat(tooBig.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      ActiveRmException unknown = catchThrowableOfType(ActiveRmException.class,
          () -> client.selectBatch("p", SelectOptions.of(1, Strategy.RANDOM).withPairs(List.of(new Pair("r0", "zz")))));
      assertThat(unknown.code()).isEqualTo(Status.Code.NOT_FOUND);
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      store.close();
    }
  }

  @Test
  void promptIdsRestrictTheCandidatesThroughTheClient() throws Exception {
    SqliteStore store = SqliteStore.open(dir);
    ActiveRmCore core = ActiveRmCore.open(store, new PoolFiles(dir), Clock.systemUTC(), Limits.DEFAULT, 512L << 20);
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new ActiveRmGrpcService(core, DomainMetrics.detached())).build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try (ActiveRmClient client = ActiveRmClient.builder().channel(channel).build()) {
      client.createProject("p", 2, Head.LINEAR, 1.0);
      List<String> ids = new ArrayList<>();
      List<String> prompts = new ArrayList<>();
      float[][] x = new float[9][];
      for (int i = 0; i < 9; i++) {
        ids.add("r" + i);
        prompts.add("q" + (i % 3)); // q1: r1 r4 r7
        x[i] = new float[] {i, 1 - i};
      }
      client.addResponses("p", ids, prompts, x);
      Selection within = client.selectBatch("p", SelectOptions.of(3, Strategy.RANDOM)
          .withCandidates(CandidateSource.WITHIN_PROMPT).withPromptIds(List.of("q1")));
      assertThat(within.numCandidates()).isEqualTo(3);
      Selection cross = client.selectBatch("p", SelectOptions.of(15, Strategy.RANDOM)
          .withPromptIds(List.of("q0", "q2", "q0"))); // CROSS_PROMPT by default; 6 responses, 15 pairs
      assertThat(cross.numCandidates()).isEqualTo(15);
      for (Types.ScoredPair p : within.pairs()) {
        assertThat(List.of(p.aId(), p.bId())).allSatisfy(id -> assertThat(id).isIn("r1", "r4", "r7"));
      }
      for (Types.ScoredPair p : cross.pairs()) {
        assertThat(List.of(p.aId(), p.bId())).allSatisfy(id -> assertThat(id).isNotIn("r1", "r4", "r7"));
      }

      ActiveRmException unknown = catchThrowableOfType(ActiveRmException.class,
          () -> client.selectBatch("p", SelectOptions.of(1, Strategy.RANDOM).withPromptIds(List.of("q1", "q9"))));
      assertThat(unknown.code()).isEqualTo(Status.Code.NOT_FOUND);
      assertThat(unknown.violations()).extracting(ActiveRmException.FieldViolation::field)
          .containsExactly("candidates.cross_prompt.prompt_ids[1]");
      assertThat(unknown.description()).contains("'q9'", "AddResponses");
      assertThatThrownBy(() -> SelectOptions.of(1, Strategy.RANDOM).withPairs(List.of(new Pair("r0", "r1")))
          .withPromptIds(List.of("q0")))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("explicit pairs");
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
      store.close();
    }
  }
}

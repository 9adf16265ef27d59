package dev.activerm.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.activerm.client.Types.AddComparisonsResult;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Outcome;
import dev.activerm.client.Types.PairState;
import dev.activerm.client.Types.ProjectInfo;
import dev.activerm.client.Types.ScoredPair;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.Strategy;
import dev.activerm.server.ActiveRmServer;
import dev.activerm.server.ServerConfig;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The labeling-lifecycle calls of the typed client against a real in-process server. */
class LifecycleClientTest {
  @TempDir Path dataDir;
  ActiveRmServer server;
  ManagedChannel channel;
  ActiveRmClient client;
  List<String> ids = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = new ActiveRmServer(InProcessServerBuilder.forName(name), ServerConfig.defaults(dataDir)).start();
    channel = InProcessChannelBuilder.forName(name).build();
    client = ActiveRmClient.builder().channel(channel).build();
    List<String> prompts = new ArrayList<>();
    float[][] x = new float[12][2];
    for (int i = 0; i < 12; i++) {
      ids.add("r" + i);
      prompts.add("q" + (i / 4));
      x[i][0] = i;
      x[i][1] = (i * 7) % 5;
    }
    ProjectInfo info = client.createProject("p", 2, Head.LINEAR, List.of(), 1.0, Duration.ofHours(2));
    assertThat(info.pendingTtl()).isEqualTo(Duration.ofHours(2));
    client.addResponses("p", ids, prompts, x);
  }

  @AfterEach
  void stop() {
    client.close();
    channel.shutdownNow();
    server.close();
  }

  @Test
  void selectionTtlOverridesTheProjectDefaultAndReleaseMakesPairsCandidatesAgain() {
    Selection projectDefault = client.selectBatch("p", SelectOptions.of(3, Strategy.RANDOM).withSeed(1));
    assertThat(projectDefault.pendingTtl()).isEqualTo(Duration.ofHours(2));
    Selection own = client.selectBatch(
        "p", SelectOptions.of(3, Strategy.RANDOM).withSeed(2).withPendingTtl(Duration.ofMinutes(5)));
    assertThat(own.pendingTtl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(client.getProject("p").numPendingPairs()).isEqualTo(6);

    assertThat(client.releasePairs("p", own.selectionId()).numReleased()).isEqualTo(3);
    assertThat(client.getProject("p").numPendingPairs()).isEqualTo(3);
    Selection released = client.getSelection("p", own.selectionId());
    assertThat(released.pairs()).extracting(ScoredPair::state).containsOnly(PairState.RELEASED);
    assertThat(released.numReleased()).isEqualTo(3);

    List<Selection> listed = client.listSelections("p");
    assertThat(listed).extracting(Selection::selectionId)
        .containsExactly(own.selectionId(), projectDefault.selectionId());
    assertThat(listed.get(1).numPending()).isEqualTo(3);
  }

  @Test
  void aRetriedAddIsANoOpAndDifferentContentUnderAnIdIsAlreadyExists() {
    List<ComparisonInput> first = List.of(
        ComparisonInput.of("r0", "r1", Outcome.A).withId("c1"),
        new ComparisonInput("r2", "r3", Outcome.B, "bob", 0).withId("c2"));
    AddComparisonsResult added = client.addComparisons("p", first);
    assertThat(added.numAdded()).isEqualTo(2);
    assertThat(added.ids()).containsExactly("c1", "c2");

    AddComparisonsResult retried = client.addComparisons("p", first);
    assertThat(retried.numAdded()).isZero();
    assertThat(retried.numUnchanged()).isEqualTo(2);
    assertThat(client.getProject("p").numComparisons()).isEqualTo(2);

    ActiveRmException e = catchThrowableOfType(ActiveRmException.class,
        () -> client.addComparisons("p", List.of(ComparisonInput.of("r0", "r1", Outcome.B).withId("c1"))));
    assertThat(e.code()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(e.violations()).anySatisfy(v -> assertThat(v.field()).isEqualTo("comparisons[0].comparison_id"));

    assertThat(client.deleteAnnotatorComparisons("p", "bob").numDeleted()).isEqualTo(1);
    assertThat(client.listComparisons("p")).hasSize(1);
    assertThat(client.deleteComparisons("p", List.of("c1")).numDeleted()).isEqualTo(1);
    assertThat(client.getProject("p").numComparisons()).isZero();
  }

  @Test
  void retiredResponsesAreNoLongerCandidates() {
    List<String> retired = ids.subList(0, 10);
    assertThat(client.retireResponses("p", retired).numRetired()).isEqualTo(10);
    // Two responses are left: exactly one candidate pair, whatever the strategy samples.
    Selection s = client.selectBatch("p", SelectOptions.of(1, Strategy.RANDOM));
    assertThat(s.pairs()).extracting(p -> List.of(p.aId(), p.bId()).stream().sorted().toList())
        .containsExactly(List.of("r10", "r11"));
    ActiveRmException e = catchThrowableOfType(ActiveRmException.class,
        () -> client.selectBatch("p", SelectOptions.of(2, Strategy.RANDOM)));
    assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
  }
}

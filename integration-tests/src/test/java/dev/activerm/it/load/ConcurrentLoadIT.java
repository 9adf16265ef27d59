package dev.activerm.it.load;

import static org.assertj.core.api.Assertions.assertThat;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.ActiveRmException;
import dev.activerm.client.FitOptions;
import dev.activerm.client.SelectOptions;
import dev.activerm.client.Types.AddComparisonsResult;
import dev.activerm.client.Types.Comparison;
import dev.activerm.client.Types.ComparisonInput;
import dev.activerm.client.Types.Head;
import dev.activerm.client.Types.Model;
import dev.activerm.client.Types.Pair;
import dev.activerm.client.Types.PairScore;
import dev.activerm.client.Types.ProjectInfo;
import dev.activerm.client.Types.Scores;
import dev.activerm.client.Types.ScoredPair;
import dev.activerm.client.Types.Selection;
import dev.activerm.client.Types.Strategy;
import dev.activerm.it.ServerProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged server under 16 concurrent clients, each on its own channel, mixing
 * AddComparisons (random pairs, and the pairs of the client's last selection, as a labeling
 * loop would), Score (latest and explicit versions) and SelectBatch (every strategy, both
 * generated candidate sources) on a LINEAR and an MLP project while two Fit loops per project
 * refit the whole time. Bounded by a fixed number of operations, loopback only.
 *
 * <p>Expected errors: none. Every call is valid (distinct response pairs, pools far larger
 * than any batch, a model fitted before the load starts), so any failed call is a bug.
 */
@Timeout(300)
class ConcurrentLoadIT {
  static final int CLIENTS = 16;
  static final int OPS_PER_CLIENT = 32;
  static final int FITTERS_PER_PROJECT = 2;
  static final int DIM = 16;
  static final int ROWS = 300;
  static final int SEED_COMPARISONS = 40;
  static final int MIN_FITS = 3;
  static final List<String> PROJECTS = List.of("lin", "mlp");
  static final List<Strategy> STRATEGIES = List.of(Strategy.values());

  @TempDir Path dataDir;

  final LoadData data = new LoadData(ROWS, DIM, 30, 11);
  final List<String> errors = Collections.synchronizedList(new ArrayList<>());
  /** Per project: the versions Fit returned (a list, so a version handed out twice shows). */
  final Map<String, List<Long>> fitted = new ConcurrentHashMap<>();
  /** Per project: the versions Score and SelectBatch answers named. */
  final Map<String, Set<Long>> named = new ConcurrentHashMap<>();
  /** Per project: every comparison whose AddComparisons was acknowledged. */
  final Map<String, List<ComparisonInput>> acknowledged = new ConcurrentHashMap<>();
  final Map<String, List<Selection>> selections = new ConcurrentHashMap<>();
  final Map<String, AtomicInteger> fitsDuringLoad = new ConcurrentHashMap<>();
  /** Per project: pairs chosen by acknowledged selections, and pending pairs resolved by acknowledged adds. */
  final Map<String, AtomicInteger> selectedPairs = new ConcurrentHashMap<>();
  final Map<String, AtomicInteger> resolvedPairs = new ConcurrentHashMap<>();
  final AtomicInteger adds = new AtomicInteger();
  final AtomicInteger scores = new AtomicInteger();
  final AtomicInteger selects = new AtomicInteger();
  final AtomicInteger workersLeft = new AtomicInteger(CLIENTS);

  static ActiveRmClient client(ServerProcess server) {
    return ActiveRmClient.builder().target(server.target()).deadline(Duration.ofSeconds(120)).build();
  }

  static FitOptions fitOptions(String project, int n) {
    boolean warm = n % 2 == 1;
    return project.equals("mlp")
        ? new FitOptions(warm, n, 0, 0, 0, 3, 64, 0, 0, 0)
        : FitOptions.defaults().withSeed(n).withWarmStart(warm);
  }

  @Test
  void sixteenClientsMixAddsScoresAndSelectionsWhileFitRuns() throws Exception {
    try (ServerProcess server = ServerProcess.start(dataDir);
        ActiveRmClient admin = client(server)) {
      admin.createProject("lin", DIM, Head.LINEAR, 1.0);
      admin.createProject("mlp", DIM, Head.MLP, List.of(32, 32), 1.0);
      for (String p : PROJECTS) {
        data.upload(admin, p);
        List<ComparisonInput> seed = data.comparisons(SEED_COMPARISONS, p.hashCode(), "seed-" + p);
        assertThat(admin.addComparisons(p, seed).numAdded()).isEqualTo(SEED_COMPARISONS);
        acknowledged.put(p, Collections.synchronizedList(new ArrayList<>(seed)));
        fitted.put(p, Collections.synchronizedList(new ArrayList<>()));
        named.put(p, ConcurrentHashMap.newKeySet());
        selections.put(p, Collections.synchronizedList(new ArrayList<>()));
        fitsDuringLoad.put(p, new AtomicInteger());
        selectedPairs.put(p, new AtomicInteger());
        resolvedPairs.put(p, new AtomicInteger());
        fitted.get(p).add(admin.fit(p, fitOptions(p, 0)).version());
      }

      long started = System.nanoTime();
      ExecutorService threads = Executors.newFixedThreadPool(CLIENTS + FITTERS_PER_PROJECT * PROJECTS.size());
      try {
        List<Future<?>> running = new ArrayList<>();
        for (String p : PROJECTS) {
          for (int f = 0; f < FITTERS_PER_PROJECT; f++) {
            int fitter = f;
            running.add(threads.submit(() -> fitLoop(server, p, fitter)));
          }
        }
        for (int w = 0; w < CLIENTS; w++) {
          int worker = w;
          running.add(threads.submit(() -> work(server, worker)));
        }
        for (Future<?> f : running) {
          f.get(240, TimeUnit.SECONDS);
        }
      } finally {
        threads.shutdownNow();
        threads.awaitTermination(30, TimeUnit.SECONDS);
      }
      System.out.printf("load: %d clients, %d AddComparisons, %d Score, %d SelectBatch, Fit lin %s mlp %s, in %d ms%n",
          CLIENTS, adds.get(), scores.get(), selects.get(), fitted.get("lin").size(), fitted.get("mlp").size(),
          (System.nanoTime() - started) / 1_000_000);

      assertThat(errors).as("failed calls under load").isEmpty();
      assertThat(adds.get() + scores.get() + selects.get()).isEqualTo(CLIENTS * OPS_PER_CLIENT);
      for (String p : PROJECTS) {
        checkVersions(admin, p);
        checkComparisons(admin, p);
        checkSelections(admin, p);
      }
      assertThat(server.log()).as("server log").noneMatch(line -> line.contains(" ERROR "));
    }
  }

  /** Refits the project until every worker is done (and at least MIN_FITS times). */
  void fitLoop(ServerProcess server, String p, int fitter) {
    try (ActiveRmClient c = client(server)) {
      long last = 1;
      for (int n = 1; workersLeft.get() > 0 || n <= MIN_FITS; n++) {
        try {
          Model m = c.fit(p, fitOptions(p, 2 * n + fitter));
          if (m.version() <= last) {
            errors.add("Fit of " + p + " returned version " + m.version() + " after " + last);
          }
          last = m.version();
          fitted.get(p).add(m.version());
          if (workersLeft.get() > 0) {
            fitsDuringLoad.get(p).incrementAndGet();
          }
        } catch (RuntimeException e) {
          errors.add("Fit " + p + " fitter " + fitter + " #" + n + ": " + describe(e));
        }
      }
    }
  }

  void work(ServerProcess server, int worker) {
    Random random = new Random(1000 + worker);
    Map<String, Selection> lastSelection = new java.util.HashMap<>();
    try (ActiveRmClient c = client(server)) {
      for (int op = 0; op < OPS_PER_CLIENT; op++) {
        String p = PROJECTS.get(random.nextInt(PROJECTS.size()));
        int kind = random.nextInt(10);
        String what = "client " + worker + " op " + op + " on " + p;
        try {
          if (kind < 4) {
            add(c, p, random, "w" + worker + "-" + op, random.nextBoolean() ? lastSelection.remove(p) : null);
          } else if (kind < 7) {
            score(c, p, random, what);
          } else {
            lastSelection.put(p, select(c, p, random, STRATEGIES.get((worker + op) % STRATEGIES.size()), op, what));
          }
        } catch (RuntimeException e) {
          errors.add(what + ": " + describe(e));
        }
      }
    } finally {
      workersLeft.decrementAndGet();
    }
  }

  /** Labels the pairs of selected (when given) or 1..4 random pairs. */
  void add(ActiveRmClient c, String p, Random random, String annotator, Selection selected) {
    List<ComparisonInput> batch = new ArrayList<>();
    if (selected != null) {
      for (ScoredPair sp : selected.pairs()) {
        batch.add(data.label(sp.aId(), sp.bId(), annotator + "-" + batch.size()));
      }
    } else {
      int n = 1 + random.nextInt(4);
      for (int k = 0; k < n; k++) {
        batch.add(data.comparison(random, annotator + "-" + k));
      }
    }
    AddComparisonsResult r = c.addComparisons(p, batch);
    if (r.numAdded() != batch.size()) {
      errors.add("AddComparisons " + annotator + " on " + p + " acknowledged " + r.numAdded() + " of " + batch.size());
    }
    // A random add elsewhere may have labeled one of the selected pairs first; the exact
    // check is the project-wide count at the end (pending = selected - resolved).
    if (r.numPendingResolved() < 0 || r.numPendingResolved() > batch.size()) {
      errors.add("AddComparisons " + annotator + " on " + p + " resolved " + r.numPendingResolved()
          + " pending pairs with " + batch.size() + " comparisons");
    }
    acknowledged.get(p).addAll(batch);
    resolvedPairs.get(p).addAndGet((int) r.numPendingResolved());
    adds.incrementAndGet();
  }

  void score(ActiveRmClient c, String p, Random random, String what) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(data.ids.get(random.nextInt(ROWS)));
    }
    List<Pair> pairs = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      ComparisonInput ci = data.comparison(random, "");
      pairs.add(new Pair(ci.aId(), ci.bId()));
    }
    long asked = 0;
    if (random.nextInt(3) == 0) {
      List<Long> known = new ArrayList<>(fitted.get(p));
      asked = known.get(random.nextInt(known.size()));
    }
    Scores s = c.score(p, asked, ids, pairs);
    scores.incrementAndGet();
    named.get(p).add(s.modelVersion());
    if (asked != 0 && s.modelVersion() != asked) {
      errors.add(what + ": Score asked for version " + asked + " and answered with " + s.modelVersion());
    }
    boolean sane = s.rewards().length == ids.size() && s.pairScores().size() == pairs.size();
    for (double r : s.rewards()) {
      sane &= Double.isFinite(r);
    }
    for (PairScore ps : s.pairScores()) {
      sane &= ps.probability() >= 0 && ps.probability() <= 1 && ps.rewardDiffStddev() >= 0
          && Double.isFinite(ps.rewardDiffStddev());
    }
    if (!sane) {
      errors.add(what + ": Score answer out of shape or range: " + s);
    }
  }

  Selection select(ActiveRmClient c, String p, Random random, Strategy strategy, int seed, String what) {
    int batch = 2 + random.nextInt(3);
    SelectOptions.CandidateSource source = random.nextBoolean()
        ? SelectOptions.CandidateSource.CROSS_PROMPT : SelectOptions.CandidateSource.WITHIN_PROMPT;
    Selection s = c.selectBatch(p, SelectOptions.of(batch, strategy).withCandidates(source)
        .withMaxCandidates(3000).withSeed(seed));
    selects.incrementAndGet();
    named.get(p).add(s.modelVersion());
    selections.get(p).add(s);
    selectedPairs.get(p).addAndGet(s.pairs().size());
    Set<Set<String>> distinct = new HashSet<>();
    for (ScoredPair sp : s.pairs()) {
      distinct.add(Set.of(sp.aId(), sp.bId()));
    }
    if (s.strategy() != strategy || s.pairs().size() != batch || distinct.size() != batch
        || !s.pairs().stream().allMatch(sp -> data.ids.contains(sp.aId()) && data.ids.contains(sp.bId()))) {
      errors.add(what + ": SelectBatch " + strategy + " x " + batch + " answered " + s);
    }
    return s;
  }

  /** Fit handed out each of 1..N exactly once; every version an answer named is one of them. */
  void checkVersions(ActiveRmClient admin, String p) {
    List<Long> versions = new ArrayList<>(fitted.get(p));
    Collections.sort(versions);
    assertThat(versions).as("versions Fit returned for %s", p)
        .containsExactlyElementsOf(LongStream.rangeClosed(1, versions.size()).boxed().toList());
    assertThat(versions.size()).isGreaterThanOrEqualTo(1 + FITTERS_PER_PROJECT * MIN_FITS);
    assertThat(fitsDuringLoad.get(p).get()).as("fits of %s that finished while clients ran", p).isPositive();
    assertThat(fitted.get(p)).as("versions named by Score and SelectBatch on %s", p).containsAll(named.get(p));
    assertThat(admin.getProject(p).latestModelVersion()).isEqualTo(versions.size());
  }

  /** The count equals the acknowledged adds, and ListComparisons holds exactly those. */
  void checkComparisons(ActiveRmClient admin, String p) {
    List<ComparisonInput> sent = acknowledged.get(p);
    ProjectInfo info = admin.getProject(p);
    assertThat(info.numComparisons()).as("comparisons of %s", p).isEqualTo(sent.size());
    assertThat(info.numPendingPairs()).as("pending pairs of %s: selected minus resolved", p)
        .isEqualTo(selectedPairs.get(p).get() - resolvedPairs.get(p).get());
    List<Comparison> stored = admin.listComparisons(p);
    assertThat(stored.stream().map(c -> c.aId() + ">" + c.bId() + ":" + c.outcome() + "@" + c.annotatorId()).toList())
        .as("stored comparisons of %s", p)
        .containsExactlyInAnyOrderElementsOf(
            sent.stream().map(c -> c.aId() + ">" + c.bId() + ":" + c.outcome() + "@" + c.annotatorId()).toList());
  }

  /** Every acknowledged selection is stored as answered, under a distinct id. */
  void checkSelections(ActiveRmClient admin, String p) {
    List<Selection> answered = selections.get(p);
    assertThat(answered.stream().map(Selection::selectionId).distinct().count()).isEqualTo(answered.size());
    for (Selection s : answered) {
      Selection back = admin.getSelection(p, s.selectionId());
      assertThat(back.modelVersion()).isEqualTo(s.modelVersion());
      assertThat(back.strategy()).isEqualTo(s.strategy());
      assertThat(back.pairs()).extracting(ScoredPair::aId, ScoredPair::bId)
          .containsExactlyElementsOf(s.pairs().stream()
              .map(sp -> org.assertj.core.groups.Tuple.tuple(sp.aId(), sp.bId())).toList());
    }
  }

  static String describe(RuntimeException e) {
    return e instanceof ActiveRmException a ? a.code() + " " + a.description() : e.toString();
  }
}

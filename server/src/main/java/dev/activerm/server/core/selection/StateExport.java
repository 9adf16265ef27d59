package dev.activerm.server.core.selection;

import dev.activerm.server.core.cache.DerivedStateCache;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.model.ModelCodec;
import dev.activerm.server.core.model.RewardModel;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.strategy.LabeledInformation;
import dev.activerm.server.core.strategy.Strategy;
import dev.activerm.server.core.strategy.StrategyInput;
import dev.activerm.server.core.strategy.StrategyParams;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;

/**
 * ExportSelectionState: the latest model and lambda I + F(labeled and pending) with its factor,
 * computed exactly as SelectBatch's Fisher strategies compute it (LabeledInformation, the same
 * derived-state cache entry), under the project's read lock.
 */
public final class StateExport {
  private final ProjectRegistry registry;
  private final DerivedStateCache cache;

  public StateExport(ProjectRegistry registry, DerivedStateCache cache) {
    this.registry = registry;
    this.cache = cache;
  }

  public ExportedState export(String projectId) {
    ProjectState s = registry.require(projectId);
    registry.expirePending(s);
    Lock read = s.readLock();
    try {
      RewardModel model = s.latestModel();
      if (model == null) {
        throw ActiveRmException.failedPrecondition("project '" + s.spec().id()
            + "' has no fitted model; call Fit first (it has " + s.comparisons().size() + " comparisons)");
      }
      CandidateBuilder.Labeled labeled = CandidateBuilder.labeled(s);
      StrategyInput input = new StrategyInput(s.pool(), model, new PairList(new int[0], new int[0]), labeled.pairs(),
          labeled.weights(), s.spec().l2(), Strategy.GREEDY_DOPT, StrategyParams.DEFAULTS.resolve(), 0, 1, () -> false,
          null);
      LabeledInformation li = cache.get(
          new DerivedStateCache.Key("labeled-information", s.key(), model.version(), s.comparisons().version(),
              s.selections().version()),
          () -> LabeledInformation.compute(input),
          LabeledInformation::bytes);
      int nComp = s.comparisons().size();
      List<String> la = new ArrayList<>(nComp);
      List<String> lb = new ArrayList<>(nComp);
      List<String> pa = new ArrayList<>();
      List<String> pb = new ArrayList<>();
      for (int i = 0; i < labeled.pairs().size(); i++) {
        String a = s.responses().id(labeled.pairs().a()[i]);
        String b = s.responses().id(labeled.pairs().b()[i]);
        (i < nComp ? la : pa).add(a);
        (i < nComp ? lb : pb).add(b);
      }
      List<String> retired = new ArrayList<>();
      if (s.responses().numRetired() > 0) {
        for (int r = 0; r < s.responses().size(); r++) {
          if (s.responses().isRetired(r)) {
            retired.add(s.responses().id(r));
          }
        }
      }
      return new ExportedState(model.version(), s.spec().head(), s.spec().embeddingDim(), s.spec().l2(),
          ModelCodec.layerSizes(model), ModelCodec.encode(model), li.h(), li.matrix().clone(), li.factor().clone(),
          la, lb, pa, pb, retired);
    } finally {
      read.unlock();
    }
  }
}

package dev.activerm.server.api;

import com.google.protobuf.Duration;
import dev.activerm.proto.v1.CandidateSource;
import dev.activerm.proto.v1.GetSelectionRequest;
import dev.activerm.proto.v1.GetSelectionResponse;
import dev.activerm.proto.v1.ListSelectionsRequest;
import dev.activerm.proto.v1.ListSelectionsResponse;
import dev.activerm.proto.v1.PairState;
import dev.activerm.proto.v1.ReleasePairsRequest;
import dev.activerm.proto.v1.ReleasePairsResponse;
import dev.activerm.proto.v1.ResponsePair;
import dev.activerm.proto.v1.ScoredPair;
import dev.activerm.proto.v1.SelectBatchRequest;
import dev.activerm.proto.v1.SelectBatchResponse;
import dev.activerm.proto.v1.Selection;
import dev.activerm.proto.v1.StrategyParams;
import dev.activerm.server.api.observability.DomainMetrics;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.selection.SelectRequest;
import dev.activerm.server.core.selection.SelectionInfo;
import dev.activerm.server.core.selection.Selections;
import dev.activerm.server.core.strategy.Strategy;
import io.grpc.Context;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** SelectBatch / GetSelection: proto <-> domain, and the call's cancellation handed to core as a flag. */
final class SelectionRpcMapper {
  private final Selections selections;
  private final DomainMetrics metrics;

  SelectionRpcMapper(Selections selections, DomainMetrics metrics) {
    this.selections = selections;
    this.metrics = metrics;
  }

  /** Selects; the call's deadline or cancellation stops the computation (nothing stored). */
  SelectBatchResponse selectBatch(SelectBatchRequest r) {
    SelectionInfo info = selections.select(request(r), Context.current()::isCancelled);
    metrics.recordSelection(info.strategy(), info.wallTime());
    return SelectBatchResponse.newBuilder().setSelection(selection(info)).build();
  }

  GetSelectionResponse getSelection(GetSelectionRequest r) {
    return GetSelectionResponse.newBuilder()
        .setSelection(selection(selections.get(r.getProjectId(), r.getSelectionId())))
        .build();
  }

  private static final String SELECTIONS = "ListSelections";

  ListSelectionsResponse listSelections(ListSelectionsRequest r) {
    Selections.SelectionPage page = selections.list(r.getProjectId(),
        PageTokens.decodeOffset(SELECTIONS, r.getPageToken()), r.getPageSize(), r.getIncludePairs());
    ListSelectionsResponse.Builder out = ListSelectionsResponse.newBuilder();
    page.selections().forEach(s -> out.addSelections(selection(s)));
    if (page.nextBelowSeq() >= 0) {
      out.setNextPageToken(PageTokens.encode(SELECTIONS, Long.toString(page.nextBelowSeq())));
    }
    return out.build();
  }

  ReleasePairsResponse releasePairs(ReleasePairsRequest r) {
    List<String> a = new ArrayList<>(r.getPairsCount());
    List<String> b = new ArrayList<>(r.getPairsCount());
    for (ResponsePair p : r.getPairsList()) {
      a.add(p.getAId());
      b.add(p.getBId());
    }
    Selections.ReleaseResult result = selections.release(r.getProjectId(), r.getSelectionId(), a, b);
    return ReleasePairsResponse.newBuilder()
        .setNumReleased(result.released())
        .setNumNotPending(result.notPending())
        .setNumPendingPairs(result.pendingPairs())
        .build();
  }

  static SelectRequest request(SelectBatchRequest r) {
    Strategy strategy = strategy(r.getStrategy());
    dev.activerm.server.core.selection.CandidateSource source;
    List<String> a = new ArrayList<>();
    List<String> b = new ArrayList<>();
    List<String> promptIds = List.of();
    switch (r.getCandidates().getSourceCase()) {
      case EXPLICIT_PAIRS -> {
        source = dev.activerm.server.core.selection.CandidateSource.EXPLICIT;
        for (ResponsePair p : r.getCandidates().getExplicitPairs().getPairsList()) {
          a.add(p.getAId());
          b.add(p.getBId());
        }
      }
      case WITHIN_PROMPT -> {
        source = dev.activerm.server.core.selection.CandidateSource.WITHIN_PROMPT;
        promptIds = r.getCandidates().getWithinPrompt().getPromptIdsList();
      }
      default -> {
        source = dev.activerm.server.core.selection.CandidateSource.CROSS_PROMPT;
        promptIds = r.getCandidates().getCrossPrompt().getPromptIdsList();
      }
    }
    StrategyParams p = r.getParams();
    dev.activerm.server.core.strategy.StrategyParams params = new dev.activerm.server.core.strategy.StrategyParams(
        p.getRidge(), p.getCoresetClusters(), p.getCoresetRadius(), p.getPosteriorSamples(), p.getBatchbaldPool(),
        p.getBatchbaldConfigurations());
    return new SelectRequest(r.getProjectId(), r.getBatchSize(), strategy, source, a, b, promptIds,
        r.getMaxCandidates(), r.getSeed(), r.getIncludeLabeled(), r.getIncludePending(), r.getModelVersion(), params,
        ProtoMapper.ttlMillis(r.getPendingTtl()));
  }

  static Strategy strategy(dev.activerm.proto.v1.Strategy s) {
    if (s == dev.activerm.proto.v1.Strategy.STRATEGY_UNSPECIFIED) {
      return Strategy.GREEDY_DOPT;
    }
    if (s == dev.activerm.proto.v1.Strategy.UNRECOGNIZED) {
      String valid = Arrays.stream(Strategy.values()).map(x -> "STRATEGY_" + x.name()).collect(Collectors.joining(", "));
      throw ActiveRmException.invalid(
          "strategy is not a known value; use one of " + valid + " (unset means STRATEGY_GREEDY_DOPT)",
          new FieldViolation("strategy", "unknown value; valid: " + valid));
    }
    return Strategy.valueOf(s.name().substring("STRATEGY_".length()));
  }

  static Selection selection(SelectionInfo s) {
    Selection.Builder b = Selection.newBuilder()
        .setSelectionId(s.selectionId())
        .setModelVersion(s.modelVersion())
        .setStrategy(dev.activerm.proto.v1.Strategy.valueOf("STRATEGY_" + s.strategy().name()))
        .setSeed(s.seed())
        .setBatchSize(s.batchSize())
        .setNumCandidates(s.numCandidates())
        .setCreateTime(ProtoMapper.timestamp(s.createTime()))
        .setWallTime(Duration.newBuilder().setSeconds(s.wallTime().getSeconds()).setNanos(s.wallTime().getNano()))
        .setParams(StrategyParams.newBuilder()
            .setRidge(s.params().ridge())
            .setCoresetClusters(s.params().coresetClusters())
            .setCoresetRadius(s.params().coresetRadius())
            .setPosteriorSamples(s.params().posteriorSamples())
            .setBatchbaldPool(s.params().batchBaldPool())
            .setBatchbaldConfigurations(s.params().batchBaldConfigurations()))
        .setNumPrompts(s.numPrompts())
        .setMaxCandidates(s.maxCandidates())
        .setIncludeLabeled(s.includeLabeled())
        .setIncludePending(s.includePending())
        .setCandidateSource(switch (s.source()) {
          case EXPLICIT -> CandidateSource.CANDIDATE_SOURCE_EXPLICIT_PAIRS;
          case WITHIN_PROMPT -> CandidateSource.CANDIDATE_SOURCE_WITHIN_PROMPT;
          case CROSS_PROMPT -> CandidateSource.CANDIDATE_SOURCE_CROSS_PROMPT;
        })
        .setPendingTtl(ProtoMapper.duration(s.pendingTtl()))
        .setNumLabeled(s.numLabeled())
        .setNumPending(s.numPending())
        .setNumReleased(s.numReleased())
        .setComputedOn(s.computedOn());
    if (s.expireTime() != null) {
      b.setExpireTime(ProtoMapper.timestamp(s.expireTime()));
    }
    if (s.information() != null) {
      b.setInformation(dev.activerm.proto.v1.BatchInformation.newBuilder()
          .setLogDetGain(s.information().logDetGain())
          .setGainPerLabel(s.information().gainPerLabel())
          .setRelativeGainPerLabel(s.information().relativeGainPerLabel())
          .setReferenceSelectionId(s.information().referenceSelectionId()));
    }
    for (int i = 0; i < s.aIds().size(); i++) {
      b.addPairs(ScoredPair.newBuilder().setAId(s.aIds().get(i)).setBId(s.bIds().get(i)).setScore(s.scores()[i])
          .setState(switch (s.states().get(i)) {
            case PENDING -> PairState.PAIR_STATE_PENDING;
            case LABELED -> PairState.PAIR_STATE_LABELED;
            case RELEASED -> PairState.PAIR_STATE_RELEASED;
          }));
    }
    return b.build();
  }
}

package dev.activerm.server.core.selection;

import dev.activerm.server.core.project.SelectionLog;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.strategy.Strategy;
import dev.activerm.server.core.strategy.StrategyParams;
import dev.activerm.server.store.SelectionGain;
import dev.activerm.server.store.SelectionRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Selections <-> their store records. The request's knobs are stored as one
 * {@code key=value;...} string. A prompt restriction is recorded as its count of distinct
 * prompts only ("num_prompts", absent when not restricted and in records written before it
 * existed), so a million prompt ids do not bloat the record.
 */
final class SelectionRecords {
  private SelectionRecords() {}

  static String encodeParameters(SelectRequest req, int numPrompts) {
    StrategyParams p = req.params().resolve();
    Map<String, String> m = new LinkedHashMap<>();
    m.put("candidates", req.source().name());
    if (numPrompts > 0) {
      m.put("num_prompts", Integer.toString(numPrompts));
    }
    m.put("max_candidates", Long.toString(req.maxCandidatesOrDefault()));
    m.put("include_labeled", Boolean.toString(req.includeLabeled()));
    m.put("include_pending", Boolean.toString(req.includePending()));
    m.put("ridge", Double.toString(p.ridge()));
    m.put("coreset_clusters", Integer.toString(p.coresetClusters()));
    m.put("coreset_radius", Double.toString(p.coresetRadius()));
    m.put("posterior_samples", Integer.toString(p.posteriorSamples()));
    m.put("batchbald_pool", Integer.toString(p.batchBaldPool()));
    m.put("batchbald_configurations", Integer.toString(p.batchBaldConfigurations()));
    StringBuilder sb = new StringBuilder();
    m.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ";").append(k).append('=').append(v));
    return sb.toString();
  }

  /**
   * A registered batch (RegisterSelection): the knobs the job reported plus "computed_on",
   * which SelectBatch's own records never carry.
   */
  static String encodeRegistered(RegisterRequest req) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("candidates", req.source().name());
    m.put("max_candidates", Long.toString(req.maxCandidates()));
    m.put("include_labeled", "false");
    m.put("include_pending", "false");
    m.put("ridge", Double.toString(req.params().ridge()));
    m.put("computed_on", req.computedOn());
    StringBuilder sb = new StringBuilder();
    m.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ";").append(k).append('=').append(v));
    return sb.toString();
  }

  private static Map<String, String> decodeParameters(String s) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String part : s.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        m.put(part.substring(0, eq), part.substring(eq + 1));
      }
    }
    return m;
  }

  /**
   * A stored selection as the API shows it, ids resolved against the project, with its pairs'
   * states (liveLastLabel from {@link SelectionLog#liveLastLabel}); pairs and scores left out
   * unless withPairs. Caller holds its read lock.
   */
  static SelectionInfo info(ProjectState s, SelectionLog.Entry e, Map<Long, Long> liveLastLabel, boolean withPairs) {
    SelectionRecord r = e.record();
    int n = r.aRows().length;
    List<String> a = new ArrayList<>(withPairs ? n : 0);
    List<String> b = new ArrayList<>(withPairs ? n : 0);
    List<SelectionLog.PairState> states = new ArrayList<>(withPairs ? n : 0);
    long[] counts = new long[SelectionLog.PairState.values().length];
    for (int i = 0; i < n; i++) {
      SelectionLog.PairState st = SelectionLog.state(e, i, liveLastLabel);
      counts[st.ordinal()]++;
      if (withPairs) {
        a.add(s.responses().id(r.aRows()[i]));
        b.add(s.responses().id(r.bRows()[i]));
        states.add(st);
      }
    }
    Map<String, String> m = decodeParameters(r.parameters());
    StrategyParams params = new StrategyParams(
        Double.parseDouble(m.getOrDefault("ridge", "0")),
        Integer.parseInt(m.getOrDefault("coreset_clusters", "0")),
        Double.parseDouble(m.getOrDefault("coreset_radius", "0")),
        Integer.parseInt(m.getOrDefault("posterior_samples", "0")),
        Integer.parseInt(m.getOrDefault("batchbald_pool", "0")),
        Integer.parseInt(m.getOrDefault("batchbald_configurations", "0")));
    return new SelectionInfo(
        r.selectionId(), r.modelVersion(), Strategy.valueOf(r.strategy()), r.seed(), r.batchSize(), r.numCandidates(),
        a, b, withPairs ? r.scores().clone() : new double[0], Instant.ofEpochMilli(r.createTimeMillis()),
        Duration.ofNanos(r.wallTimeNanos()),
        CandidateSource.valueOf(m.getOrDefault("candidates", "CROSS_PROMPT")),
        Long.parseLong(m.getOrDefault("num_prompts", "0")),
        Long.parseLong(m.getOrDefault("max_candidates", "0")),
        Boolean.parseBoolean(m.getOrDefault("include_labeled", "false")),
        Boolean.parseBoolean(m.getOrDefault("include_pending", "false")),
        params,
        Duration.ofMillis(r.pendingTtlMillis()),
        r.pendingTtlMillis() == 0 ? null : Instant.ofEpochMilli(r.expireAtMillis()),
        states,
        counts[SelectionLog.PairState.LABELED.ordinal()],
        counts[SelectionLog.PairState.PENDING.ordinal()],
        counts[SelectionLog.PairState.RELEASED.ordinal()],
        m.getOrDefault("computed_on", ""),
        information(r));
  }

  /** The stored gain as the API reports it; null when not measured. */
  private static SelectionInfo.Information information(SelectionRecord r) {
    SelectionGain g = r.gain();
    if (g == null) {
      return null;
    }
    double perLabel = r.aRows().length == 0 ? 0 : g.logDetGain() / r.aRows().length;
    return new SelectionInfo.Information(g.logDetGain(), perLabel, perLabel / g.referenceGainPerLabel(),
        g.referenceSelectionId());
  }

  /**
   * The gain to store with a new selection (seq, id, n pairs): its reference is the project's
   * oldest selection with a measured gain per label > 0, or this selection itself when there is
   * none yet and its own gain per label is > 0; null (not measured) when there is no reference.
   */
  static SelectionGain gain(SelectionLog log, String selectionId, int n, double logDetGain) {
    if (!Double.isFinite(logDetGain) || n == 0) {
      return null;
    }
    SelectionRecord ref = log.oldest(r -> r.gain() != null && r.gain().referenceSelectionId().equals(r.selectionId()));
    if (ref != null) {
      return new SelectionGain(logDetGain, ref.selectionId(), ref.gain().logDetGain() / ref.aRows().length);
    }
    double perLabel = logDetGain / n;
    return perLabel > 0 ? new SelectionGain(logDetGain, selectionId, perLabel) : null;
  }
}

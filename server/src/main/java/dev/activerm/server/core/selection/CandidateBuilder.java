package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.cache.DerivedStateCache;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.errors.Violations;
import dev.activerm.server.core.pairs.LongHashSet;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.pairs.Sampling;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.project.RowResolver;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongPredicate;

/**
 * The candidate pairs of one SelectBatch (explicit, within-prompt or cross-prompt, optionally
 * only responses to listed prompts, labeled and pending pairs excluded unless asked), and the
 * labeled-plus-pending pairs the Fisher strategies count as information. Caller holds the
 * project's read or write lock.
 */
final class CandidateBuilder {
  private final DerivedStateCache cache;

  CandidateBuilder(DerivedStateCache cache) {
    this.cache = cache;
  }

  /** numPrompts: distinct prompts the candidates were restricted to, 0 when not restricted. */
  record Candidates(PairList pairs, int numPrompts) {}

  /** The labeled and pending pairs, one entry per observation, with their weights (1 for pending). */
  record Labeled(PairList pairs, double[] weights) {}

  Candidates candidates(ProjectState s, SelectRequest req, BooleanSupplier cancelled) {
    int poolRows = s.pool().size();
    int nComp = s.comparisons().size();
    long cap = req.maxCandidatesOrDefault();
    LongHashSet labeledKeys = req.includeLabeled() ? null : cache.get(
        new DerivedStateCache.Key("labeled-keys", s.key(), -1, s.comparisons().version(), 0),
        () -> {
          LongHashSet set = new LongHashSet((int) nComp);
          for (int i = 0; i < nComp; i++) {
            set.add(PairKeys.key(s.comparisons().aRow(i), s.comparisons().bRow(i)));
          }
          return set;
        },
        LongHashSet::bytes);
    boolean excludePending = !req.includePending();
    boolean anyRetired = s.responses().numRetired() > 0;
    LongPredicate excluded = k -> (labeledKeys != null && labeledKeys.contains(k))
        || (excludePending && s.selections().isPending(k))
        || (anyRetired && (s.responses().isRetired(PairKeys.lo(k)) || s.responses().isRetired(PairKeys.hi(k))));
    long numExcluded = (labeledKeys == null ? 0 : labeledKeys.size())
        + (excludePending ? s.selections().pendingCount() : 0);

    // Prompts the candidates are restricted to (null: every prompt).
    boolean[] allowedPrompt = allowedPrompts(s, req);
    int numPrompts = 0;
    if (allowedPrompt != null) {
      for (boolean allowed : allowedPrompt) {
        numPrompts += allowed ? 1 : 0;
      }
    }
    PairList pairs = switch (req.source()) {
      case EXPLICIT -> explicit(s, req, excluded, cap);
      case WITHIN_PROMPT -> {
        int[] promptOf = new int[poolRows];
        for (int r = 0; r < poolRows; r++) {
          int p = s.responses().promptIndex(r);
          promptOf[r] = (allowedPrompt == null || allowedPrompt[p]) && !s.responses().isRetired(r) ? p : -1;
        }
        yield CandidateGenerator.withinPrompt(
            poolRows, promptOf, s.responses().numPrompts(), cap, excluded, numExcluded, req.seed(), cancelled);
      }
      case CROSS_PROMPT -> allowedPrompt == null && !anyRetired
          ? CandidateGenerator.crossPrompt(poolRows, cap, excluded, numExcluded, req.seed(), cancelled)
          : CandidateGenerator.crossPrompt(
              allowedRows(s, poolRows, allowedPrompt), cap, excluded, numExcluded, req.seed(), cancelled);
    };
    if (pairs.size() < req.batchSize()) {
      throw ActiveRmException.invalid(
          "batch_size " + req.batchSize() + " is larger than the " + pairs.size() + " candidate pairs ("
              + req.source() + (allowedPrompt == null ? "" : " of " + numPrompts + " prompts")
              + (req.includeLabeled() ? "" : ", labeled pairs excluded")
              + (req.includePending() ? "" : ", pending pairs excluded")
              + (anyRetired ? ", retired responses excluded" : "")
              + "); ask for at most " + pairs.size() + " pairs, add responses, or widen the candidates",
          new FieldViolation("batch_size", req.batchSize() + " > " + pairs.size() + " candidates"));
    }
    return new Candidates(pairs, numPrompts);
  }

  static Labeled labeled(ProjectState s) {
    int nComp = s.comparisons().size();
    long[] pend = s.selections().pendingKeys();
    int n = nComp + pend.length;
    int[] la = new int[n];
    int[] lb = new int[n];
    double[] weights = new double[n];
    for (int i = 0; i < nComp; i++) {
      la[i] = s.comparisons().aRow(i);
      lb[i] = s.comparisons().bRow(i);
      weights[i] = s.comparisons().weight(i);
    }
    for (int i = 0; i < pend.length; i++) {
      la[nComp + i] = PairKeys.lo(pend[i]);
      lb[nComp + i] = PairKeys.hi(pend[i]);
      weights[nComp + i] = 1.0;
    }
    return new Labeled(new PairList(la, lb), weights);
  }

  /**
   * The request's prompt_ids as a flag per dense prompt index, or null when it lists none
   * (every prompt). An id no response of the project answers is NOT_FOUND.
   */
  private static boolean[] allowedPrompts(ProjectState s, SelectRequest req) {
    List<String> ids = req.promptIds();
    if (ids.isEmpty()) {
      return null;
    }
    boolean[] allowed = new boolean[s.responses().numPrompts()];
    Violations missing = new Violations();
    for (int i = 0; i < ids.size(); i++) {
      int p = s.responses().promptIndexOf(ids.get(i));
      if (p < 0) {
        missing.add(req.promptIdsField() + "[" + i + "]",
            "'" + Shown.id(ids.get(i)) + "' is the prompt of no response in project '" + s.spec().id() + "'");
      } else {
        allowed[p] = true;
      }
    }
    missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
        "SelectBatch restricts the candidates to prompts that no response of project '" + s.spec().id()
            + "' answers; add responses to them with AddResponses first, or leave them out of "
            + req.promptIdsField() + ":");
    return allowed;
  }

  /** Pool rows (ascending) that are not retired and whose prompt is allowed (allowedPrompt null: any). */
  private static int[] allowedRows(ProjectState s, int poolRows, boolean[] allowedPrompt) {
    int[] rows = new int[poolRows];
    int n = 0;
    for (int r = 0; r < poolRows; r++) {
      if ((allowedPrompt == null || allowedPrompt[s.responses().promptIndex(r)]) && !s.responses().isRetired(r)) {
        rows[n++] = r;
      }
    }
    return Arrays.copyOf(rows, n);
  }

  private static PairList explicit(ProjectState s, SelectRequest req, LongPredicate excluded, long cap) {
    Violations missing = new Violations();
    int n = req.explicitA().size();
    int[] a = new int[n];
    int[] b = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = RowResolver.row(s, req.explicitA().get(i), "candidates.explicit_pairs.pairs[" + i + "].a_id", missing);
      b[i] = RowResolver.row(s, req.explicitB().get(i), "candidates.explicit_pairs.pairs[" + i + "].b_id", missing);
    }
    missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND,
        "SelectBatch names responses that are not in project '" + s.spec().id() + "'; add them with AddResponses first:");
    // Drop duplicates (first occurrence wins, orientation as given) and excluded pairs.
    LongHashSet seen = new LongHashSet(n);
    int m = 0;
    for (int i = 0; i < n; i++) {
      long k = PairKeys.key(a[i], b[i]);
      if (!excluded.test(k) && seen.add(k)) {
        a[m] = a[i];
        b[m] = b[i];
        m++;
      }
    }
    if (m > cap) {
      int[] idx = Sampling.sampleIndices(m, (int) cap, req.seed());
      Arrays.sort(idx);
      int[] ca = new int[idx.length];
      int[] cb = new int[idx.length];
      for (int i = 0; i < idx.length; i++) {
        ca[i] = a[idx[i]];
        cb[i] = b[idx[i]];
      }
      return new PairList(ca, cb);
    }
    return new PairList(Arrays.copyOf(a, m), Arrays.copyOf(b, m));
  }
}

package dev.activerm.spark;

import dev.activerm.client.Types.Pair;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.core.pairs.PairList;
import dev.activerm.server.core.selection.CandidateGenerator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.apache.spark.api.java.function.FlatMapGroupsFunction;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The candidate pairs as ids only, (k, a_id, b_id, blk), from one of three sources, always
 * without labeled, pending, retired and repeated pairs (as SelectBatch):
 * <ul>
 *   <li>EXPLICIT: the caller's pairs (k = the pair's index, the server's tie order; blk = k mod K);
 *   <li>WITHIN_PROMPT: the pool's ids grouped by prompt_id, then every pair of a group, a
 *       seeded subsample when a prompt has more than the cap; blk = a hash of the prompt;
 *   <li>CROSS_PROMPT: the pool's ids hashed (with the seed) into K buckets, then pairs sampled
 *       inside each bucket: every pair of distinct responses lands in one bucket with the same
 *       probability, and no stage ever enumerates R^2; blk = the bucket.
 * </ul>
 * Inside a group the server's own {@link CandidateGenerator} draws the pairs over local row
 * indices (ids sorted), so a prompt's candidates are exactly the server's WITHIN_PROMPT pairs
 * when the cap is not hit. Only ids are shuffled here (the embedding column is pruned):
 * {@link Blocks} later brings phi of the touched responses to their block. For the generated
 * sources blk is a function of the response ({@link BlockOf}), so both ends of a pair and
 * every pair of a response share one block.
 */
final class Candidates {
  private Candidates() {}

  static final StructType PAIRS = new StructType()
      .add("k", DataTypes.LongType, false)
      .add("a_id", DataTypes.StringType, false)
      .add("b_id", DataTypes.StringType, false)
      .add("blk", DataTypes.IntegerType, false);

  /** An unordered pair of ids as one string (ids hold no NUL: the server's id rules). */
  static String canon(String a, String b) {
    return a.compareTo(b) < 0 ? a + "\u0000" + b : b + "\u0000" + a;
  }

  static Dataset<Row> explicit(SparkSession spark, List<Pair> pairs, Set<String> excluded, Set<String> retired,
      int blocks) {
    List<Row> rows = new ArrayList<>(pairs.size());
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < pairs.size(); i++) {
      Pair p = pairs.get(i);
      if (p.aId().equals(p.bId())) {
        throw new IllegalArgumentException("explicit pair " + i + " compares '" + p.aId() + "' with itself");
      }
      String key = canon(p.aId(), p.bId());
      if (retired.contains(p.aId()) || retired.contains(p.bId()) || excluded.contains(key) || !seen.add(key)) {
        continue; // as SelectBatch: labeled, pending, retired and repeated pairs are left out
      }
      rows.add(RowFactory.create((long) i, p.aId(), p.bId(), i % blocks));
    }
    return spark.createDataFrame(rows, PAIRS);
  }

  /** Every pair of responses sharing a prompt_id, at most capPerPrompt per prompt (0: no cap). */
  static Dataset<Row> withinPrompt(Dataset<Row> pool, long capPerPrompt, long seed, int blocks,
      Broadcast<Set<String>> excluded, Set<String> retired) {
    Dataset<Row> live = live(pool.select("response_id", "prompt_id"), retired);
    long cap = capPerPrompt > 0 ? capPerPrompt : Integer.MAX_VALUE;
    BlockOf blockOf = BlockOf.byPrompt(blocks);
    FlatMapGroupsFunction<String, Row, Row> pairs = (prompt, it) ->
        group(it, cap, seed ^ hash64(prompt), blockOf.of(null, prompt), excluded.value());
    return live.groupByKey((MapFunction<Row, String>) r -> r.getString(1), Encoders.STRING())
        .flatMapGroups(pairs, Encoders.row(PAIRS));
  }

  /**
   * About cap pairs of distinct responses: the pool's ids are split into buckets by a seeded
   * hash of response_id, and each bucket draws its share of the cap among its own responses.
   */
  static Dataset<Row> crossPrompt(Dataset<Row> pool, long cap, int buckets, long seed,
      Broadcast<Set<String>> excluded, Set<String> retired) {
    Dataset<Row> live = live(pool.select("response_id"), retired);
    BlockOf blockOf = BlockOf.byResponse(buckets, seed);
    FlatMapGroupsFunction<Integer, Row, Row> pairs = (bucket, it) -> {
      long share = cap / buckets + (bucket < cap % buckets ? 1 : 0);
      return group(it, share, seed * 0x9E3779B97F4A7C15L + bucket, bucket, excluded.value());
    };
    return live.groupByKey((MapFunction<Row, Integer>) r -> blockOf.of(r.getString(0), null), Encoders.INT())
        .flatMapGroups(pairs, Encoders.row(PAIRS));
  }

  private static Dataset<Row> live(Dataset<Row> ids, Set<String> retired) {
    if (retired.isEmpty()) {
      return ids;
    }
    Set<String> r = Set.copyOf(retired);
    return ids.filter((org.apache.spark.api.java.function.FilterFunction<Row>) row -> !r.contains(row.getString(0)));
  }

  /**
   * The server's candidate draw over one group's responses as local rows (sorted by id, so a
   * seed gives the same pairs whatever order the shuffle delivered them in).
   */
  private static Iterator<Row> group(Iterator<Row> it, long cap, long seed, int blk, Set<String> excluded) {
    List<String> list = new ArrayList<>();
    it.forEachRemaining(r -> list.add(r.getString(0)));
    String[] ids = list.toArray(new String[0]);
    Arrays.sort(ids);
    for (int i = 1; i < ids.length; i++) {
      if (ids[i].equals(ids[i - 1])) {
        throw new IllegalArgumentException("pool lists response_id '" + ids[i]
            + "' twice; each response must appear once");
      }
    }
    int m = ids.length;
    if (m < 2 || cap < 1) {
      return List.<Row>of().iterator();
    }
    // numExcluded over-counts (exclusions of other groups): it only picks enumerate vs sample.
    PairList p = CandidateGenerator.crossPrompt(m, cap,
        key -> excluded.contains(canon(ids[PairKeys.lo(key)], ids[PairKeys.hi(key)])), excluded.size(), seed,
        () -> false);
    List<Row> out = new ArrayList<>(p.size());
    for (int i = 0; i < p.size(); i++) {
      String a = ids[p.a()[i]];
      String b = ids[p.b()[i]];
      out.add(RowFactory.create(hash64(canon(a, b)) & Long.MAX_VALUE, a, b, blk));
    }
    return out.iterator();
  }

  /** FNV-1a 64 over UTF-8: a stable hash (String.hashCode is only 32 bits). */
  static long hash64(String s) {
    long h = 0xcbf29ce484222325L;
    for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= c & 0xff;
      h *= 0x100000001b3L;
    }
    return h;
  }
}

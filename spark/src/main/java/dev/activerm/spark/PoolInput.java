package dev.activerm.spark;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/** A pool as Parquet on any Hadoop path: response_id string, prompt_id string, embedding array<float>. */
final class PoolInput {
  private PoolInput() {}

  static Dataset<Row> read(SparkSession spark, String path) {
    return of(spark.read().parquet(path), path);
  }

  /** The pool's three columns, after checking their names and types (path names it in errors). */
  static Dataset<Row> of(Dataset<Row> pool, String path) {
    check(pool.schema(), path);
    return pool.select("response_id", "prompt_id", "embedding");
  }

  static void check(StructType schema, String path) {
    List<String> names = Arrays.asList(schema.fieldNames());
    require(schema, names, "response_id", DataTypes.StringType, path);
    require(schema, names, "prompt_id", DataTypes.StringType, path);
    require(schema, names, "embedding", new ArrayType(DataTypes.FloatType, true), path);
  }

  private static void require(StructType schema, List<String> names, String col, DataType type, String path) {
    if (!names.contains(col)) {
      throw new IllegalArgumentException("pool " + path + " has no column '" + col + "' (columns: " + names
          + "); a pool needs response_id string, prompt_id string, embedding array<float>");
    }
    StructField f = schema.apply(col);
    DataType t = f.dataType();
    boolean ok = t instanceof ArrayType a ? type instanceof ArrayType e && a.elementType().equals(e.elementType())
        : t.equals(type);
    if (!ok) {
      throw new IllegalArgumentException("pool " + path + " column '" + col + "' is " + t.simpleString() + "; use "
          + type.simpleString());
    }
  }
}

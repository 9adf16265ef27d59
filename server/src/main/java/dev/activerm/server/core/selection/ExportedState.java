package dev.activerm.server.core.selection;

import dev.activerm.server.core.model.HeadSpec;
import java.util.List;

/**
 * What a SelectBatch computed off the server (the Spark job) needs for one model version:
 * the head's parameters as {@code ModelCodec} stores them, lambda I + F(labeled and pending)
 * with its lower factor (h x h, row-major), and the pairs and responses it must exclude.
 */
public record ExportedState(
    long modelVersion,
    HeadSpec head,
    int embeddingDim,
    double lambda,
    int[] layerSizes,
    byte[] parameters,
    int featureDim,
    double[] information,
    double[] factor,
    List<String> labeledA,
    List<String> labeledB,
    List<String> pendingA,
    List<String> pendingB,
    List<String> retired) {}

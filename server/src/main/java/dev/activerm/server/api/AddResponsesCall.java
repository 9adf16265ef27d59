package dev.activerm.server.api;

import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.project.ResponseBatch;
import dev.activerm.server.core.project.Responses;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client-streaming AddResponses call. Chunks are decoded and checked as they arrive
 * (the first bad chunk ends the call); the rows are committed together when the client
 * half-closes. A cancelled or failed call stores nothing.
 */
final class AddResponsesCall implements StreamObserver<AddResponsesRequest> {
  private static final Logger log = LoggerFactory.getLogger(AddResponsesCall.class);
  private static final String METHOD = "AddResponses";

  private final Responses responses;
  private final StreamObserver<AddResponsesResponse> out;
  private ResponseBatch batch;
  private boolean finished;

  AddResponsesCall(Responses responses, StreamObserver<AddResponsesResponse> out) {
    this.responses = responses;
    this.out = out;
  }

  @Override
  public void onNext(AddResponsesRequest chunk) {
    if (finished) {
      return;
    }
    try {
      if (batch == null) {
        if (chunk.getProjectId().isEmpty()) {
          throw ActiveRmException.invalid(
              "the first AddResponses chunk must name project_id",
              new FieldViolation("project_id", "empty in the first chunk"));
        }
        batch = responses.newBatch(chunk.getProjectId());
      } else if (!chunk.getProjectId().isEmpty() && !chunk.getProjectId().equals(batch.projectId())) {
        throw ActiveRmException.invalid(
            "a chunk names project '" + chunk.getProjectId() + "' but the call started with '" + batch.projectId()
                + "'; one AddResponses call writes to one project",
            new FieldViolation("project_id", "differs from the first chunk"));
      }
      float[] values = MatrixCodec.decode(chunk.getEmbeddings(), "embeddings");
      batch.addChunk(
          chunk.getResponseIdsList(), chunk.getPromptIdsList(),
          chunk.getEmbeddings().getRows(), chunk.getEmbeddings().getCols(), values);
    } catch (RuntimeException | OutOfMemoryError e) {
      fail(e);
    }
  }

  @Override
  public void onError(Throwable t) {
    // The client cancelled or the connection broke: drop the call, store nothing.
    if (!finished && batch != null) {
      responses.abort(batch);
    }
    finished = true;
    batch = null;
    log.debug("AddResponses call ended by the client: {}", t.getMessage());
  }

  @Override
  public void onCompleted() {
    if (finished) {
      return;
    }
    finished = true;
    try {
      if (batch == null) {
        throw ActiveRmException.invalid(
            "AddResponses received no chunks; send at least one chunk with project_id, response_ids, prompt_ids and embeddings",
            new FieldViolation("project_id", "no chunks"));
      }
      ResponseBatch committing = batch;
      batch = null;
      long total = responses.commit(committing); // commits or aborts, never leaves the call open
      out.onNext(AddResponsesResponse.newBuilder().setNumAdded(committing.size()).setNumResponses(total).build());
      out.onCompleted();
    } catch (RuntimeException | OutOfMemoryError e) {
      out.onError(ErrorMapper.toStatus(METHOD, e));
    }
  }

  private void fail(Throwable e) {
    finished = true;
    if (batch != null) {
      responses.abort(batch);
      batch = null;
    }
    out.onError(ErrorMapper.toStatus(METHOD, e));
  }
}

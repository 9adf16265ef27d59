package dev.activerm.server.api;

import dev.activerm.proto.v1.AddResponsesRequest;
import dev.activerm.proto.v1.AddResponsesResponse;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.project.IngestClaim;
import dev.activerm.server.core.project.ResponseBatch;
import dev.activerm.server.core.project.Responses;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client-streaming AddResponses call. Chunks are decoded and checked as they arrive
 * (the first bad chunk ends the call); the rows are committed together when the client
 * half-closes, and only then. Every other end (a bad chunk, a chunk naming another project,
 * cancellation or deadline, an interceptor or the decoder closing the call) aborts: nothing
 * is stored and the project's upload slot is free again.
 *
 * <p>Waiting for the slot holds no thread: the call asks for one message at a time, keeps the
 * first chunk while its claim waits, and carries on on {@code executor} once granted. The
 * gRPC callbacks and that continuation are serialised by this object's monitor.
 */
final class AddResponsesCall implements StreamObserver<AddResponsesRequest> {
  private static final Logger log = LoggerFactory.getLogger(AddResponsesCall.class);
  private static final String METHOD = "AddResponses";

  private final Responses responses;
  private final ServerCallStreamObserver<AddResponsesResponse> out;
  private final Executor executor;
  private IngestClaim claim;
  private AddResponsesRequest firstChunk;
  private boolean halfClosedWhileWaiting;
  private ResponseBatch batch;
  private boolean finished;

  /** Call from the service method: it takes over the call's inbound flow control. */
  AddResponsesCall(Responses responses, StreamObserver<AddResponsesResponse> out, Executor executor) {
    this.responses = responses;
    this.out = (ServerCallStreamObserver<AddResponsesResponse>) out;
    this.executor = executor;
    this.out.disableAutoRequest();
    this.out.setOnCancelHandler(() -> end("cancelled by the client"));
    // Runs when the call is closed by anyone, e.g. an interceptor denying a later chunk.
    this.out.setOnCloseHandler(() -> end("closed"));
    this.out.request(1);
  }

  @Override
  public synchronized void onNext(AddResponsesRequest chunk) {
    if (finished) {
      return;
    }
    try {
      if (claim == null) {
        if (chunk.getProjectId().isEmpty()) {
          throw ActiveRmException.invalid(
              "the first AddResponses chunk must name project_id",
              new FieldViolation("project_id", "empty in the first chunk"));
        }
        claim = responses.claim(chunk.getProjectId());
        firstChunk = chunk;
        if (claim.granted().isDone()) {
          granted(null);
        } else {
          claim.granted().whenCompleteAsync((v, e) -> granted(e), executor);
        }
        return;
      }
      add(chunk);
      out.request(1);
    } catch (RuntimeException | OutOfMemoryError e) {
      fail(e);
    }
  }

  /** The claim's outcome: open the batch and take the first chunk, or fail (ABORTED after the wait). */
  private synchronized void granted(Throwable waitFailed) {
    if (finished) {
      return; // withdrawn meanwhile; end() gave the slot back
    }
    try {
      if (waitFailed != null) {
        throw waitFailed instanceof CompletionException c && c.getCause() != null ? c.getCause() : waitFailed;
      }
      batch = responses.open(claim);
      AddResponsesRequest first = firstChunk;
      firstChunk = null;
      add(first);
      if (halfClosedWhileWaiting) {
        commit();
      } else {
        out.request(1);
      }
    } catch (RuntimeException | OutOfMemoryError e) {
      fail(e);
    } catch (Throwable e) {
      fail(new IllegalStateException("waiting for the upload slot failed", e));
    }
  }

  private void add(AddResponsesRequest chunk) {
    if (!chunk.getProjectId().isEmpty() && !chunk.getProjectId().equals(batch.projectId())) {
      throw ActiveRmException.invalid(
          "a chunk names project '" + Shown.id(chunk.getProjectId()) + "' but the call started with '"
              + batch.projectId() + "'; one AddResponses call writes to one project",
          new FieldViolation("project_id", "differs from the first chunk"));
    }
    java.nio.ByteBuffer values = MatrixCodec.bytes(chunk.getEmbeddings(), "embeddings");
    batch.addChunk(
        chunk.getResponseIdsList(), chunk.getPromptIdsList(),
        chunk.getEmbeddings().getRows(), chunk.getEmbeddings().getCols(), values);
  }

  @Override
  public synchronized void onError(Throwable t) {
    end("ended by the client: " + t.getMessage());
  }

  @Override
  public synchronized void onCompleted() {
    if (finished) {
      return;
    }
    try {
      if (claim == null) {
        throw ActiveRmException.invalid(
            "AddResponses received no chunks; send at least one chunk with project_id, response_ids, prompt_ids and embeddings",
            new FieldViolation("project_id", "no chunks"));
      }
      if (batch == null) {
        halfClosedWhileWaiting = true; // granted() commits
        return;
      }
      commit();
    } catch (RuntimeException | OutOfMemoryError e) {
      fail(e);
    }
  }

  private void commit() {
    finished = true;
    ResponseBatch committing = batch;
    batch = null;
    long total;
    try {
      total = responses.commit(committing); // commits or aborts, never leaves the call open
    } catch (RuntimeException | OutOfMemoryError e) {
      out.onError(ErrorMapper.toStatus(METHOD, e));
      return;
    }
    out.onNext(AddResponsesResponse.newBuilder().setNumAdded(committing.size()).setNumResponses(total).build());
    out.onCompleted();
  }

  /** Ends the call without answering (the call is already over): aborts whatever it holds. */
  private synchronized void end(String why) {
    if (finished) {
      return;
    }
    release();
    log.debug("AddResponses call {}; nothing stored", why);
  }

  private void fail(Throwable e) {
    release();
    out.onError(ErrorMapper.toStatus(METHOD, e));
  }

  private void release() {
    finished = true;
    firstChunk = null;
    if (batch != null) {
      responses.abort(batch);
      batch = null;
    } else if (claim != null) {
      claim.withdraw();
    }
  }
}

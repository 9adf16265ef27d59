package dev.activerm.server.api;

import dev.activerm.proto.v1.AddComparisonsRequest;
import dev.activerm.proto.v1.AddComparisonsResponse;
import dev.activerm.proto.v1.CreateProjectRequest;
import dev.activerm.proto.v1.CreateProjectResponse;
import dev.activerm.proto.v1.DeleteProjectRequest;
import dev.activerm.proto.v1.DeleteProjectResponse;
import dev.activerm.proto.v1.GetProjectRequest;
import dev.activerm.proto.v1.GetProjectResponse;
import dev.activerm.proto.v1.ListComparisonsRequest;
import dev.activerm.proto.v1.ListComparisonsResponse;
import dev.activerm.proto.v1.ListProjectsRequest;
import dev.activerm.proto.v1.ListProjectsResponse;
import dev.activerm.proto.v1.ListResponsesRequest;
import dev.activerm.proto.v1.ListResponsesResponse;
import dev.activerm.proto.v1.DeleteComparisonsRequest;
import dev.activerm.proto.v1.DeleteComparisonsResponse;
import dev.activerm.proto.v1.RetireResponsesRequest;
import dev.activerm.proto.v1.RetireResponsesResponse;
import dev.activerm.server.core.project.Retirements;
import dev.activerm.server.api.auth.ApiKeyInterceptor;
import dev.activerm.server.api.auth.Principal;
import dev.activerm.server.core.ActiveRmCore;
import dev.activerm.server.core.project.ComparisonPage;
import dev.activerm.server.core.project.Comparisons;
import dev.activerm.server.core.project.ProjectInfo;
import dev.activerm.server.core.project.ProjectPage;
import dev.activerm.server.core.project.ResponsePage;

/** Request -> domain call -> response, for the project, response and comparison RPCs. */
final class ProjectRpcMapper {
  private static final String PROJECTS = "ListProjects";
  private static final String RESPONSES = "ListResponses";
  private static final String COMPARISONS = "ListComparisons";

  private final ActiveRmCore core;

  ProjectRpcMapper(ActiveRmCore core) {
    this.core = core;
  }

  CreateProjectResponse createProject(CreateProjectRequest r) {
    ProjectInfo info = core.projects().createProject(
        r.getProjectId(), r.getEmbeddingDim(), ProtoMapper.head(r.getHead()), r.getL2(),
        ProtoMapper.ttlMillis(r.getPendingTtl()));
    return CreateProjectResponse.newBuilder().setProject(ProtoMapper.project(info)).build();
  }

  GetProjectResponse getProject(GetProjectRequest r) {
    return GetProjectResponse.newBuilder()
        .setProject(ProtoMapper.project(core.projects().getProject(r.getProjectId())))
        .build();
  }

  ListProjectsResponse listProjects(ListProjectsRequest r) {
    Principal caller = ApiKeyInterceptor.current();
    ProjectPage page = core.projects().listProjects(
        PageTokens.decode(PROJECTS, r.getPageToken()), r.getPageSize(), caller::canAccess);
    ListProjectsResponse.Builder out = ListProjectsResponse.newBuilder();
    page.projects().forEach(p -> out.addProjects(ProtoMapper.project(p)));
    if (page.nextAfterId() != null) {
      out.setNextPageToken(PageTokens.encode(PROJECTS, page.nextAfterId()));
    }
    return out.build();
  }

  DeleteProjectResponse deleteProject(DeleteProjectRequest r) {
    core.projects().deleteProject(r.getProjectId());
    return DeleteProjectResponse.getDefaultInstance();
  }

  ListResponsesResponse listResponses(ListResponsesRequest r) {
    ResponsePage page = core.responses().list(
        r.getProjectId(),
        r.getResponseIdsList(),
        PageTokens.decodeOffset(RESPONSES, r.getPageToken()),
        r.getPageSize(),
        r.getIncludeEmbeddings(),
        r.getExcludeRetired());
    ListResponsesResponse.Builder out = ListResponsesResponse.newBuilder()
        .addAllResponseIds(page.ids())
        .addAllPromptIds(page.promptIds());
    for (boolean retired : page.retired()) {
      out.addRetired(retired);
    }
    if (page.embeddings() != null) {
      out.setEmbeddings(MatrixCodec.encode(page.embeddings(), page.ids().size(), page.dim()));
    }
    if (page.nextOffset() >= 0) {
      out.setNextPageToken(PageTokens.encode(RESPONSES, Long.toString(page.nextOffset())));
    }
    return out.build();
  }

  AddComparisonsResponse addComparisons(AddComparisonsRequest r) {
    Comparisons.AddResult result =
        core.comparisons().add(r.getProjectId(), ProtoMapper.comparisons(r.getComparisonsList()));
    return AddComparisonsResponse.newBuilder()
        .setNumAdded(result.added())
        .setNumComparisons(result.total())
        .setNumPendingResolved(result.pendingResolved())
        .addAllComparisonIds(result.ids())
        .setNumUnchanged(result.unchanged())
        .setNumDeletedBefore(result.deletedBefore())
        .build();
  }

  DeleteComparisonsResponse deleteComparisons(DeleteComparisonsRequest r) {
    Comparisons.DeleteResult result =
        core.comparisons().delete(r.getProjectId(), r.getComparisonIdsList(), r.getAnnotatorId());
    return DeleteComparisonsResponse.newBuilder()
        .setNumDeleted(result.deleted())
        .setNumAlreadyDeleted(result.alreadyDeleted())
        .setNumComparisons(result.total())
        .build();
  }

  RetireResponsesResponse retireResponses(RetireResponsesRequest r) {
    Retirements.RetireResult result = core.retirements().retire(r.getProjectId(), r.getResponseIdsList());
    return RetireResponsesResponse.newBuilder()
        .setNumRetired(result.retired())
        .setNumAlreadyRetired(result.alreadyRetired())
        .build();
  }

  ListComparisonsResponse listComparisons(ListComparisonsRequest r) {
    ComparisonPage page = core.comparisons().list(
        r.getProjectId(), PageTokens.decodeOffset(COMPARISONS, r.getPageToken()), r.getPageSize(),
        r.getAnnotatorId());
    ListComparisonsResponse.Builder out = ListComparisonsResponse.newBuilder();
    page.comparisons().forEach(c -> out.addComparisons(ProtoMapper.comparison(c)));
    if (page.nextOffset() >= 0) {
      out.setNextPageToken(PageTokens.encode(COMPARISONS, Long.toString(page.nextOffset())));
    }
    return out.build();
  }
}

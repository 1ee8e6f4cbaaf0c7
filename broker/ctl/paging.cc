// Following next_page_token for certbrokerctl's list commands.
#include "broker/ctl/paging.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "broker/ctl/values.h"

namespace certbroker::ctl {

std::vector<OptionSpec> PagingOptions() {
  return {
      {"page-size", "N",
       "fetch one page of at most N (1-1000); default: every page"},
      {"page-token", "TOKEN", "start at this page (from a previous listing)"},
      {"all", "", "with --page-size: fetch every page, N at a time"},
  };
}

absl::StatusOr<Paging> ParsePaging(const Options& options) {
  Paging paging;
  if (options.Has("page-size")) {
    auto size = ParseCount("--page-size", options.Get("page-size"), 1, 1000);
    if (!size.ok()) return size.status();
    paging.page_size = static_cast<int32_t>(*size);
    paging.follow = options.Has("all");
  } else if (options.Has("all")) {
    return absl::InvalidArgumentError(
        "--all needs --page-size (without it every page is fetched anyway)");
  }
  paging.page_token = options.Get("page-token");
  return paging;
}

grpc::Status FetchPages(const Paging& paging, const PageFetcher& fetch,
                        std::string& remaining) {
  std::string token = paging.page_token;
  while (true) {
    std::string next;
    grpc::Status status = fetch(token, next);
    if (!status.ok()) return status;
    if (!next.empty() && next == token) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "the broker returned the same page token twice");
    }
    token = next;
    if (token.empty() || !paging.follow) break;
  }
  remaining = token;
  return grpc::Status::OK;
}

void NoteMorePages(const std::string& remaining) {
  if (remaining.empty()) return;
  std::fprintf(stderr,
               "certbrokerctl: more results; next page: --page-token %s\n",
               remaining.c_str());
}

}  // namespace certbroker::ctl

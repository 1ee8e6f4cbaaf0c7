// Paging of certbrokerctl's list commands. By default a list follows
// next_page_token until the broker has returned everything. --page-size N
// fetches one page of at most N (and tells on stderr how to get the next
// one with --page-token); --all with --page-size fetches every page, N at
// a time.
#ifndef CERTBROKER_BROKER_CTL_PAGING_H_
#define CERTBROKER_BROKER_CTL_PAGING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/ctl/command_line.h"
#include "grpcpp/grpcpp.h"

namespace certbroker::ctl {

// Paging is what the paging options asked for.
struct Paging {
  int32_t page_size = 0;  // 0: the broker's default.
  std::string page_token;
  bool follow = true;  // Fetch every following page.
};

// PagingOptions are --page-size, --page-token and --all.
std::vector<OptionSpec> PagingOptions();

// ParsePaging reads the paging options; errors are usage errors.
absl::StatusOr<Paging> ParsePaging(const Options& options);

// PageFetcher fetches the page at `page_token` (with the page size it was
// built with), keeps its items, and sets `next_page_token`.
using PageFetcher = std::function<grpc::Status(const std::string& page_token,
                                               std::string& next_page_token)>;

// FetchPages fetches the first page and, when `paging.follow`, every
// following one. `remaining` is set to the token of the first page not
// fetched (empty when there is none). A broker that returns the same token
// twice fails the listing with INTERNAL.
grpc::Status FetchPages(const Paging& paging, const PageFetcher& fetch,
                        std::string& remaining);

// NoteMorePages tells on stderr, when `remaining` is not empty, how to
// fetch the next page.
void NoteMorePages(const std::string& remaining);

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_PAGING_H_

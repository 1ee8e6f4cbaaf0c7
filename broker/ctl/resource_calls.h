// What certbrokerctl's cert, bundle and crl commands share: listing a
// collection over the pages the paging options ask for, and deleting one
// resource by id.
#ifndef CERTBROKER_BROKER_CTL_RESOURCE_CALLS_H_
#define CERTBROKER_BROKER_CTL_RESOURCE_CALLS_H_

#include <cstdio>
#include <functional>
#include <string>

#include "broker/ctl/command.h"
#include "broker/ctl/output.h"
#include "broker/ctl/paging.h"
#include "broker/ctl/values.h"

namespace certbroker::ctl {

// StubMethod is a unary method of the admin stub.
template <typename Request, typename Response>
using StubMethod = grpc::Status (AdminClient::Stub::*)(grpc::ClientContext*,
                                                       const Request&,
                                                       Response*);

// ListResources fetches the pages of `method` (with `request`'s filters)
// that `invocation`'s paging options ask for, merging each page into one
// response with `merge(page, all)`, then prints it as JSON or with
// `print_table`. Returns the exit code.
template <typename Request, typename Response>
int ListResources(const CtlContext& context, const Invocation& invocation,
                  StubMethod<Request, Response> method, Request request,
                  const std::function<void(Response&, Response&)>& merge,
                  const std::function<void(const Response&)>& print_table) {
  auto paging = ParsePaging(invocation.options);
  if (!paging.ok()) {
    return invocation.UsageError(std::string(paging.status().message()));
  }
  request.set_page_size(paging->page_size);
  AdminClient client(context);
  Response all;
  std::string remaining;
  grpc::Status status = FetchPages(
      *paging,
      [&](const std::string& token, std::string& next) {
        request.set_page_token(token);
        Response page;
        grpc::Status called = client.Call(
            [&](AdminClient::Stub& stub, grpc::ClientContext* call) {
              return (stub.*method)(call, request, &page);
            });
        merge(page, all);
        next = page.next_page_token();
        return called;
      },
      remaining);
  if (!status.ok()) return ReportRpcError(status);
  all.set_next_page_token(remaining);
  if (context.output == OutputFormat::kJson) {
    PrintJson(all);
    return kExitOk;
  }
  print_table(all);
  NoteMorePages(remaining);
  return kExitOk;
}

// DeleteResource deletes `collection`/ID (ID being the first positional
// argument) with `method` and reports the new policy version.
template <typename Request, typename Response>
int DeleteResource(const CtlContext& context, const Invocation& invocation,
                   const std::string& collection,
                   StubMethod<Request, Response> method) {
  auto name = ResourceName(collection, invocation.positionals[0]);
  if (!name.ok()) {
    return invocation.UsageError(std::string(name.status().message()));
  }
  Request request;
  request.set_name(*name);
  AdminClient client(context);
  Response response;
  grpc::Status status =
      client.Call([&](AdminClient::Stub& stub, grpc::ClientContext* call) {
        return (stub.*method)(call, request, &response);
      });
  if (!status.ok()) return ReportRpcError(status);
  if (context.output == OutputFormat::kJson) {
    PrintJson(response);
  } else {
    std::printf("deleted %s (policy version %s)\n", name->c_str(),
                response.policy_version().c_str());
  }
  return kExitOk;
}

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_RESOURCE_CALLS_H_

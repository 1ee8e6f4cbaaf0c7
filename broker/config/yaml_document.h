// YamlDocument: one YAML document parsed by libyaml into its node graph, and
// YamlNode, a cheap read-only view of one node with its position. Used by
// the configuration converter (yaml_to_json.cc); libyaml's scanner is
// several times faster than yaml-cpp's on large generated policies.
#ifndef CERTBROKER_BROKER_CONFIG_YAML_DOCUMENT_H_
#define CERTBROKER_BROKER_CONFIG_YAML_DOCUMENT_H_

#include <yaml.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace certbroker::config {

// YamlNode is a node of a YamlDocument (which must outlive it), or the
// absent node of an empty document.
class YamlNode {
 public:
  YamlNode(yaml_document_t* document, yaml_node_t* node)
      : document_(document), node_(node) {}

  // IsNull is true for the absent node and for plain scalars that YAML
  // reads as null: empty, "~", "null", "Null", "NULL".
  bool IsNull() const;
  bool IsScalar() const;
  bool IsMap() const;
  bool IsSequence() const;

  // Scalar is the text of a scalar node ("" otherwise).
  absl::string_view Scalar() const;

  // Items are a sequence's elements; Entries a mapping's key/value pairs,
  // in document order.
  std::vector<YamlNode> Items() const;
  std::vector<std::pair<YamlNode, YamlNode>> Entries() const;

  // HasMark is false for the absent node. Line and Column count from 1.
  bool HasMark() const { return node_ != nullptr; }
  size_t Line() const;
  size_t Column() const;

 private:
  YamlNode Node(int index) const;

  yaml_document_t* document_;
  yaml_node_t* node_;
};

class YamlDocument {
 public:
  // Parse parses the first document of `text`. INVALID_ARGUMENT
  // "SOURCE:LINE:COLUMN: not valid YAML: PROBLEM" when it is not YAML.
  static absl::StatusOr<std::unique_ptr<YamlDocument>> Parse(
      absl::string_view text, absl::string_view source);

  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;
  ~YamlDocument();

  YamlNode Root();

 private:
  YamlDocument() = default;

  yaml_document_t document_{};
  bool loaded_ = false;
};

}  // namespace certbroker::config

#endif  // CERTBROKER_BROKER_CONFIG_YAML_DOCUMENT_H_

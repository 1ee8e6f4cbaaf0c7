// Parsing YAML with libyaml and walking its node graph.
#include "broker/config/yaml_document.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace certbroker::config {

bool YamlNode::IsNull() const {
  if (node_ == nullptr) return true;
  if (node_->type != YAML_SCALAR_NODE ||
      node_->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
    return false;
  }
  absl::string_view text = Scalar();
  return text.empty() || text == "~" || text == "null" || text == "Null" ||
         text == "NULL";
}

bool YamlNode::IsScalar() const {
  return node_ != nullptr && node_->type == YAML_SCALAR_NODE && !IsNull();
}

bool YamlNode::IsMap() const {
  return node_ != nullptr && node_->type == YAML_MAPPING_NODE;
}

bool YamlNode::IsSequence() const {
  return node_ != nullptr && node_->type == YAML_SEQUENCE_NODE;
}

absl::string_view YamlNode::Scalar() const {
  if (node_ == nullptr || node_->type != YAML_SCALAR_NODE) return {};
  return absl::string_view(
      reinterpret_cast<const char*>(node_->data.scalar.value),
      node_->data.scalar.length);
}

YamlNode YamlNode::Node(int index) const {
  return YamlNode(document_, yaml_document_get_node(document_, index));
}

std::vector<YamlNode> YamlNode::Items() const {
  std::vector<YamlNode> items;
  if (!IsSequence()) return items;
  for (yaml_node_item_t* item = node_->data.sequence.items.start;
       item < node_->data.sequence.items.top; ++item) {
    items.push_back(Node(*item));
  }
  return items;
}

std::vector<std::pair<YamlNode, YamlNode>> YamlNode::Entries() const {
  std::vector<std::pair<YamlNode, YamlNode>> entries;
  if (!IsMap()) return entries;
  for (yaml_node_pair_t* pair = node_->data.mapping.pairs.start;
       pair < node_->data.mapping.pairs.top; ++pair) {
    entries.emplace_back(Node(pair->key), Node(pair->value));
  }
  return entries;
}

size_t YamlNode::Line() const {
  return node_ == nullptr ? 0 : node_->start_mark.line + 1;
}

size_t YamlNode::Column() const {
  return node_ == nullptr ? 0 : node_->start_mark.column + 1;
}

absl::StatusOr<std::unique_ptr<YamlDocument>> YamlDocument::Parse(
    absl::string_view text, absl::string_view source) {
  std::unique_ptr<YamlDocument> document(new YamlDocument());
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    return absl::ResourceExhaustedError(
        absl::StrCat(source, ": cannot allocate a YAML parser"));
  }
  yaml_parser_set_input_string(
      &parser, reinterpret_cast<const unsigned char*>(text.data()),
      text.size());
  bool loaded = yaml_parser_load(&parser, &document->document_) != 0;
  absl::Status status;
  if (!loaded) {
    const yaml_mark_t& mark = parser.problem_mark;
    status = absl::InvalidArgumentError(absl::StrCat(
        source, ":", mark.line + 1, ":", mark.column + 1,
        ": not valid YAML: ", parser.problem ? parser.problem : "error",
        parser.context ? absl::StrCat(" (", parser.context, ")") : ""));
  }
  yaml_parser_delete(&parser);
  if (!status.ok()) return status;
  document->loaded_ = true;
  return document;
}

YamlDocument::~YamlDocument() {
  if (loaded_) yaml_document_delete(&document_);
}

YamlNode YamlDocument::Root() {
  return YamlNode(&document_, yaml_document_get_root_node(&document_));
}

}  // namespace certbroker::config

// Descriptor-guided YAML to JSON conversion for configuration files.
#include "broker/config/yaml_to_json.h"

#include <cstdint>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/config/yaml_document.h"

namespace certbroker::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;

// Converter walks one YAML document; `source_` prefixes every error.
class Converter {
 public:
  explicit Converter(absl::string_view source) : source_(source) {}

  absl::Status Message(const YamlNode& node, const Descriptor& descriptor,
                       const std::string& path, std::string& out) const;

 private:
  absl::Status Error(const YamlNode& node, const std::string& path,
                     absl::string_view what) const {
    std::string where =
        !node.HasMark()
            ? std::string(source_)
            : absl::StrCat(source_, ":", node.Line(), ":", node.Column());
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", path.empty() ? "(top level)" : path, ": ", what));
  }

  absl::Status Field(const YamlNode& node, const FieldDescriptor& field,
                     const std::string& path, std::string& out) const;
  absl::Status Value(const YamlNode& node, const FieldDescriptor& field,
                     const std::string& path, std::string& out) const;
  absl::Status Scalar(const YamlNode& node, const FieldDescriptor& field,
                      const std::string& path, std::string& out) const;

  absl::string_view source_;
  // Aliases let a small document expand into a huge tree; count what we
  // visit and stop well before memory is at risk.
  mutable size_t nodes_left_ = kMaxNodes;
  static constexpr size_t kMaxNodes = 1'000'000;
};

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrCat("\\u00", c < 0x10 ? "0" : "",
                              absl::Hex(static_cast<int>(c)));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string JoinPath(const std::string& path, absl::string_view name) {
  return path.empty() ? std::string(name) : absl::StrCat(path, ".", name);
}

const char* NodeKind(const YamlNode& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsScalar()) return "a scalar";
  return "empty";
}

bool IsDuration(const FieldDescriptor& field) {
  return field.type() == FieldDescriptor::TYPE_MESSAGE &&
         field.message_type()->full_name() == "google.protobuf.Duration";
}

// ValidDuration accepts protobuf's JSON duration form: decimal seconds with
// at most nine fractional digits and a trailing 's' ("300s", "1.5s").
bool ValidDuration(absl::string_view text) {
  if (text.size() < 2 || text.back() != 's') return false;
  text.remove_suffix(1);
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  size_t dot = text.find('.');
  absl::string_view whole = text.substr(0, dot);
  absl::string_view fraction = dot == absl::string_view::npos
                                   ? absl::string_view()
                                   : text.substr(dot + 1);
  auto all_digits = [](absl::string_view part) {
    for (char c : part) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
    return true;
  };
  if (whole.empty() || whole.size() > 12 || !all_digits(whole)) return false;
  if (dot != absl::string_view::npos &&
      (fraction.empty() || fraction.size() > 9 || !all_digits(fraction))) {
    return false;
  }
  return true;
}

absl::Status Converter::Message(const YamlNode& node,
                                const Descriptor& descriptor,
                                const std::string& path,
                                std::string& out) const {
  if (node.IsNull()) {
    out += "{}";
    return absl::OkStatus();
  }
  if (!node.IsMap()) {
    return Error(node, path,
                 absl::StrCat("expected a mapping (", descriptor.name(),
                              "), found ", NodeKind(node)));
  }
  out += '{';
  std::set<const FieldDescriptor*> seen;
  bool first = true;
  for (const auto& entry : node.Entries()) {
    if (!entry.first.IsScalar()) {
      return Error(entry.first, path, "field names must be plain strings");
    }
    const std::string name(entry.first.Scalar());
    const FieldDescriptor* field = descriptor.FindFieldByName(name);
    for (int i = 0; field == nullptr && i < descriptor.field_count(); ++i) {
      if (descriptor.field(i)->json_name() == name) field = descriptor.field(i);
    }
    if (field == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < descriptor.field_count(); ++i) {
        known.push_back(descriptor.field(i)->name());
      }
      return Error(entry.first, JoinPath(path, name),
                   absl::StrCat("unknown field; ", descriptor.name(),
                                " has: ", absl::StrJoin(known, ", ")));
    }
    if (!seen.insert(field).second) {
      return Error(entry.first, JoinPath(path, name), "field given twice");
    }
    if (entry.second.IsNull()) continue;  // "field:" with no value: unset.
    if (const auto* oneof = field->containing_oneof()) {
      for (const FieldDescriptor* other : seen) {
        if (other != field && other->containing_oneof() == oneof) {
          return Error(entry.first, JoinPath(path, name),
                       absl::StrCat("only one of ", other->name(), " and ",
                                    field->name(), " may be given"));
        }
      }
    }
    if (!first) out += ',';
    first = false;
    out += JsonString(field->json_name());
    out += ':';
    absl::Status status =
        Field(entry.second, *field, JoinPath(path, name), out);
    if (!status.ok()) return status;
  }
  out += '}';
  return absl::OkStatus();
}

absl::Status Converter::Field(const YamlNode& node,
                              const FieldDescriptor& field,
                              const std::string& path, std::string& out) const {
  if (field.is_map()) {
    if (!node.IsMap()) {
      return Error(node, path,
                   absl::StrCat("expected a mapping, found ", NodeKind(node)));
    }
    const FieldDescriptor& value_field = *field.message_type()->map_value();
    out += '{';
    bool first = true;
    for (const auto& entry : node.Entries()) {
      if (!entry.first.IsScalar()) {
        return Error(entry.first, path, "map keys must be plain strings");
      }
      if (!first) out += ',';
      first = false;
      const std::string key(entry.first.Scalar());
      out += JsonString(key);
      out += ':';
      absl::Status status =
          Value(entry.second, value_field,
                absl::StrCat(path, "[", JsonString(key), "]"), out);
      if (!status.ok()) return status;
    }
    out += '}';
    return absl::OkStatus();
  }
  if (field.is_repeated()) {
    if (!node.IsSequence()) {
      return Error(node, path,
                   absl::StrCat("expected a list, found ", NodeKind(node)));
    }
    out += '[';
    std::vector<YamlNode> items = node.Items();
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += ',';
      absl::Status status =
          Value(items[i], field, absl::StrCat(path, "[", i, "]"), out);
      if (!status.ok()) return status;
    }
    out += ']';
    return absl::OkStatus();
  }
  return Value(node, field, path, out);
}

absl::Status Converter::Value(const YamlNode& node,
                              const FieldDescriptor& field,
                              const std::string& path, std::string& out) const {
  if (nodes_left_-- == 0) {
    return Error(node, path,
                 absl::StrCat("the document expands to more than ", kMaxNodes,
                              " values (aliases?)"));
  }
  if (field.type() == FieldDescriptor::TYPE_MESSAGE && !IsDuration(field)) {
    return Message(node, *field.message_type(), path, out);
  }
  if (!node.IsScalar()) {
    return Error(
        node, path,
        absl::StrCat("expected a single value, found ", NodeKind(node)));
  }
  return Scalar(node, field, path, out);
}

absl::Status Converter::Scalar(const YamlNode& node,
                               const FieldDescriptor& field,
                               const std::string& path,
                               std::string& out) const {
  const std::string text(node.Scalar());
  if (IsDuration(field)) {
    if (!ValidDuration(text)) {
      return Error(node, path,
                   absl::StrCat("'", text,
                                "' is not a duration; write seconds with an "
                                "'s', like \"300s\" or \"1.5s\""));
    }
    out += JsonString(text);
    return absl::OkStatus();
  }
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      out += JsonString(text);
      return absl::OkStatus();
    case FieldDescriptor::CPPTYPE_BOOL: {
      std::string lower = absl::AsciiStrToLower(text);
      if (lower != "true" && lower != "false") {
        return Error(node, path,
                     absl::StrCat("'", text, "' is not true or false"));
      }
      out += lower;
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t value = 0;
      int64_t low = field.cpp_type() == FieldDescriptor::CPPTYPE_INT32
                        ? INT32_MIN
                        : INT64_MIN;
      int64_t high = field.cpp_type() == FieldDescriptor::CPPTYPE_INT32
                         ? INT32_MAX
                         : INT64_MAX;
      if (!absl::SimpleAtoi(text, &value) || value < low || value > high) {
        return Error(node, path,
                     absl::StrCat("'", text, "' is not an integer in range"));
      }
      out += absl::StrCat(value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t value = 0;
      uint64_t high = field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32
                          ? UINT32_MAX
                          : UINT64_MAX;
      if (text.empty() || text[0] == '-' || !absl::SimpleAtoi(text, &value) ||
          value > high) {
        return Error(node, path,
                     absl::StrCat("'", text,
                                  "' is not a non-negative integer in range"));
      }
      out += absl::StrCat(value);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double value = 0;
      if (!absl::SimpleAtod(text, &value)) {
        return Error(node, path, absl::StrCat("'", text, "' is not a number"));
      }
      out += text;
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const EnumDescriptor& type = *field.enum_type();
      if (type.FindValueByName(text) == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < type.value_count(); ++i) {
          if (type.value(i)->number() != 0 ||
              !absl::EndsWith(type.value(i)->name(), "_UNSPECIFIED")) {
            names.push_back(type.value(i)->name());
          }
        }
        return Error(node, path,
                     absl::StrCat("'", text, "' is not one of ",
                                  absl::StrJoin(names, ", ")));
      }
      out += JsonString(text);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return Error(node, path, "unsupported field type");
}

}  // namespace

absl::StatusOr<std::string> YamlToJson(absl::string_view yaml,
                                       const Descriptor& descriptor,
                                       absl::string_view source) {
  auto document = YamlDocument::Parse(yaml, source);
  if (!document.ok()) return document.status();
  std::string json;
  absl::Status status =
      Converter(source).Message((*document)->Root(), descriptor, "", json);
  if (!status.ok()) return status;
  return json;
}

}  // namespace certbroker::config

// Aligned tables and field blocks for certbrokerctl's human output.
#include "broker/ctl/table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace certbroker::ctl {
namespace {

// Cell is how `text` shows in one table cell or field value.
std::string Cell(std::string text) {
  if (text.empty()) return "-";
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  return text;
}

}  // namespace

size_t DisplayWidth(const std::string& text) {
  // Count every byte that does not continue a UTF-8 sequence.
  return std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

Table::Table(std::vector<std::string> headers) {
  rows_.push_back(std::move(headers));
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(rows_.front().size());
  for (std::string& cell : cells) cell = Cell(std::move(cell));
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  const size_t columns = rows_.front().size();
  std::vector<size_t> widths(columns, 0);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < columns; ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string text;
  for (const auto& row : rows_) {
    for (size_t i = 0; i < columns; ++i) {
      text += row[i];
      if (i + 1 < columns) {
        text.append(widths[i] - DisplayWidth(row[i]) + 2, ' ');
      }
    }
    text += '\n';
  }
  return text;
}

std::string RenderFields(const std::vector<Field>& fields) {
  size_t width = 0;
  for (const Field& field : fields) {
    width = std::max(width, DisplayWidth(field.first));
  }
  std::string text;
  for (const Field& field : fields) {
    absl::StrAppend(&text, field.first, ":",
                    std::string(width - DisplayWidth(field.first) + 2, ' '),
                    Cell(field.second), "\n");
  }
  return text;
}

}  // namespace certbroker::ctl

// Human-readable output of certbrokerctl: aligned tables for lists and
// aligned "label: value" blocks for single resources. Pure functions, so
// their layout is unit-tested.
#ifndef CERTBROKER_BROKER_CTL_TABLE_H_
#define CERTBROKER_BROKER_CTL_TABLE_H_

#include <string>
#include <utility>
#include <vector>

namespace certbroker::ctl {

// Table is a list rendered as columns: a header row, then one row per
// item. Empty cells show as "-"; line breaks in cells as spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // AddRow appends a row; missing cells are empty, extra ones dropped.
  void AddRow(std::vector<std::string> cells);

  // Render returns the rows, each column padded to its widest cell (in
  // characters, UTF-8 aware) and separated by two spaces; the last column
  // is not padded, so no line ends in a space.
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0]: the header.
};

// Field is one "label: value" line of a FieldBlock.
using Field = std::pair<std::string, std::string>;

// RenderFields returns "label:  value" lines with the values aligned one
// column after the longest label. Empty values show as "-".
std::string RenderFields(const std::vector<Field>& fields);

// DisplayWidth is the number of characters of UTF-8 `text`.
size_t DisplayWidth(const std::string& text);

}  // namespace certbroker::ctl

#endif  // CERTBROKER_BROKER_CTL_TABLE_H_

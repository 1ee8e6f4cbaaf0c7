// Table and RenderFields: column alignment, empty cells, UTF-8 widths.
#include "broker/ctl/table.h"

#include "gtest/gtest.h"

namespace certbroker::ctl {
namespace {

TEST(TableTest, ColumnsAlignToTheWidestCellAndLinesHaveNoTrailingSpace) {
  Table table({"ID", "SUBJECT", "LABELS"});
  table.AddRow({"payments", "CN=Payments", "team=pay"});
  table.AddRow({"a", "CN=A long subject", ""});
  EXPECT_EQ(table.Render(),
            "ID        SUBJECT            LABELS\n"
            "payments  CN=Payments        team=pay\n"
            "a         CN=A long subject  -\n");
}

TEST(TableTest, HeaderOnlyWhenThereAreNoRows) {
  EXPECT_EQ(Table({"ID", "ROOTS"}).Render(), "ID  ROOTS\n");
}

TEST(TableTest, MissingCellsAreEmptyAndLineBreaksBecomeSpaces) {
  Table table({"A", "B", "C"});
  table.AddRow({"x"});
  table.AddRow({"two\nlines", "y", "z"});
  EXPECT_EQ(table.Render(),
            "A          B  C\n"
            "x          -  -\n"
            "two lines  y  z\n");
}

TEST(TableTest, WidthCountsCharactersNotBytes) {
  Table table({"NAME", "X"});
  table.AddRow({"Zürich", "1"});
  table.AddRow({"Bern", "2"});
  EXPECT_EQ(table.Render(),
            "NAME    X\n"
            "Zürich  1\n"
            "Bern    2\n");
  EXPECT_EQ(DisplayWidth("Zürich"), 6u);
}

TEST(RenderFieldsTest, ValuesAlignAfterTheLongestLabel) {
  EXPECT_EQ(RenderFields({{"name", "certificates/a"},
                          {"not after", "2030-01-01T00:00:00Z"},
                          {"labels", ""}}),
            "name:       certificates/a\n"
            "not after:  2030-01-01T00:00:00Z\n"
            "labels:     -\n");
}

}  // namespace
}  // namespace certbroker::ctl

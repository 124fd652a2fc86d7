#include <gtest/gtest.h>

#include "core/yaml_documents.hpp"

namespace meshca {
namespace {

TEST(YamlDocuments, SplitsOnMarkersAndKeepsLineNumbers) {
  auto docs = split_yaml_documents("# comment\n---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].first_line, 1);
  EXPECT_NE(docs[0].text.find("a: 1"), std::string::npos);
  EXPECT_EQ(docs[1].first_line, 5);
  EXPECT_NE(docs[1].text.find("b: 2"), std::string::npos);
}

TEST(YamlDocuments, OneDocumentWithoutMarkersAndInlineMarkers) {
  auto one = split_yaml_documents("a: 1\nb: [x, y]\n");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].first_line, 0);
  auto inline_doc = split_yaml_documents("--- {a: 1}\n--- {b: 2}\n");
  ASSERT_EQ(inline_doc.size(), 2u);
  // A line that merely starts with dashes is content, not a marker.
  EXPECT_EQ(split_yaml_documents("a: |\n  ---x\n----\n").size(), 1u);
  EXPECT_TRUE(split_yaml_documents("").empty());
  EXPECT_TRUE(split_yaml_documents("# nothing\n---\n").empty());
}

}  // namespace
}  // namespace meshca

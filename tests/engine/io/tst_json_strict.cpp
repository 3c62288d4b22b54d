// Strict JSON (duplicate keys refused) and strict UTF-8 validation.
#include <gtest/gtest.h>

#include "engine/io/json_strict.h"
#include "engine/core/utf8.h"
#include "tests/engine/io/io_test_util.h"

using bb::testing::error_of;
namespace io = bb::io;

TEST(Utf8, AcceptsValidSequences) {
  EXPECT_TRUE(bb::is_valid_utf8(""));
  EXPECT_TRUE(bb::is_valid_utf8("plain ascii \x7F"));
  EXPECT_TRUE(bb::is_valid_utf8("\xC2\x80 \xDF\xBF"));                  // U+0080, U+07FF
  EXPECT_TRUE(bb::is_valid_utf8("\xE0\xA0\x80 \xED\x9F\xBF \xEE\x80\x80"));  // U+0800, U+D7FF, U+E000
  EXPECT_TRUE(bb::is_valid_utf8("\xF0\x90\x80\x80 \xF4\x8F\xBF\xBF"));    // U+10000, U+10FFFF
  EXPECT_TRUE(bb::is_valid_utf8(std::string_view("a\0b", 3)));
}

TEST(Utf8, RejectsMalformedSequencesAtTheRightOffset) {
  const std::pair<std::string, size_t> bad[] = {
      {"ab\x80", 2},                // lone continuation byte
      {"\xC0\xAF", 0},              // overlong '/'
      {"\xC1\xBF", 0},              // overlong
      {"x\xE0\x80\x80", 1},         // overlong 3-byte
      {"\xED\xA0\x80", 0},          // UTF-16 surrogate U+D800
      {"\xF0\x80\x80\x80", 0},      // overlong 4-byte
      {"\xF4\x90\x80\x80", 0},      // above U+10FFFF
      {"\xF5\x80\x80\x80", 0},      // invalid lead
      {"\xFF", 0},
      {"ok\xE2\x82", 2},            // truncated at the end
      {"\xE2\x28\xA1", 0},          // bad second byte
      {"\xF0\x9F\x98\x28", 0},      // bad fourth byte
  };
  for (const auto& [text, at] : bad) {
    size_t off = 999;
    EXPECT_FALSE(bb::is_valid_utf8(text, &off)) << text;
    EXPECT_EQ(off, at) << text;
  }
}

TEST(JsonStrict, ParsesLikeNlohmann) {
  const auto j = io::parse_json_strict(R"({"a": [1, -2, 3.5, "s", null, true, {"b": {}}], "big": 18446744073709551615})", "t");
  EXPECT_EQ(j["a"][0].get<int>(), 1);
  EXPECT_TRUE(j["a"][1].is_number_integer());
  EXPECT_TRUE(j["a"][2].is_number_float());
  EXPECT_TRUE(j["big"].is_number_unsigned());
  EXPECT_TRUE(j["a"][6]["b"].is_object());
  // Same keys in different objects are fine.
  EXPECT_NO_THROW(io::parse_json_strict(R"([{"k": 1}, {"k": 2}, {"x": {"k": 3}, "k": 4}])", "t"));
  EXPECT_EQ(io::parse_json_strict("  7  ", "t").get<int>(), 7);
}

TEST(JsonStrict, RejectsDuplicatesAtAnyDepth) {
  EXPECT_EQ(error_of([] { io::parse_json_strict(R"({"a": 1, "a": 1})", "cfg.json"); }),
            "cfg.json: duplicate key \"a\" in JSON object");
  EXPECT_EQ(error_of([] { io::parse_json_strict(R"({"x": [{"k": 1, "k": 2}]})", "f"); }), "f: duplicate key \"k\" in JSON object");
  EXPECT_EQ(error_of([] { io::parse_json_strict(R"({"": 1, "": 2})", "f"); }), "f: duplicate key \"\" in JSON object");
  // Escapes are decoded before comparing: "\u0061" is "a".
  EXPECT_EQ(error_of([] { io::parse_json_strict(R"({"a": 1, "\u0061": 2})", "f"); }), "f: duplicate key \"a\" in JSON object");
}

TEST(JsonStrict, SyntaxErrorsAreOneLine) {
  for (const char* text : {"{", "{\"a\" 1}", "[1,]", "", "{\"a\":1} trailing", "{\"a\":\"\x01\"}", "1e999", "{\"a\":\"\xFF\"}"}) {
    const std::string msg = error_of([&] { io::parse_json_strict(text, "f.json"); });
    EXPECT_EQ(msg.rfind("f.json: invalid JSON: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(JsonStrict, DeepNestingNeitherRecursesNorCrashes) {
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  EXPECT_TRUE(io::parse_json_strict(deep, "deep").is_array());
}

TEST(QuoteForMessage, EscapesAndTruncates) {
  EXPECT_EQ(io::quote_for_message("plain"), "\"plain\"");
  EXPECT_EQ(io::quote_for_message("a\"b\\c\nd\x7F"), "\"a\\\"b\\\\c\\x0ad\\x7f\"");
  EXPECT_EQ(io::quote_for_message("\xC3\xA9"), "\"\xC3\xA9\"");
  const std::string q = io::quote_for_message(std::string(99, 'x') + "\xC3\xA9" + "tail");
  EXPECT_EQ(q, "\"" + std::string(99, 'x') + "\"...");  // never splits the 2-byte character
}

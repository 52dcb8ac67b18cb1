#include <gtest/gtest.h>

#include "views/escape.h"
#include "views/json_writer.h"

namespace tcpscope {
namespace {

std::string json_body(std::string_view raw) {
    std::string out;
    append_json_string_body(out, raw);
    return out;
}

TEST(TerminalEscape, PrintableAsciiPasses) {
    EXPECT_EQ(escape_for_terminal("nginx: worker"), "nginx: worker");
}

TEST(TerminalEscape, ControlBytesAndHighBytesBecomeHex) {
    EXPECT_EQ(escape_for_terminal(std::string("\x1b]0;pwned\x07", 10)), "\\x1b]0;pwned\\x07");
    EXPECT_EQ(escape_for_terminal("tab\there"), "tab\\x09here");
    EXPECT_EQ(escape_for_terminal("\x7f\xc3\xa9"), "\\x7f\\xc3\\xa9");
    EXPECT_EQ(escape_for_terminal("back\\slash"), "back\\\\slash");
}

TEST(JsonEscape, QuotesBackslashesAndControls) {
    EXPECT_EQ(json_body("a\"b"), "a\\\"b");
    EXPECT_EQ(json_body("a\\b"), "a\\\\b");
    EXPECT_EQ(json_body(std::string("\x00\x1f\x7f", 3)), "\\u0000\\u001f\\u007f");
}

TEST(JsonEscape, KeepsValidUtf8AndEscapesInvalidBytes) {
    EXPECT_EQ(json_body("caf\xc3\xa9"), "caf\xc3\xa9");
    EXPECT_EQ(json_body("\xe2\x82\xac"), "\xe2\x82\xac");
    EXPECT_EQ(json_body("\xff"), "\\u00ff");
    EXPECT_EQ(json_body("\xc3"), "\\u00c3");                        // truncated sequence
    EXPECT_EQ(json_body("\xc0\xaf"), "\\u00c0\\u00af");             // overlong
    EXPECT_EQ(json_body("\xed\xa0\x80"), "\\u00ed\\u00a0\\u0080");  // surrogate
}

TEST(JsonEscape, C1ControlsAreEscapedThoughValidUtf8) {
    // U+009B is CSI: a terminal showing the raw JSON would act on it.
    EXPECT_EQ(json_body("a\xc2\x9b"
                        "2Jb"),
              "a\\u009b2Jb");
    EXPECT_EQ(json_body("\xc2\x80\xc2\x9f"), "\\u0080\\u009f");
    EXPECT_EQ(json_body("\xc2\xa0"), "\xc2\xa0") << "U+00A0 is no control";
}

TEST(JsonObject, BuildsFieldsInOrder) {
    JsonObject j;
    j.field("s", "x").field("n", -3).field("u", std::uint64_t{7}).field("b", true).null_field("z");
    j.optional_field("o", std::optional<int>{});
    EXPECT_EQ(j.finish(), R"({"s":"x","n":-3,"u":7,"b":true,"z":null,"o":null})");
}

}  // namespace
}  // namespace tcpscope

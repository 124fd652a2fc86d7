// Text an auditor can read: what plan decoding refuses and what every
// view escapes.
//
// An auditor approves a plan by reading it. Control characters,
// bidirectional overrides (U+202E RIGHT-TO-LEFT OVERRIDE makes "abc" display
// as "cba"), zero-width and other invisible characters let a name read
// differently from what the certificate will hold. first_unreadable() finds
// them so the plan decoder can refuse them with the code point named;
// escape_unreadable() makes any that reach a view visible. Input is UTF-8;
// a byte that is not well-formed UTF-8 counts as unreadable too, and nothing
// here ever splits a character.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace meshca::ceremony {

// One UTF-8 character at byte `offset`: overlongs, surrogates and code
// points past U+10FFFF are malformed (ok false, length 1, the byte as
// code_point).
struct Utf8Char {
  char32_t code_point;
  std::size_t length;
  bool ok;
};
Utf8Char decode_utf8(std::string_view text, std::size_t offset);

struct UnreadableChar {
  char32_t code_point = 0;   // the byte itself for malformed UTF-8
  std::size_t position = 0;  // 1-based, in characters
  bool malformed = false;
};

// The first control, bidirectional-formatting, invisible or private-use
// character of `text` (or malformed byte), or nullopt. Line feed and tab are
// allowed when `allow_line_breaks` (free text such as a description).
std::optional<UnreadableChar> first_unreadable(std::string_view text, bool allow_line_breaks);

// "U+202E RIGHT-TO-LEFT OVERRIDE", "U+0007 control character", "U+00E9".
std::string code_point_label(char32_t code_point);

// The decoder's message for an unreadable character:
// "contains U+202E RIGHT-TO-LEFT OVERRIDE at character 4: ...".
std::string unreadable_problem(const UnreadableChar& c);

// `text` with every unreadable character written as \u{202E} and every
// malformed byte as \x{FF} (`backslash` spells the backslash: "\\\\" where
// the format itself escapes backslashes, as Graphviz does). Line feed and
// tab stay when `allow_line_breaks`.
std::string escape_unreadable(std::string_view text, bool allow_line_breaks, std::string_view backslash = "\\");

// One character of `text` at byte `offset` for a message: "':'", "'é'
// (U+00E9)", or the label of an unreadable one; never half a character.
std::string describe_character_at(std::string_view text, std::size_t offset);

// A JSON document (nlohmann dump: UTF-8, control characters already
// escaped) with every other unreadable character as a \uXXXX escape, so the
// values stay the same for a JSON reader while a person sees the escape.
std::string escape_unreadable_json(std::string_view json);

// `text` for an HTML element or a double-quoted attribute: & < > " as entities.
std::string html_escape(std::string_view text);

// `text` for a cell of a Markdown table: | escaped.
std::string markdown_escape(std::string_view text);

// At most `max_chars` characters of `text`, never half a UTF-8 character.
std::string truncate_characters(std::string_view text, std::size_t max_chars);

// The number of characters (code points) of well-formed UTF-8 `text`.
std::size_t character_count(std::string_view text);

}  // namespace meshca::ceremony

#include "plan/readable_text.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace meshca::ceremony {
namespace {

using Decoded = Utf8Char;

Decoded decode(std::string_view s, std::size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  std::size_t len = b < 0x80 ? 1 : (b >= 0xC2 && b <= 0xDF) ? 2 : (b >= 0xE0 && b <= 0xEF) ? 3 : (b >= 0xF0 && b <= 0xF4) ? 4 : 0;
  if (len == 0 || i + len > s.size()) return {b, 1, false};
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return {b, 1, false};
    cp = (cp << 6) | (c & 0x3F);
  }
  bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return {b, 1, false};
  return {cp, len, true};
}

struct NamedCodePoint {
  char32_t code_point;
  const char* name;
};

// Invisible or direction-changing characters, by name (Unicode 15).
constexpr std::array kNamed{
    NamedCodePoint{0x0009, "CHARACTER TABULATION"},
    NamedCodePoint{0x000A, "LINE FEED"},
    NamedCodePoint{0x000D, "CARRIAGE RETURN"},
    NamedCodePoint{0x007F, "DELETE"},
    NamedCodePoint{0x00AD, "SOFT HYPHEN"},
    NamedCodePoint{0x034F, "COMBINING GRAPHEME JOINER"},
    NamedCodePoint{0x061C, "ARABIC LETTER MARK"},
    NamedCodePoint{0x115F, "HANGUL CHOSEONG FILLER"},
    NamedCodePoint{0x1160, "HANGUL JUNGSEONG FILLER"},
    NamedCodePoint{0x17B4, "KHMER VOWEL INHERENT AQ"},
    NamedCodePoint{0x17B5, "KHMER VOWEL INHERENT AA"},
    NamedCodePoint{0x180E, "MONGOLIAN VOWEL SEPARATOR"},
    NamedCodePoint{0x200B, "ZERO WIDTH SPACE"},
    NamedCodePoint{0x200C, "ZERO WIDTH NON-JOINER"},
    NamedCodePoint{0x200D, "ZERO WIDTH JOINER"},
    NamedCodePoint{0x200E, "LEFT-TO-RIGHT MARK"},
    NamedCodePoint{0x200F, "RIGHT-TO-LEFT MARK"},
    NamedCodePoint{0x2028, "LINE SEPARATOR"},
    NamedCodePoint{0x2029, "PARAGRAPH SEPARATOR"},
    NamedCodePoint{0x202A, "LEFT-TO-RIGHT EMBEDDING"},
    NamedCodePoint{0x202B, "RIGHT-TO-LEFT EMBEDDING"},
    NamedCodePoint{0x202C, "POP DIRECTIONAL FORMATTING"},
    NamedCodePoint{0x202D, "LEFT-TO-RIGHT OVERRIDE"},
    NamedCodePoint{0x202E, "RIGHT-TO-LEFT OVERRIDE"},
    NamedCodePoint{0x2060, "WORD JOINER"},
    NamedCodePoint{0x2061, "FUNCTION APPLICATION"},
    NamedCodePoint{0x2062, "INVISIBLE TIMES"},
    NamedCodePoint{0x2063, "INVISIBLE SEPARATOR"},
    NamedCodePoint{0x2064, "INVISIBLE PLUS"},
    NamedCodePoint{0x2066, "LEFT-TO-RIGHT ISOLATE"},
    NamedCodePoint{0x2067, "RIGHT-TO-LEFT ISOLATE"},
    NamedCodePoint{0x2068, "FIRST STRONG ISOLATE"},
    NamedCodePoint{0x2069, "POP DIRECTIONAL ISOLATE"},
    NamedCodePoint{0x206A, "INHIBIT SYMMETRIC SWAPPING"},
    NamedCodePoint{0x206B, "ACTIVATE SYMMETRIC SWAPPING"},
    NamedCodePoint{0x206C, "INHIBIT ARABIC FORM SHAPING"},
    NamedCodePoint{0x206D, "ACTIVATE ARABIC FORM SHAPING"},
    NamedCodePoint{0x206E, "NATIONAL DIGIT SHAPES"},
    NamedCodePoint{0x206F, "NOMINAL DIGIT SHAPES"},
    NamedCodePoint{0x3164, "HANGUL FILLER"},
    NamedCodePoint{0xFEFF, "ZERO WIDTH NO-BREAK SPACE"},
    NamedCodePoint{0xFFA0, "HALFWIDTH HANGUL FILLER"},
    NamedCodePoint{0xFFF9, "INTERLINEAR ANNOTATION ANCHOR"},
    NamedCodePoint{0xFFFA, "INTERLINEAR ANNOTATION SEPARATOR"},
    NamedCodePoint{0xFFFB, "INTERLINEAR ANNOTATION TERMINATOR"},
};

const char* named(char32_t cp) {
  for (const auto& n : kNamed)
    if (n.code_point == cp) return n.name;
  return nullptr;
}

// The unnamed classes: a description, or nullptr for a readable character.
const char* unreadable_class(char32_t cp) {
  if (cp < 0x20 || (cp >= 0x80 && cp <= 0x9F)) return "control character";
  if ((cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF)) return "VARIATION SELECTOR";
  if (cp >= 0xE0000 && cp <= 0xE007F) return "TAG character";
  if ((cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000) return "private use character";
  if ((cp & 0xFFFE) == 0xFFFE || (cp >= 0xFDD0 && cp <= 0xFDEF)) return "noncharacter";
  return nullptr;
}

bool unreadable(char32_t cp) { return named(cp) != nullptr || unreadable_class(cp) != nullptr; }

std::string hex(char32_t cp, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%0*X", digits, static_cast<unsigned>(cp));
  return buf;
}

}  // namespace

Utf8Char decode_utf8(std::string_view text, std::size_t offset) { return decode(text, offset); }

std::optional<UnreadableChar> first_unreadable(std::string_view text, bool allow_line_breaks) {
  std::size_t position = 0;
  for (std::size_t i = 0; i < text.size();) {
    Decoded d = decode(text, i);
    ++position;
    if (!d.ok) return UnreadableChar{d.code_point, position, true};
    bool allowed = allow_line_breaks && (d.code_point == '\n' || d.code_point == '\t');
    if (!allowed && unreadable(d.code_point)) return UnreadableChar{d.code_point, position, false};
    i += d.length;
  }
  return std::nullopt;
}

std::string code_point_label(char32_t code_point) {
  std::string label = "U+" + hex(code_point, 4);
  if (const char* name = named(code_point)) return label + " " + name;
  if (const char* what = unreadable_class(code_point)) return label + " " + what;
  return label;
}

std::string unreadable_problem(const UnreadableChar& c) {
  if (c.malformed) {
    return "contains the byte 0x" + hex(c.code_point, 2) + " at character " + std::to_string(c.position) + ", which is not UTF-8";
  }
  return "contains " + code_point_label(c.code_point) + " at character " + std::to_string(c.position) +
         ": control, bidirectional and invisible characters would let the name read differently from what the "
         "certificates hold; remove it";
}

std::string escape_unreadable(std::string_view text, bool allow_line_breaks, std::string_view backslash) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    Decoded d = decode(text, i);
    bool allowed = allow_line_breaks && (d.code_point == '\n' || d.code_point == '\t');
    if (!d.ok) {
      out += std::string(backslash) + "x{" + hex(d.code_point, 2) + "}";
    } else if (!allowed && unreadable(d.code_point)) {
      out += std::string(backslash) + "u{" + hex(d.code_point, 4) + "}";
    } else {
      out.append(text.substr(i, d.length));
    }
    i += d.length;
  }
  return out;
}

std::string escape_unreadable_json(std::string_view json) {
  std::string out;
  auto escape16 = [&out](char32_t unit) { out += "\\u" + hex(unit, 4); };
  for (std::size_t i = 0; i < json.size();) {
    Decoded d = decode(json, i);
    if (d.ok && d.code_point >= 0x80 && unreadable(d.code_point)) {
      if (d.code_point >= 0x10000) {  // a UTF-16 surrogate pair, as JSON spells it
        char32_t v = d.code_point - 0x10000;
        escape16(0xD800 + (v >> 10));
        escape16(0xDC00 + (v & 0x3FF));
      } else {
        escape16(d.code_point);
      }
    } else {
      out.append(json.substr(i, d.length));
    }
    i += d.length;
  }
  return out;
}

std::string describe_character_at(std::string_view text, std::size_t offset) {
  Decoded d = decode(text, offset);
  if (!d.ok) return "the byte 0x" + hex(d.code_point, 2) + " (not UTF-8)";
  if (unreadable(d.code_point)) return code_point_label(d.code_point);
  std::string quoted = "'" + std::string(text.substr(offset, d.length)) + "'";
  return d.code_point < 0x80 ? quoted : quoted + " (" + code_point_label(d.code_point) + ")";
}

std::string truncate_characters(std::string_view text, std::size_t max_chars) {
  std::size_t i = 0;
  for (std::size_t n = 0; i < text.size() && n < max_chars; ++n) i += decode(text, i).length;
  return std::string(text.substr(0, i));
}

std::size_t character_count(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++n) i += decode(text, i).length;
  return n;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string markdown_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace meshca::ceremony

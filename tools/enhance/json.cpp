#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace gpen_tools {

namespace {

// The length of the valid UTF-8 sequence at text[i], or 0 if there is none
// (overlong forms, surrogates and values past U+10FFFF are invalid).
std::size_t utf8_length(const std::string& text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t length;
  std::uint32_t code;
  if (c >= 0xC2 && c <= 0xDF) length = 2, code = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) length = 3, code = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) length = 4, code = c & 0x07;
  else return 0;
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
      (code >= 0xD800 && code <= 0xDFFF))
    return 0;
  return length;
}

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

class Reader {
 public:
  explicit Reader(const std::string& text) : text_(text) {}

  JsonValue document() {
    JsonValue value = parse_value(0);
    skip_space();
    if (at_ < text_.size()) fail("unexpected text after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw JsonError("invalid JSON at byte " + std::to_string(at_) + ": " + why);
  }

  void skip_space() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }

  bool take(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!take(c)) fail(std::string("expected '") + c + "'");
  }

  void literal(const char* word) {
    for (const char* p = word; *p; ++p, ++at_)
      if (at_ >= text_.size() || text_[at_] != *p) fail(std::string("expected ") + word);
  }

  JsonValue parse_value(int depth) {
    if (depth > 64) fail("nested too deeply");
    skip_space();
    if (at_ >= text_.size()) fail("unexpected end");
    JsonValue value;
    const char c = text_[at_];
    if (c == '{') {
      ++at_;
      value.type = JsonValue::Type::Object;
      if (take('}')) return value;
      do {
        skip_space();
        if (at_ >= text_.size() || text_[at_] != '"') fail("expected a member name");
        std::string name = parse_string();
        expect(':');
        JsonValue member = parse_value(depth + 1);
        if (!value.object.emplace(std::move(name), std::move(member)).second)
          fail("a member name appears twice");
      } while (take(','));
      expect('}');
    } else if (c == '[') {
      ++at_;
      value.type = JsonValue::Type::Array;
      if (take(']')) return value;
      do value.array.push_back(parse_value(depth + 1));
      while (take(','));
      expect(']');
    } else if (c == '"') {
      value.type = JsonValue::Type::String;
      value.string = parse_string();
    } else if (c == 't' || c == 'f') {
      value.type = JsonValue::Type::Bool;
      value.boolean = c == 't';
      literal(value.boolean ? "true" : "false");
    } else if (c == 'n') {
      literal("null");
    } else {
      value.type = JsonValue::Type::Number;
      value.number = parse_number();
    }
    return value;
  }

  // JSON's grammar exactly (no leading '+', no leading zeros, no bare '.'),
  // then from_chars, which does not depend on the locale.
  double parse_number() {
    const std::size_t start = at_;
    auto digits = [&] {
      const std::size_t from = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
      return at_ - from;
    };
    if (at_ < text_.size() && text_[at_] == '-') ++at_;
    if (at_ < text_.size() && text_[at_] == '0') ++at_;
    else if (digits() == 0) fail("expected a value");
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      if (digits() == 0) fail("expected digits after '.'");
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      if (digits() == 0) fail("expected an exponent");
    }
    double value = 0;
    const auto [end, error] = std::from_chars(text_.data() + start, text_.data() + at_, value);
    if (error != std::errc() || end != text_.data() + at_) fail("number out of range");
    return value;
  }

  unsigned hex4() {
    if (at_ + 4 > text_.size()) fail("short \\u escape");
    unsigned code = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = text_[at_++];
      code <<= 4;
      if (h >= '0' && h <= '9') code |= h - '0';
      else if (h >= 'a' && h <= 'f') code |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F') code |= h - 'A' + 10;
      else fail("bad \\u escape");
    }
    return code;
  }

  std::string parse_string() {
    ++at_;  // the opening quote
    std::string out;
    for (;;) {
      if (at_ >= text_.size()) fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[at_]);
      if (c == '"') {
        ++at_;
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c != '\\') {
        const std::size_t length = utf8_length(text_, at_);
        if (length == 0) fail("invalid UTF-8");
        out.append(text_, at_, length);
        at_ += length;
        continue;
      }
      if (++at_ >= text_.size()) fail("unterminated escape");
      const char e = text_[at_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t code = hex4();
          if (code >= 0xD800 && code <= 0xDBFF && at_ + 1 < text_.size() &&
              text_[at_] == '\\' && text_[at_ + 1] == 'u') {
            const std::size_t back = at_;
            at_ += 2;
            const unsigned low = hex4();
            if (low >= 0xDC00 && low <= 0xDFFF) {
              append_utf8(out, 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00));
              break;
            }
            at_ = back;  // a lone high surrogate, then another escape
          }
          if (code >= 0xDC80 && code <= 0xDCFF) out += static_cast<char>(code - 0xDC00);  // a raw byte
          else if (code >= 0xD800 && code <= 0xDFFF) fail("lone surrogate in a \\u escape");
          else append_utf8(out, code);
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  const std::string& text_;
  std::size_t at_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(const std::string& name) const {
  if (type != Type::Object) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? nullptr : &it->second;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    char escape[8];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else if (c >= 0x80) {
      const std::size_t length = utf8_length(text, i);
      if (length == 0) {
        std::snprintf(escape, sizeof escape, "\\udc%02x", c);  // surrogateescape
        out += escape;
        ++i;
      } else {
        out.append(text, i, length);
        i += length;
      }
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out + "\"";
}

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

JsonValue parse_json(const std::string& text) { return Reader(text).document(); }

}  // namespace gpen_tools

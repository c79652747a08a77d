// The little JSON that gpen-enhance's reports need, without a library: a
// writer's string escaping and number format, and a strict reader for
// --merge-reports.
//
// Paths on Linux are bytes, JSON text is UTF-8. A byte that is not part of
// valid UTF-8 is written as the lone surrogate \udcXX (XX: the byte), as
// Python's surrogateescape does: os.fsencode() of what json.load() gives
// back is the path's bytes, and this reader turns it back into the byte.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpen_tools {

// `text` as a JSON string literal, quotes included.
std::string json_string(const std::string& text);
// A finite number in the shortest form that reads back the same ("0.25",
// "3", "1e-07"); NaN and infinities, which JSON lacks, as null.
std::string json_number(double value);

// A parsed value. Objects keep one value per name (a repeated name is an
// error: which one would be meant?).
struct JsonValue {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::map<std::string, JsonValue> object;

  bool is(Type t) const { return type == t; }
  // The member `name` of an object, or null when absent (or not an object).
  const JsonValue* find(const std::string& name) const;
};

class JsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whole of `text` as one JSON value; throws JsonError, with the byte
// offset, for anything that is not (trailing garbage, bad escapes, invalid
// UTF-8, nesting deeper than 64).
JsonValue parse_json(const std::string& text);

}  // namespace gpen_tools

// Bounded JSON parsing: nlohmann's parser is iterative, and its callback sees every event, so a
// depth limit and a duplicate-key check cost one small stack of key sets.
#include "engine/io/json_reader.hpp"

#include <set>
#include <vector>

#include "engine/error.hpp"

namespace heed {

std::string printable(std::string_view text, size_t limit) {
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += c < 0x20 || c == 0x7F ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  }
  out += text.size() > limit ? fmt::format("...' ({} bytes)", text.size()) : "'";
  return out;
}

std::string describe_json(const nlohmann::json& value) {
  if (value.is_string()) return printable(value.get_ref<const std::string&>());
  if (value.is_number_integer() || value.is_number_unsigned() || value.is_boolean())
    return value.dump();
  if (value.is_number_float()) return fmt::format("{} (not a whole number)", value.dump());
  return fmt::format("a JSON {}", value.type_name());
}

nlohmann::json parse_untrusted_json(std::string_view text, const std::string& where) {
  using Json = nlohmann::json;
  std::vector<std::set<std::string>> keys_of_open_objects;
  auto check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (depth > kMaxJsonDepth) fail("{} nests deeper than {} levels", where, kMaxJsonDepth);
    if (event == Json::parse_event_t::object_start) keys_of_open_objects.emplace_back();
    if (event == Json::parse_event_t::object_end && !keys_of_open_objects.empty()) {
      keys_of_open_objects.pop_back();
    }
    if (event == Json::parse_event_t::key && !keys_of_open_objects.empty()) {
      const std::string& key = parsed.get_ref<const std::string&>();
      if (!keys_of_open_objects.back().insert(key).second) {
        fail("{} has the key {} twice", where, printable(key));
      }
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), check);
  } catch (const Json::parse_error& e) {
    // nlohmann's own message quotes the input; the byte offset says where without doing so.
    fail("{} is not valid JSON (a syntax error at byte {} of {})", where, e.byte, text.size());
  } catch (const Json::exception& e) {
    fail("{} is not valid JSON (error {})", where, e.id);
  }
}

namespace {

const nlohmann::json& field(const nlohmann::json& object, const std::string& key,
                            const std::string& where) {
  if (!object.is_object()) fail("{} is {}, expected a JSON object", where, describe_json(object));
  const auto found = object.find(key);
  if (found == object.end()) fail("{} has no '{}'", where, key);
  return *found;
}

}  // namespace

int64_t json_integer(const nlohmann::json& object, const std::string& key,
                     const std::string& where) {
  const nlohmann::json& value = field(object, key, where);
  if (value.is_number_integer() && !value.is_number_unsigned()) return value.get<int64_t>();
  if (value.is_number_unsigned() && value.get<uint64_t>() <= uint64_t(INT64_MAX)) {
    return value.get<int64_t>();
  }
  fail("{}: '{}' must be a whole number, got {}", where, key, describe_json(value));
}

double json_number(const nlohmann::json& object, const std::string& key, const std::string& where) {
  const nlohmann::json& value = field(object, key, where);
  if (!value.is_number())
    fail("{}: '{}' must be a number, got {}", where, key, describe_json(value));
  return value.get<double>();
}

bool json_bool(const nlohmann::json& object, const std::string& key, const std::string& where) {
  const nlohmann::json& value = field(object, key, where);
  if (!value.is_boolean())
    fail("{}: '{}' must be true or false, got {}", where, key, describe_json(value));
  return value.get<bool>();
}

std::string json_string(const nlohmann::json& object, const std::string& key,
                        const std::string& where) {
  const nlohmann::json& value = field(object, key, where);
  if (!value.is_string())
    fail("{}: '{}' must be a string, got {}", where, key, describe_json(value));
  return value.get<std::string>();
}

}  // namespace heed

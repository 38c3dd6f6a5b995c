// JSON from files heed did not write (safetensors headers, checkpoint metadata, configs),
// parsed with the limits of the safetensors reference implementation: nesting at most 128 deep
// and no key twice in one object (nlohmann::json alone would keep the last silently). A parse
// error quotes a bounded part of the input.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace heed {

inline constexpr int kMaxJsonDepth = 128;

// `where` names the input in errors ("the header of model.safetensors").
nlohmann::json parse_untrusted_json(std::string_view text, const std::string& where);

// Text from a file, made safe to print: at most `limit` characters, control bytes escaped, and
// the full length said when it was cut.
std::string printable(std::string_view text, size_t limit = 48);

// A JSON value described without serialising it (dump() of a hostile value could be huge):
// strings quoted briefly, numbers and booleans printed, anything else named by its type.
std::string describe_json(const nlohmann::json& value);

// The field `key` of a JSON object, of exactly one type (no silent conversion of 3.5 to 3, or of
// 1e300 to an integer); a missing field or another type is an error naming `where` and the key.
int64_t json_integer(const nlohmann::json& object, const std::string& key,
                     const std::string& where);
double json_number(const nlohmann::json& object, const std::string& key, const std::string& where);
bool json_bool(const nlohmann::json& object, const std::string& key, const std::string& where);
std::string json_string(const nlohmann::json& object, const std::string& key,
                        const std::string& where);

}  // namespace heed

// Builds one flat JSON object into a string, in key order of the calls.
// Hand-rolled because it runs per event on the hot path; values are escaped
// through append_json_string_body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tcpscope {

class JsonObject {
  public:
    JsonObject() {
        out_.reserve(320);
        out_ += '{';  // not `= "{"`: g++ 12 -Wrestrict misfires on that when inlined
    }

    JsonObject& field(std::string_view key, std::string_view value);
    JsonObject& field(std::string_view key, const char* value) {
        return field(key, std::string_view(value));
    }
    JsonObject& field(std::string_view key, std::int64_t value);
    JsonObject& field(std::string_view key, std::uint64_t value);
    JsonObject& field(std::string_view key, int value) {
        return field(key, static_cast<std::int64_t>(value));
    }
    JsonObject& field(std::string_view key, unsigned value) {
        return field(key, static_cast<std::uint64_t>(value));
    }
    JsonObject& field(std::string_view key, double value);
    JsonObject& field(std::string_view key, bool value);
    JsonObject& null_field(std::string_view key);
    // Inserts an already-serialised JSON value (array or object).
    JsonObject& raw_field(std::string_view key, std::string_view json);

    // A string value written by append(std::string&) straight into the
    // object; for values that never need escaping (timestamps, addresses).
    template <typename Append>
    JsonObject& plain_string_field(std::string_view k, Append&& append) {
        key(k);
        out_ += '"';
        append(out_);
        out_ += '"';
        return *this;
    }

    template <typename T>
    JsonObject& optional_field(std::string_view key, const std::optional<T>& value) {
        return value ? field(key, *value) : null_field(key);
    }

    // Closes the object; the writer must not be used afterwards.
    std::string finish();

  private:
    void key(std::string_view k);

    std::string out_;
    bool first_ = true;
};

// Joins serialised JSON values (to_json(item) each) into an array.
template <typename Items, typename Fn>
std::string json_array(const Items& items, Fn to_json) {
    std::string out = "[";
    for (const auto& item : items) {
        if (out.size() > 1) {
            out += ',';
        }
        out += to_json(item);
    }
    out += ']';
    return out;
}

}  // namespace tcpscope

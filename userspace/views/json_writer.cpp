#include "views/json_writer.h"

#include <cmath>

#include <fmt/format.h>

#include "core/text_append.h"
#include "views/escape.h"

namespace tcpscope {

void JsonObject::key(std::string_view k) {
    if (!first_) {
        out_ += ',';
    }
    first_ = false;
    out_ += '"';
    out_ += k;  // keys are our own identifiers: nothing to escape
    out_ += "\":";
}

JsonObject& JsonObject::field(std::string_view k, std::string_view value) {
    key(k);
    out_ += '"';
    append_json_string_body(out_, value);
    out_ += '"';
    return *this;
}

JsonObject& JsonObject::field(std::string_view k, std::int64_t value) {
    key(k);
    if (value < 0) {
        out_ += '-';
        append_uint(out_, static_cast<std::uint64_t>(0) - static_cast<std::uint64_t>(value));
    } else {
        append_uint(out_, static_cast<std::uint64_t>(value));
    }
    return *this;
}

JsonObject& JsonObject::field(std::string_view k, std::uint64_t value) {
    key(k);
    append_uint(out_, value);
    return *this;
}

JsonObject& JsonObject::field(std::string_view k, double value) {
    key(k);
    if (std::isfinite(value)) {
        fmt::format_to(std::back_inserter(out_), "{}", value);
    } else {
        out_ += "null";  // JSON has no NaN or infinity
    }
    return *this;
}

JsonObject& JsonObject::field(std::string_view k, bool value) {
    key(k);
    out_ += value ? "true" : "false";
    return *this;
}

JsonObject& JsonObject::null_field(std::string_view k) {
    key(k);
    out_ += "null";
    return *this;
}

JsonObject& JsonObject::raw_field(std::string_view k, std::string_view json) {
    key(k);
    out_ += json;
    return *this;
}

std::string JsonObject::finish() {
    out_ += '}';
    return std::move(out_);
}

}  // namespace tcpscope

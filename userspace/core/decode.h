// Raw ring-buffer record -> Transition. Pure, so it is unit tested and fuzzed.
#pragma once

#include <cstddef>
#include <optional>

#include "core/transition.h"

namespace tcpscope {

// Empty when the record is too short or carries a state number or family the
// kernel never sends; the caller counts those as malformed.
std::optional<Transition> decode_event(const void* data, std::size_t size);

}  // namespace tcpscope

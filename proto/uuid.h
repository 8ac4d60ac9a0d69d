// Formatting of random (version 4) UUIDs, shared by the server (run ids), the SDK (request ids,
// workflow ctx.uuid()) and history (derived run ids). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace cairn {

// The canonical 36-character form ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx") of the 128 bits
// hi:lo, with the version (4) and variant (RFC 4122) bits forced. The same hi and lo always give
// the same string: workflow replay relies on it (ctx.uuid() is seeded).
std::string format_uuid_v4(uint64_t hi, uint64_t lo);

}  // namespace cairn

// CRC-32C (Castagnoli), the checksum heed writes over a checkpoint's tensor bytes so that a
// flipped bit on disk is an error on load instead of silently different weights.
#pragma once

#include <cstddef>
#include <cstdint>

namespace heed {

// Extends `crc` (0 to start) over `size` bytes; chaining calls equals one call over the whole.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace heed

// CRC-32C with the reflected polynomial 0x82F63B78, eight bytes a step ("slicing by 8"): table
// k holds the CRC of a byte followed by k zero bytes, so eight table lookups replace eight
// dependent byte steps. crc32c("123456789") = 0xE3069283, the standard check value.
#include "engine/io/crc32c.hpp"

#include <array>
#include <cstring>

namespace heed {

namespace {

using Tables = std::array<std::array<uint32_t, 256>, 8>;

Tables make_tables() {
  Tables t{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    t[0][byte] = crc;
  }
  for (uint32_t byte = 0; byte < 256; ++byte) {
    for (size_t k = 1; k < 8; ++k) t[k][byte] = (t[k - 1][byte] >> 8) ^ t[0][t[k - 1][byte] & 0xFF];
  }
  return t;
}

const Tables& tables() {
  static const Tables instance = make_tables();
  return instance;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  const Tables& t = tables();
  const auto* bytes = static_cast<const unsigned char*>(data);
  crc = ~crc;
  while (size >= 8) {
    uint64_t word = 0;
    std::memcpy(&word, bytes, 8);  // little-endian, as every host heed runs on
    word ^= crc;
    crc = t[7][word & 0xFF] ^ t[6][(word >> 8) & 0xFF] ^ t[5][(word >> 16) & 0xFF] ^
          t[4][(word >> 24) & 0xFF] ^ t[3][(word >> 32) & 0xFF] ^ t[2][(word >> 40) & 0xFF] ^
          t[1][(word >> 48) & 0xFF] ^ t[0][word >> 56];
    bytes += 8, size -= 8;
  }
  while (size-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *bytes++) & 0xFF];
  return ~crc;
}

}  // namespace heed

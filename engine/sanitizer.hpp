// Whether this build runs under AddressSanitizer. GCC says so with __SANITIZE_ADDRESS__; clang
// (before version 17) only through __has_feature(address_sanitizer).
#pragma once

namespace heed {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace heed

// CPU gathers and scatter-adds along one dim of a contiguous (outer, n, inner) view.
// index_select/index_add use one index per slice (embedding lookup and its backward);
// gather/scatter_add use one index per element. Index values were range-checked by the op.
#include <cstring>

#include "engine/cpu/kernels.hpp"
#include "engine/cpu/strided.hpp"

namespace heed::cpu {

namespace {

// (outer, n, inner) sizes of a contiguous view split around `dim`, where the op passes 3-D views.
struct Split {
  int64_t outer, n, inner;
};
Split split3(const heed_view* v) {
  return {v->shape[0], v->shape[1], v->shape[2]};
}

}  // namespace

int index_select(const heed_view* x, const heed_view* index, const heed_view* out) {
  const Split s = split3(x);
  const int64_t m = index->shape[0];
  const auto* idx = typed<int64_t>(index);
  const size_t bytes = static_cast<size_t>(s.inner) * dtype_bytes(x->dtype);
  const auto* src = static_cast<const char*>(x->data);
  auto* dst = static_cast<char*>(out->data);
  parallel_range(s.outer * m, std::max<int64_t>(1, 16384 / std::max<int64_t>(s.inner, 1)),
                 [&](int64_t begin, int64_t end) {
                   for (int64_t t = begin; t < end; ++t) {
                     const int64_t o = t / m, i = t % m;
                     std::memcpy(dst + static_cast<size_t>(t) * bytes,
                                 src + static_cast<size_t>(o * s.n + idx[i]) * bytes, bytes);
                   }
                 });
  return 0;
}

int index_add(const heed_view* src, const heed_view* index, const heed_view* out) {
  const Split s = split3(out);
  const int64_t m = index->shape[0];
  const auto* idx = typed<int64_t>(index);
  visit_floating(out->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = typed<T>(src);
    T* acc = typed<T>(out);
    // Rows may repeat in index, so threads split the outer dim and the inner columns, never m.
    parallel_range(s.outer, 1, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        for (int64_t i = 0; i < m; ++i) {
          T* row = acc + (o * s.n + idx[i]) * s.inner;
          const T* add = in + (o * m + i) * s.inner;
          for (int64_t j = 0; j < s.inner; ++j) row[j] += add[j];
        }
      }
    });
  });
  return 0;
}

int gather(const heed_view* x, const heed_view* index, const heed_view* out) {
  const Split s = split3(x);
  const int64_t m = index->shape[1];
  const auto* idx = typed<int64_t>(index);
  visit_any(x->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = typed<T>(x);
    T* result = typed<T>(out);
    parallel_range(s.outer * m * s.inner, 32768, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const int64_t o = t / (m * s.inner), j = t % s.inner;
        result[t] = in[(o * s.n + idx[t]) * s.inner + j];
      }
    });
  });
  return 0;
}

int scatter_add(const heed_view* src, const heed_view* index, const heed_view* out) {
  const Split s = split3(out);
  const int64_t m = index->shape[1];
  const auto* idx = typed<int64_t>(index);
  visit_floating(out->dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = typed<T>(src);
    T* acc = typed<T>(out);
    parallel_range(s.outer, 1, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < s.inner; ++j) {
            const int64_t t = (o * m + i) * s.inner + j;
            acc[(o * s.n + idx[t]) * s.inner + j] += in[t];
          }
        }
      }
    });
  });
  return 0;
}

}  // namespace heed::cpu

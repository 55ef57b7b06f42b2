#include "core/eval/fused_ranking.h"

#include "core/errors.h"
#include "core/model/cpu_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rr {
namespace {

typedef float Vec4 __attribute__((vector_size(16)));
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec16 __attribute__((vector_size(64)));

constexpr int kTileUsers = 6;    // users whose scores sit in registers together
constexpr int kPanelVectors = 2;  // vectors of items per panel: 12 accumulators
constexpr int64_t kChunkBytes = 256 * 1024;  // packed items per pass over the users (in L2)

/// Scores of a tile's kTileUsers users ([R, d], row-major) against one panel of P = 2·L items
/// ([d, P]: each dimension's P values side by side), into out[r][v]. Every score is the same
/// chain of multiply-adds over k = 0..d-1, whichever user row and item lane it sits in: the
/// targets' scores (kernel run on a panel of targets) and the masked items' reproduce the scores
/// of the main pass bit for bit.
template <typename Vec>
__attribute__((always_inline)) inline void tileScoresBody(const float* users, const float* panel, int64_t d,
                                                          Vec (*out)[kPanelVectors]) {
  constexpr int L = sizeof(Vec) / sizeof(float);
  constexpr int P = L * kPanelVectors;
  typedef float Unaligned __attribute__((vector_size(sizeof(Vec)), aligned(4)));
  Vec acc[kTileUsers][kPanelVectors] = {};
  for (int64_t k = 0; k < d; ++k) {
    const float* pk = panel + k * P;
    const Vec e0 = *reinterpret_cast<const Unaligned*>(pk);
    const Vec e1 = *reinterpret_cast<const Unaligned*>(pk + L);
#pragma GCC unroll 6
    for (int r = 0; r < kTileUsers; ++r) {
      const float u = users[r * d + k];
      acc[r][0] += u * e0;
      acc[r][1] += u * e1;
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < kTileUsers; ++r) {
    out[r][0] = acc[r][0];
    out[r][1] = acc[r][1];
  }
}

// One out-of-line kernel per target (no fast-math: the sums keep their order). Both the main
// pass and the targets' pass call the same function, so contraction into FMAs is the same too.
#if RR_CPU_FMV
__attribute__((target("avx512f"), noinline, optimize("O3", "fp-contract=fast"))) void tileScores16(
    const float* users, const float* panel, int64_t d, Vec16 (*out)[kPanelVectors]) {
  tileScoresBody<Vec16>(users, panel, d, out);
}
__attribute__((target("avx2,fma"), noinline, optimize("O3", "fp-contract=fast"))) void tileScores8(
    const float* users, const float* panel, int64_t d, Vec8 (*out)[kPanelVectors]) {
  tileScoresBody<Vec8>(users, panel, d, out);
}
#endif
__attribute__((noinline, optimize("O3", "fp-contract=fast"))) void tileScores4(const float* users, const float* panel,
                                                                               int64_t d, Vec4 (*out)[kPanelVectors]) {
  tileScoresBody<Vec4>(users, panel, d, out);
}

/// The inputs, as plain arrays. Items are 1..N (row 0 of the table is padding, never ranked).
struct RankProblem {
  const float* reps;    // [B, d]
  const float* table;   // [N+1, d]
  const float* packed;  // packPanels(table) for this width
  const int64_t* target;
  int64_t B, N, d;
  const std::vector<std::vector<int64_t>>* masked;  // per row: distinct items ≠ target, in 1..N
  int64_t* ranks;                                   // [B]
};

/// Items 1..N of table [N+1, d] in panels of P: panel q holds items 1 + qP .. (q+1)P as [d, P]
/// (each dimension's P values side by side), the last one padded with zeros.
std::vector<float> packPanels(const float* table, int64_t N, int64_t d, int64_t P) {
  const int64_t panels = (N + P - 1) / P;
  std::vector<float> packed(static_cast<size_t>(panels * d * P), 0.0f);
  for (int64_t item = 1; item <= N; ++item) {
    const int64_t q = (item - 1) / P, j = (item - 1) % P;
    const float* e = table + item * d;
    float* dst = packed.data() + q * d * P + j;
    for (int64_t k = 0; k < d; ++k) dst[k * P] = e[k];
  }
  return packed;
}

/// Items per panel for each build: two vectors of 16, 8 or 4 floats.
int64_t panelWidth(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512:
      return 2 * 16;
    case CpuIsa::Avx2:
      return 2 * 8;
    default:
      return 2 * 4;
  }
}

template <typename Vec>
__attribute__((always_inline)) inline float lane(const Vec (*tile)[kPanelVectors], int r, int j) {
  constexpr int L = sizeof(Vec) / sizeof(float);
  return tile[r][j / L][j % L];
}

/// The whole computation for one vector width; Scores is that width's kernel. Returns false
/// when a target score is not finite.
template <typename Vec, void (*Scores)(const float*, const float*, int64_t, Vec (*)[kPanelVectors])>
__attribute__((always_inline)) inline bool rankWith(const RankProblem& p) {
  constexpr int L = sizeof(Vec) / sizeof(float);
  constexpr int P = L * kPanelVectors;
  using IVec = decltype(Vec{} >= Vec{});  // the lanes of a comparison: 0 or -1
  const int64_t d = p.d, panels = (p.N + P - 1) / P, tiles = (p.B + kTileUsers - 1) / kTileUsers;

  // Users in tiles of kTileUsers rows, the last one padded with zeros.
  std::vector<float> users(static_cast<size_t>(tiles * kTileUsers * d), 0.0f);
  std::copy(p.reps, p.reps + p.B * d, users.begin());

  // Each user's target score, from a panel of its tile's targets (lane r for row r).
  Vec tile[kTileUsers][kPanelVectors];
  std::vector<float> targetScore(static_cast<size_t>(tiles * kTileUsers), 0.0f);
  std::vector<float> panel(static_cast<size_t>(d * P), 0.0f);
  static_assert(kTileUsers <= P, "a tile's targets fit one panel");
  for (int64_t t = 0; t < tiles; ++t) {
    std::fill(panel.begin(), panel.end(), 0.0f);
    for (int r = 0; r < kTileUsers && t * kTileUsers + r < p.B; ++r) {
      const float* e = p.table + p.target[t * kTileUsers + r] * d;
      for (int64_t k = 0; k < d; ++k) panel[static_cast<size_t>(k * P + r)] = e[k];
    }
    Scores(users.data() + t * kTileUsers * d, panel.data(), d, tile);
    for (int r = 0; r < kTileUsers; ++r) targetScore[static_cast<size_t>(t * kTileUsers + r)] = lane<Vec>(tile, r, r);
  }
  for (int64_t b = 0; b < p.B; ++b)
    if (!std::isfinite(targetScore[static_cast<size_t>(b)])) return false;

  // Items scoring at least the target, a chunk of panels at a time so that the chunk stays in
  // cache while every tile of users passes over it.
  std::vector<int64_t> count(static_cast<size_t>(tiles * kTileUsers), 0);
  const int64_t chunk = std::max<int64_t>(1, kChunkBytes / (d * P * static_cast<int64_t>(sizeof(float))));
  const int64_t fullPanels = p.N / P;  // the last panel may be partly padding
  for (int64_t c0 = 0; c0 < panels; c0 += chunk) {
    const int64_t c1 = std::min(panels, c0 + chunk);
    for (int64_t t = 0; t < tiles; ++t) {
      const float* u = users.data() + t * kTileUsers * d;
      const float* ts = targetScore.data() + t * kTileUsers;
      IVec hits[kTileUsers] = {};
      for (int64_t q = c0; q < c1; ++q) {
        Scores(u, p.packed + q * d * P, d, tile);
        if (q < fullPanels) {
#pragma GCC unroll 6
          for (int r = 0; r < kTileUsers; ++r) hits[r] -= (tile[r][0] >= ts[r]) + (tile[r][1] >= ts[r]);
        } else {
          const int valid = static_cast<int>(p.N - q * P);
          for (int r = 0; r < kTileUsers; ++r)
            for (int j = 0; j < valid; ++j) count[static_cast<size_t>(t * kTileUsers + r)] += lane<Vec>(tile, r, j) >= ts[r];
        }
      }
      for (int r = 0; r < kTileUsers; ++r)
        for (int j = 0; j < L; ++j) count[static_cast<size_t>(t * kTileUsers + r)] += hits[r][j];
    }
  }

  // Masked items that were counted are taken off again (their scores from the same kernel).
  std::vector<float> one(static_cast<size_t>(kTileUsers * d), 0.0f);
  for (int64_t b = 0; b < p.B; ++b) {
    const auto& items = (*p.masked)[static_cast<size_t>(b)];
    if (items.empty()) continue;
    std::copy(p.reps + b * d, p.reps + (b + 1) * d, one.begin());
    for (size_t i0 = 0; i0 < items.size(); i0 += P) {
      const int n = static_cast<int>(std::min<size_t>(P, items.size() - i0));
      std::fill(panel.begin(), panel.end(), 0.0f);
      for (int j = 0; j < n; ++j) {
        const float* e = p.table + items[i0 + static_cast<size_t>(j)] * d;
        for (int64_t k = 0; k < d; ++k) panel[static_cast<size_t>(k * P + j)] = e[k];
      }
      Scores(one.data(), panel.data(), d, tile);
      for (int j = 0; j < n; ++j) count[static_cast<size_t>(b)] -= lane<Vec>(tile, 0, j) >= targetScore[static_cast<size_t>(b)];
    }
  }
  for (int64_t b = 0; b < p.B; ++b) p.ranks[b] = count[static_cast<size_t>(b)] - 1;  // the target itself
  return true;
}

#if RR_CPU_FMV
__attribute__((target("avx512f"), optimize("O3"))) bool rank16(const RankProblem& p) {
  return rankWith<Vec16, tileScores16>(p);
}
__attribute__((target("avx2,fma"), optimize("O3"))) bool rank8(const RankProblem& p) {
  return rankWith<Vec8, tileScores8>(p);
}
#endif
__attribute__((optimize("O3"))) bool rank4(const RankProblem& p) { return rankWith<Vec4, tileScores4>(p); }

}  // namespace

bool fusedRankingApplies(const torch::Tensor& table) {
  return table.device().is_cpu() && table.scalar_type() == torch::kFloat && table.dim() == 2;
}

RankingTable::RankingTable(const torch::Tensor& table, CpuIsa isa) : table_(table.contiguous()), isa_(isa) {
  TORCH_CHECK(fusedRankingApplies(table_), "RankingTable: a CPU float32 [N+1, d] table expected");
  isa_ = resolvedCpuIsa(isa_);
  TORCH_CHECK(cpuIsaSupported(isa_), "RankingTable: this CPU lacks the requested instruction set");
  packed_ = packPanels(table_.data_ptr<float>(), table_.size(0) - 1, table_.size(1), panelWidth(isa_));
}

torch::Tensor RankingTable::ranks(const torch::Tensor& reps, const torch::Tensor& target, const torch::Tensor& maskRows,
                                  const torch::Tensor& maskItems) const {
  TORCH_CHECK(reps.device().is_cpu() && reps.scalar_type() == torch::kFloat && reps.dim() == 2 &&
                  reps.size(1) == table_.size(1),
              "RankingTable::ranks: CPU float32 [B, d] representations expected");
  const auto r = reps.contiguous();
  const auto t = target.to(torch::kLong).contiguous();
  const int64_t B = r.size(0), N = table_.size(0) - 1;
  const int64_t* tp = t.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b)
    if (tp[b] < 1 || tp[b] > N)
      throw RunError(QStringLiteral("evaluation target %1 is not an item (1..%2)").arg(tp[b]).arg(N));

  std::vector<std::vector<int64_t>> masked(static_cast<size_t>(B));
  if (maskRows.defined() && maskRows.numel() > 0) {
    const auto mr = maskRows.to(torch::kLong).contiguous();
    const auto mi = maskItems.to(torch::kLong).contiguous();
    const int64_t* rp = mr.data_ptr<int64_t>();
    const int64_t* ip = mi.data_ptr<int64_t>();
    for (int64_t i = 0; i < mr.numel(); ++i)
      if (rp[i] >= 0 && rp[i] < B && ip[i] >= 1 && ip[i] <= N && ip[i] != tp[rp[i]])
        masked[static_cast<size_t>(rp[i])].push_back(ip[i]);
    for (auto& m : masked) {
      std::sort(m.begin(), m.end());
      m.erase(std::unique(m.begin(), m.end()), m.end());
    }
  }

  auto out = torch::empty({B}, torch::kLong);
  const RankProblem p{r.data_ptr<float>(), table_.data_ptr<float>(), packed_.data(), tp, B, N, r.size(1),
                      &masked, out.data_ptr<int64_t>()};
  bool finite = false;
  switch (isa_) {
#if RR_CPU_FMV
    case CpuIsa::Avx512:
      finite = rank16(p);
      break;
    case CpuIsa::Avx2:
      finite = rank8(p);
      break;
#endif
    default:
      finite = rank4(p);
  }
  if (!finite) throw RunError(QStringLiteral("the model produced non-finite scores (diverged?)"));
  return out;
}

torch::Tensor fusedTargetRanks(const torch::Tensor& reps, const torch::Tensor& table, const torch::Tensor& target,
                               const torch::Tensor& maskRows, const torch::Tensor& maskItems, CpuIsa isa) {
  return RankingTable(table, isa).ranks(reps, target, maskRows, maskItems);
}

}  // namespace rr

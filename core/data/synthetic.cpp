// Seeded synthetic interaction logs with planted sequential structure (SPEC §1).
//
// Reproducibility: the only randomness is SplitMix64 below, and every draw is turned into a
// choice with integer arithmetic or a comparison of a 53-bit uniform against a threshold, so
// the same options give the same log on every platform and compiler (no std::*_distribution,
// whose algorithms differ between standard libraries). The one libm call is std::pow for the
// Zipf weights; a last-ulp difference there could only flip a draw landing within 2^-52 of a
// bin boundary, which the golden-fingerprint test would reveal.
#include "core/data/synthetic.h"

#include "core/errors.h"

#include <QLocale>
#include <QStringList>

#include <algorithm>
#include <cmath>
#include <vector>

namespace rr {

namespace {

/// Timestamps start here (2020-09-13, as Unix seconds) so they look like real data.
constexpr double kBaseTime = 1.6e9;
/// Users start uniformly within one year, so their activity interleaves in global time.
constexpr uint64_t kStartHorizonSeconds = 365ull * 24 * 3600;
/// Gaps between a user's consecutive interactions are uniform in [1, 2 days].
constexpr uint64_t kMaxGapSeconds = 2ull * 24 * 3600;
/// Generous upper bounds that keep a typo from allocating the machine away.
constexpr int kMaxUsers = 50'000'000;
constexpr int kMaxItems = 50'000'000;
/// pattern=chain: the query tail (2 + 2 + 3 tokens) and the shortest sequence (4 pairs + tail).
constexpr int kChainTail = 7;
constexpr int kChainMinLength = 2 * 4 + kChainTail;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, statistically solid for this purpose, and
/// fully specified by the integer operations below.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  /// Uniform integer in [0, n), n >= 1, without modulo bias (rejection sampling).
  uint64_t below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const uint64_t x = next();
      if (x >= threshold) return x % n;
    }
  }

 private:
  uint64_t state_;
};

/// Cumulative Zipf weights 1/(rank+1)^s over ranks 0..n-1, normalised to end at 1.
std::vector<double> zipfCdf(size_t n, double s) {
  std::vector<double> cdf(n);
  double total = 0;
  for (size_t r = 0; r < n; ++r) {
    total += 1.0 / std::pow(static_cast<double>(r + 1), s);
    cdf[r] = total;
  }
  for (double& c : cdf) c /= total;
  return cdf;
}

/// Rank drawn from a CDF by inversion (binary search of a 53-bit uniform).
size_t drawRank(const std::vector<double>& cdf, SplitMix64& rng) {
  const double u = rng.uniform();
  const size_t r = static_cast<size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  return std::min(r, cdf.size() - 1);
}

QString number(double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); }

[[noreturn]] void bad(const QString& what) {
  throw ConfigError(QStringLiteral("data"), QStringLiteral("synthetic spec: ") + what);
}

void checkOptions(const SyntheticOptions& o) {
  if (o.users < 1 || o.users > kMaxUsers)
    bad(QStringLiteral("users must be in 1..%1, got %2").arg(kMaxUsers).arg(o.users));
  if (o.items < 2 || o.items > kMaxItems)
    bad(QStringLiteral("items must be in 2..%1, got %2").arg(kMaxItems).arg(o.items));
  if (o.clusters < 1 || o.clusters > o.items)
    bad(QStringLiteral("clusters must be in 1..items (%1), got %2").arg(o.items).arg(o.clusters));
  if (o.minLength < 1) bad(QStringLiteral("min_length must be >= 1, got %1").arg(o.minLength));
  if (o.maxLength < o.minLength)
    bad(QStringLiteral("max_length (%1) must be >= min_length (%2)").arg(o.maxLength).arg(o.minLength));
  if (!std::isfinite(o.meanLength) || o.meanLength < o.minLength || o.meanLength > o.maxLength)
    bad(QStringLiteral("length must be between min_length (%1) and max_length (%2), got %3")
            .arg(o.minLength)
            .arg(o.maxLength)
            .arg(number(o.meanLength)));
  if (!(o.markov >= 0 && o.markov <= 1))
    bad(QStringLiteral("markov must be a probability in [0, 1], got %1").arg(number(o.markov)));
  if (!(o.cluster >= 0 && o.cluster <= 1))
    bad(QStringLiteral("cluster must be a probability in [0, 1], got %1").arg(number(o.cluster)));
  if (o.markov + o.cluster > 1 + 1e-12)
    bad(QStringLiteral("markov + cluster must be <= 1, got %1").arg(number(o.markov + o.cluster)));
  if (!(o.zipf >= 0) || !std::isfinite(o.zipf))
    bad(QStringLiteral("zipf must be >= 0, got %1").arg(number(o.zipf)));
  if (o.pattern != QLatin1String("markov") && o.pattern != QLatin1String("copy") &&
      o.pattern != QLatin1String("chain"))
    bad(QStringLiteral("unknown pattern '%1' (expected markov, copy or chain)").arg(o.pattern));
  if (o.pattern == QLatin1String("chain") && o.minLength < kChainMinLength)
    bad(QStringLiteral("pattern chain needs min_length >= %1, got %2").arg(kChainMinLength).arg(o.minLength));
  if (o.pattern == QLatin1String("chain") && o.items < o.maxLength)
    bad(QStringLiteral("pattern chain needs items (%1) >= max_length (%2): each chain has distinct items")
            .arg(o.items)
            .arg(o.maxLength));
  if (o.pattern == QLatin1String("copy") && o.minLength < 4)
    bad(QStringLiteral("pattern copy needs min_length >= 4, got %1").arg(o.minLength));
  if (o.pattern == QLatin1String("copy") && o.items < o.maxLength)
    bad(QStringLiteral("pattern copy needs items (%1) >= max_length (%2): the first half has distinct items")
            .arg(o.items)
            .arg(o.maxLength));
}

}  // namespace

QString SyntheticOptions::toSpec() const {
  // Every key, in a fixed order: a stored spec keeps meaning the same data if defaults change.
  return QStringLiteral("synthetic:users=%1,items=%2,clusters=%3,length=%4,min_length=%5,"
                        "max_length=%6,markov=%7,cluster=%8,zipf=%9,pattern=%10,seed=%11")
      .arg(users)
      .arg(items)
      .arg(clusters)
      .arg(number(meanLength))
      .arg(minLength)
      .arg(maxLength)
      .arg(number(markov), number(cluster), number(zipf), pattern)
      .arg(seed);
}

bool isSyntheticSpec(const QString& data) {
  return data == QLatin1String("synthetic") || data.startsWith(QLatin1String("synthetic:"));
}

SyntheticOptions parseSyntheticSpec(const QString& spec) {
  if (!isSyntheticSpec(spec))
    bad(QStringLiteral("'%1' does not start with 'synthetic:'").arg(spec));
  SyntheticOptions o;
  const QString body = spec.mid(spec.indexOf(QLatin1Char(':')) + 1);
  if (spec == QLatin1String("synthetic")) return o;
  QStringList seen;
  for (const QString& rawEntry : body.split(QLatin1Char(','))) {
    const QString entry = rawEntry.trimmed();
    if (entry.isEmpty()) continue;
    const int eq = entry.indexOf(QLatin1Char('='));
    if (eq <= 0) bad(QStringLiteral("'%1' is not key=value").arg(entry));
    const QString key = entry.left(eq).trimmed();
    const QString value = entry.mid(eq + 1).trimmed();
    if (seen.contains(key)) bad(QStringLiteral("key '%1' given twice").arg(key));
    seen << key;
    bool ok = false;
    auto toInt = [&]() {
      const int v = value.toInt(&ok);
      if (!ok) bad(QStringLiteral("%1 must be a whole number, got '%2'").arg(key, value));
      return v;
    };
    auto toDouble = [&]() {
      const double v = value.toDouble(&ok);
      if (!ok || !std::isfinite(v)) bad(QStringLiteral("%1 must be a number, got '%2'").arg(key, value));
      return v;
    };
    if (key == QLatin1String("users")) o.users = toInt();
    else if (key == QLatin1String("items")) o.items = toInt();
    else if (key == QLatin1String("clusters")) o.clusters = toInt();
    else if (key == QLatin1String("length")) o.meanLength = toDouble();
    else if (key == QLatin1String("min_length")) o.minLength = toInt();
    else if (key == QLatin1String("max_length")) o.maxLength = toInt();
    else if (key == QLatin1String("markov")) o.markov = toDouble();
    else if (key == QLatin1String("cluster")) o.cluster = toDouble();
    else if (key == QLatin1String("zipf")) o.zipf = toDouble();
    else if (key == QLatin1String("pattern")) o.pattern = value;
    else if (key == QLatin1String("seed")) {
      o.seed = value.toULongLong(&ok);
      if (!ok) bad(QStringLiteral("seed must be a whole number >= 0, got '%1'").arg(value));
    } else {
      bad(QStringLiteral("unknown key '%1' (known: users, items, clusters, length, min_length, "
                         "max_length, markov, cluster, zipf, pattern, seed)")
              .arg(key));
    }
  }
  checkOptions(o);
  return o;
}

namespace {
/// `count` distinct items drawn uniformly (rejection; count <= items is checked in checkOptions).
std::vector<int> distinctItems(int count, int items, SplitMix64& rng) {
  std::vector<int> out;
  std::vector<char> used(static_cast<size_t>(items), 0);
  while (static_cast<int>(out.size()) < count) {
    const int item = static_cast<int>(rng.below(items));
    if (used[static_cast<size_t>(item)]) continue;
    used[static_cast<size_t>(item)] = 1;
    out.push_back(item);
  }
  return out;
}

/// pattern=chain: P pairs (c_j, c_{j+1}) of a chain c_0 → … → c_P of distinct items, in random
/// order, define a per-user successor f. Then come three queries: a one-hop block (c_j, f(c_j)),
/// a two-hop block (c_i, f²(c_i)) and a second two-hop block (c_i', f²(c_i'), f⁴(c_i')). So the
/// validation target is f²(q) and the test target f²(f²(q)): two lookups in a row (pointer
/// chasing). One attention layer finds the pair a token starts (with the previous-token
/// information of the layer below) and reads one hop; the second hop needs the first hop's
/// result as a new query, i.e. another pass. An odd remainder starts with one unrelated item.
std::vector<int> chainSequence(int length, int items, SplitMix64& rng) {
  const int pairs = (length - kChainTail) / 2;
  const bool filler = (length - kChainTail) % 2 == 1;
  // c_0..c_P, then (maybe) the filler: P + 1 (+ 1) distinct items
  const std::vector<int> chain = distinctItems(pairs + 1 + (filler ? 1 : 0), items, rng);
  std::vector<int> order(static_cast<size_t>(pairs));
  for (int j = 0; j < pairs; ++j) order[static_cast<size_t>(j)] = j;
  for (int j = pairs - 1; j > 0; --j) std::swap(order[static_cast<size_t>(j)], order[rng.below(j + 1)]);
  std::vector<int> seq;
  if (filler) seq.push_back(chain.back());
  for (int j : order) {
    seq.push_back(chain[static_cast<size_t>(j)]);
    seq.push_back(chain[static_cast<size_t>(j + 1)]);
  }
  const int one = static_cast<int>(rng.below(pairs));      // c_j with f(c_j) defined
  const int two = static_cast<int>(rng.below(pairs - 1));  // c_i with f²(c_i) defined
  const int four = static_cast<int>(rng.below(pairs - 3)); // c_i' with f⁴(c_i') defined
  for (int c : {one, one + 1, two, two + 2, four, four + 2, four + 4}) seq.push_back(chain[static_cast<size_t>(c)]);
  return seq;
}

/// pattern=copy: m = length/2 + 1 distinct items drawn uniformly, then a copy of them from a
/// random offset j (0 <= j <= 2m - length) up to the length. In the copy, each item is the one
/// that followed the previous item at its first occurrence: an induction step (find the
/// earlier occurrence, read its successor) that one attention layer cannot take, since the
/// period m - j differs between users and no item or position predicts the next item alone.
std::vector<int> copySequence(int length, int items, SplitMix64& rng) {
  const int m = length / 2 + 1;
  std::vector<int> seq = distinctItems(m, items, rng);
  const int j = static_cast<int>(rng.below(2 * m - length + 1));
  for (int k = 0; static_cast<int>(seq.size()) < length; ++k) seq.push_back(seq[static_cast<size_t>(j + k)]);
  return seq;
}
}  // namespace

RawLog generateSynthetic(const SyntheticOptions& o) {
  checkOptions(o);
  SplitMix64 rng(o.seed);
  const int n = o.items;

  // Global popularity: a random permutation assigns Zipf ranks to items.
  std::vector<int> byPopularity(n);
  for (int i = 0; i < n; ++i) byPopularity[i] = i;
  for (int i = n - 1; i > 0; --i) std::swap(byPopularity[i], byPopularity[rng.below(i + 1)]);
  const std::vector<double> globalCdf = zipfCdf(n, o.zipf);

  // Interest clusters: items dealt round-robin from a second shuffle; within a cluster, members
  // keep their global popularity order and are drawn Zipf-skewed too.
  std::vector<int> clusterOf(n);
  {
    std::vector<int> deal(n);
    for (int i = 0; i < n; ++i) deal[i] = i;
    for (int i = n - 1; i > 0; --i) std::swap(deal[i], deal[rng.below(i + 1)]);
    for (int j = 0; j < n; ++j) clusterOf[deal[j]] = j % o.clusters;
  }
  std::vector<std::vector<int>> members(o.clusters);
  for (int item : byPopularity) members[clusterOf[item]].push_back(item);
  std::vector<std::vector<double>> clusterCdf(o.clusters);
  for (int c = 0; c < o.clusters; ++c) clusterCdf[c] = zipfCdf(members[c].size(), o.zipf);

  // Markov successor of every item: another item, uniformly.
  std::vector<int> successor(n);
  for (int i = 0; i < n; ++i) {
    const int s = static_cast<int>(rng.below(n - 1));
    successor[i] = s >= i ? s + 1 : s;
  }

  RawLog log;
  log.path = o.toSpec();
  log.hasRatings = true;
  log.hasTimestamps = true;
  std::vector<int> itemIndex(n, -1);  // generator item -> RawLog::itemIds index
  const double stopProbability = 1.0 / (o.meanLength - o.minLength + 1.0);
  const bool copy = o.pattern == QLatin1String("copy");
  const bool chained = o.pattern == QLatin1String("chain");
  log.interactions.reserve(static_cast<size_t>(o.users * o.meanLength));
  for (int u = 0; u < o.users; ++u) {
    log.userIds.append(QStringLiteral("u%1").arg(u + 1));
    const int home = static_cast<int>(rng.below(o.clusters));
    // Length: min_length plus a geometric number of extra items (mean length - min_length),
    // drawn as Bernoulli trials so only comparisons are involved; capped at max_length.
    int length = o.minLength;
    while (length < o.maxLength && !(rng.uniform() < stopProbability)) ++length;
    double time = kBaseTime + static_cast<double>(rng.below(kStartHorizonSeconds));
    const std::vector<int> copied =
        copy ? copySequence(length, n, rng) : chained ? chainSequence(length, n, rng) : std::vector<int>();
    int prev = -1;
    for (int t = 0; t < length; ++t) {
      const double r = rng.uniform();
      int item;
      if (copy || chained) item = copied[static_cast<size_t>(t)];
      else if (prev >= 0 && r < o.markov) item = successor[prev];
      else if (prev < 0 || r < o.markov + o.cluster)
        item = members[home][drawRank(clusterCdf[home], rng)];
      else
        item = byPopularity[drawRank(globalCdf, rng)];
      if (t > 0) time += static_cast<double>(1 + rng.below(kMaxGapSeconds));
      if (itemIndex[item] < 0) {
        itemIndex[item] = static_cast<int>(log.itemIds.size());
        log.itemIds.append(QStringLiteral("i%1").arg(item + 1));
      }
      RawInteraction ri;
      ri.user = u;
      ri.item = itemIndex[item];
      ri.rating = 5;
      ri.timestamp = time;
      ri.order = static_cast<qint64>(log.interactions.size());
      log.interactions.push_back(ri);
      prev = item;
    }
  }
  log.linesRead = 0;
  return log;
}

}  // namespace rr

// Preprocessing (SPEC §1): rating threshold, per-user time order, k-core to a fixed point,
// minimum sequence length, dense deterministic id remapping.
#include "core/data/preprocess.h"

#include "core/errors.h"

#include <QJsonValue>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace rr {

namespace {

const QString kMinRatingKey = QStringLiteral("min_rating");
const QString kKcoreKey = QStringLiteral("kcore");
const QString kMinLengthKey = QStringLiteral("min_sequence_length");

int nonNegativeInt(const QJsonObject& o, const QString& key, int fallback) {
  const QJsonValue v = o.value(key);
  if (v.isUndefined() || v.isNull()) return fallback;
  const double d = v.toDouble(-1);
  if (!v.isDouble() || d < 0 || d != std::floor(d) || d > 1e9)
    throw ConfigError(QStringLiteral("data.") + key, QStringLiteral("must be a whole number >= 0"));
  return static_cast<int>(d);
}

}  // namespace

QJsonObject PreprocessOptions::toJson() const {
  QJsonObject o;
  o[kMinRatingKey] = minRating;
  o[kKcoreKey] = kcore;
  o[kMinLengthKey] = minSequenceLength;
  return o;
}

PreprocessOptions PreprocessOptions::fromJson(const QJsonObject& o) {
  PreprocessOptions p;
  const QJsonValue r = o.value(kMinRatingKey);
  if (!r.isUndefined() && !r.isNull()) {
    if (!r.isDouble() || !std::isfinite(r.toDouble()))
      throw ConfigError(QStringLiteral("data.min_rating"), QStringLiteral("must be a number"));
    p.minRating = r.toDouble();
  }
  p.kcore = nonNegativeInt(o, kKcoreKey, p.kcore);
  p.minSequenceLength = nonNegativeInt(o, kMinLengthKey, p.minSequenceLength);
  return p;
}

SequenceData preprocess(const RawLog& log, const PreprocessOptions& options) {
  const auto& in = log.interactions;
  const int numRawUsers = static_cast<int>(log.userIds.size());
  const int numRawItems = static_cast<int>(log.itemIds.size());
  const size_t m = in.size();
  if (m == 0) throw DataError(log.path, 0, QStringLiteral("the log has no interactions"));
  for (const RawInteraction& r : in) {
    if (r.user < 0 || r.user >= numRawUsers || r.item < 0 || r.item >= numRawItems)
      throw DataError(log.path, 0, QStringLiteral("interaction refers to an unknown user or item"));
  }

  // 1. Rating threshold (only meaningful when the source has ratings).
  std::vector<char> alive(m, 1);
  size_t kept = m;
  if (log.hasRatings) {
    kept = 0;
    for (size_t e = 0; e < m; ++e) {
      alive[e] = in[e].rating > options.minRating;
      kept += alive[e];
    }
    if (kept == 0)
      throw DataError(log.path, 0,
                      QStringLiteral("the rating filter (keep rating > %1, data.min_rating) removed "
                                     "all %2 interactions")
                          .arg(options.minRating)
                          .arg(m));
  }

  // 2. Group by user (counting sort keeps vector order within a user), then order each user's
  //    interactions by time; ties, and logs without timestamps, keep file order.
  std::vector<size_t> userStart(numRawUsers + 1, 0);
  for (const RawInteraction& r : in) ++userStart[r.user + 1];
  std::partial_sum(userStart.begin(), userStart.end(), userStart.begin());
  std::vector<size_t> byUser(m);
  {
    std::vector<size_t> fill(userStart.begin(), userStart.end() - 1);
    for (size_t e = 0; e < m; ++e) byUser[fill[in[e].user]++] = e;
  }
  for (int u = 0; u < numRawUsers; ++u) {
    auto b = byUser.begin() + static_cast<std::ptrdiff_t>(userStart[u]);
    auto en = byUser.begin() + static_cast<std::ptrdiff_t>(userStart[u + 1]);
    if (log.hasTimestamps) {
      std::stable_sort(b, en, [&](size_t x, size_t y) {
        if (in[x].timestamp != in[y].timestamp) return in[x].timestamp < in[y].timestamp;
        return in[x].order < in[y].order;
      });
    } else {
      std::stable_sort(b, en, [&](size_t x, size_t y) { return in[x].order < in[y].order; });
    }
  }

  // 3. k-core to a fixed point by peeling: every user or item below k is removed with its
  //    interactions, which may push its neighbours below k in turn. The result is the unique
  //    largest sub-log where every user and item has >= k interactions (repeats count).
  std::vector<int> userDeg(numRawUsers, 0), itemDeg(numRawItems, 0);
  for (size_t e = 0; e < m; ++e) {
    if (!alive[e]) continue;
    ++userDeg[in[e].user];
    ++itemDeg[in[e].item];
  }
  const int k = options.kcore;
  if (k > 0) {
    std::vector<size_t> itemStart(numRawItems + 1, 0);
    for (size_t e = 0; e < m; ++e)
      if (alive[e]) ++itemStart[in[e].item + 1];
    std::partial_sum(itemStart.begin(), itemStart.end(), itemStart.begin());
    std::vector<size_t> byItem(itemStart.back());
    {
      std::vector<size_t> fill(itemStart.begin(), itemStart.end() - 1);
      for (size_t e = 0; e < m; ++e)
        if (alive[e]) byItem[fill[in[e].item]++] = e;
    }
    // Queue entries: users as u, items as numRawUsers + i.
    std::vector<int> queue;
    std::vector<char> removed(static_cast<size_t>(numRawUsers) + numRawItems, 0);
    for (int u = 0; u < numRawUsers; ++u)
      if (userDeg[u] > 0 && userDeg[u] < k) queue.push_back(u);
    for (int i = 0; i < numRawItems; ++i)
      if (itemDeg[i] > 0 && itemDeg[i] < k) queue.push_back(numRawUsers + i);
    while (!queue.empty()) {
      const int node = queue.back();
      queue.pop_back();
      if (removed[node]) continue;
      removed[node] = 1;
      if (node < numRawUsers) {
        for (size_t p = userStart[node]; p < userStart[node + 1]; ++p) {
          const size_t e = byUser[p];
          if (!alive[e]) continue;
          alive[e] = 0;
          --userDeg[node];
          const int i = in[e].item;
          if (--itemDeg[i] == k - 1) queue.push_back(numRawUsers + i);
        }
      } else {
        const int item = node - numRawUsers;
        for (size_t p = itemStart[item]; p < itemStart[item + 1]; ++p) {
          const size_t e = byItem[p];
          if (!alive[e]) continue;
          alive[e] = 0;
          --itemDeg[item];
          const int u = in[e].user;
          if (--userDeg[u] == k - 1) queue.push_back(u);
        }
      }
    }
    if (std::find(alive.begin(), alive.end(), 1) == alive.end())
      throw DataError(log.path, 0,
                      QStringLiteral("the %1-core filter (data.kcore) removed every user and item "
                                     "(%2 interactions before it); try a smaller k")
                          .arg(k)
                          .arg(kept));
  }

  // 4. Users shorter than the minimum are dropped (after k-core, as SPEC §1 orders it).
  std::vector<int> userLen(numRawUsers, 0);
  for (size_t e = 0; e < m; ++e)
    if (alive[e]) ++userLen[in[e].user];
  for (int u = 0; u < numRawUsers; ++u) {
    if (userLen[u] > 0 && userLen[u] < options.minSequenceLength) {
      for (size_t p = userStart[u]; p < userStart[u + 1]; ++p) alive[byUser[p]] = 0;
      userLen[u] = 0;
    }
  }
  if (std::all_of(userLen.begin(), userLen.end(), [](int n) { return n == 0; }))
    throw DataError(log.path, 0,
                    QStringLiteral("no user has at least %1 interactions after the rating and "
                                   "k-core filters (data.min_sequence_length removed every user "
                                   "left)")
                        .arg(options.minSequenceLength));

  // 5. Dense remap. Users: by the file position of their earliest surviving interaction.
  //    Items: 1..N in order of first appearance walking those users' time-ordered sequences.
  std::vector<qint64> firstOrder(numRawUsers, std::numeric_limits<qint64>::max());
  for (size_t e = 0; e < m; ++e)
    if (alive[e]) firstOrder[in[e].user] = std::min(firstOrder[in[e].user], in[e].order);
  std::vector<int> users;
  for (int u = 0; u < numRawUsers; ++u)
    if (userLen[u] > 0) users.push_back(u);
  std::stable_sort(users.begin(), users.end(),
                   [&](int a, int b) { return firstOrder[a] < firstOrder[b]; });

  SequenceData out;
  std::vector<int32_t> itemMap(numRawItems, 0);
  out.itemIds.append(QString(QLatin1String("")));
  out.sequences.reserve(users.size());
  if (log.hasTimestamps) out.timestamps.reserve(users.size());
  for (int u : users) {
    out.userIds.append(log.userIds[u]);
    std::vector<int32_t> seq;
    std::vector<double> ts;
    seq.reserve(userLen[u]);
    for (size_t p = userStart[u]; p < userStart[u + 1]; ++p) {
      const size_t e = byUser[p];
      if (!alive[e]) continue;
      int32_t& dense = itemMap[in[e].item];
      if (dense == 0) {
        out.itemIds.append(log.itemIds[in[e].item]);
        dense = static_cast<int32_t>(out.itemIds.size() - 1);
      }
      seq.push_back(dense);
      if (log.hasTimestamps) ts.push_back(in[e].timestamp);
    }
    out.sequences.push_back(std::move(seq));
    if (log.hasTimestamps) out.timestamps.push_back(std::move(ts));
  }
  out.numItems = static_cast<int>(out.itemIds.size() - 1);
  if (!log.titles.isEmpty()) {
    out.itemTitles.reserve(out.itemIds.size());
    for (const QString& id : out.itemIds) out.itemTitles.append(log.titles.value(id));
  }
  return out;
}

}  // namespace rr

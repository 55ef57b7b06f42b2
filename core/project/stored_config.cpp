#include "core/project/stored_config.h"

#include "core/project/config_schema.h"

namespace rr {

const QVector<QPair<QString, QJsonValue>>& olderRunDefaults() {
  // Stop 13 (4629a01) added both RPT keys with new defaults; before, GRPO always took the k3 KL
  // of the summed log-probability and used every group-normalised advantage (SPEC §4.2).
  static const QVector<QPair<QString, QJsonValue>> keys = {
      {QStringLiteral("rpt.kl_level"), QStringLiteral("rollout")},
      {QStringLiteral("rpt.advantages"), QStringLiteral("group")},
  };
  return keys;
}

RunConfig storedRunConfig(const QJsonObject& stored) {
  RunConfig cfg = RunConfig::fromJson(stored);
  for (const auto& [key, earlier] : olderRunDefaults())
    if (jsonPathValue(stored, key).isUndefined()) cfg.set(key, earlier);
  return cfg;
}

}  // namespace rr

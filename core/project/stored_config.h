#pragma once
/// \file
/// \brief Reading a stored run's configuration back, as the run meant it.
///
/// Runs store their configuration fully resolved. A key added to the schema after a run was
/// stored is therefore missing from its JSON, and RunConfig::fromJson() would fill it with
/// today's default, so resuming, sweeping from or reporting an older run would silently change
/// what it did. storedRunConfig() fills such keys with the value the run was made under.

#include "core/project/run_config.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QPair>
#include <QString>
#include <QVector>

namespace rr {

/// Keys added while runs were already being stored whose new default differs from what the
/// code did before the key existed, with that earlier behaviour as a value.
const QVector<QPair<QString, QJsonValue>>& olderRunDefaults();

/// The configuration of a stored run: `stored` with every key of
/// olderRunDefaults() that it lacks set to its earlier value, then RunConfig::fromJson().
RunConfig storedRunConfig(const QJsonObject& stored);

}  // namespace rr

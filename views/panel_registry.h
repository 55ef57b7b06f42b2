#pragma once
/// \file
/// \brief The studio's dockable panels, registered by the parts of views that provide them and
/// created by the main window (one dock and one View-menu entry each). Thread: GUI thread only.

#include <QKeySequence>
#include <QString>
#include <QVector>
#include <functional>

class QWidget;

namespace rr::views {

class StudioContext;

/// \brief One kind of panel.
struct PanelInfo {
  QString id;            ///< stable, used for saved window state, e.g. "analysis.oracle"
  QString title;         ///< dock title, e.g. "Oracle ceiling"
  QString category;      ///< View-menu group, e.g. "Analyses"
  QKeySequence shortcut; ///< may be empty
  /// Creates the panel's widget; the context outlives it.
  std::function<QWidget*(StudioContext& context, QWidget* parent)> create;
};

/// Adds a panel kind; a second registration with the same id replaces the first.
void registerPanel(PanelInfo info);
/// Every registered panel kind, in registration order.
const QVector<PanelInfo>& registeredPanels();

}  // namespace rr::views

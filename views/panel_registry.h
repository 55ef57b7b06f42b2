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

/// \brief Implemented by a panel that has several views worth a screenshot each: --capture
/// saves view i as <panel>-<suffix>.png after the panel's default view.
class CaptureViews {
 public:
  virtual ~CaptureViews() = default;
  virtual int captureViewCount() const = 0;
  /// Shows view i (0 <= i < captureViewCount()) and returns its file-name suffix.
  virtual QString showCaptureView(int i) = 0;
  /// Returns to the view the panel showed before the captures.
  virtual void endCaptureViews() = 0;
};

/// Adds a panel kind; a second registration with the same id replaces the first.
void registerPanel(PanelInfo info);
/// Every registered panel kind, in registration order.
const QVector<PanelInfo>& registeredPanels();

}  // namespace rr::views
